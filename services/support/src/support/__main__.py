"""Run the support service: `python -m support`."""

from __future__ import annotations

from journey_api.service import serve
from journey_platform.settings import load
from support.config import SupportSettings
from support.main import create_app

if __name__ == "__main__":
    settings = load(SupportSettings)
    serve(create_app(settings), settings)
