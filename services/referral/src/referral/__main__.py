"""Run the referral service: `python -m referral`."""

from __future__ import annotations

from journey_api.service import serve
from journey_platform.settings import load
from referral.config import ReferralSettings
from referral.main import create_app

if __name__ == "__main__":
    settings = load(ReferralSettings)
    serve(create_app(settings), settings)
