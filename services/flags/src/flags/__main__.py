"""Run the flags service: `python -m flags`."""

from __future__ import annotations

from flags.config import FlagsSettings
from flags.main import create_app
from journey_api.service import serve
from journey_platform.settings import load

if __name__ == "__main__":
    settings = load(FlagsSettings)
    serve(create_app(settings), settings)
