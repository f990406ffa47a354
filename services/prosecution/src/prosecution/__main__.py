"""Run the prosecution service: `python -m prosecution`."""

from __future__ import annotations

from journey_api.service import serve
from journey_platform.settings import load
from prosecution.config import ProsecutionSettings
from prosecution.main import create_app

if __name__ == "__main__":
    settings = load(ProsecutionSettings)
    serve(create_app(settings), settings)
