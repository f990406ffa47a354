"""Run the referral service: `python -m referral`."""

from __future__ import annotations

import uvicorn

from referral.config import ReferralSettings
from referral.main import create_app

if __name__ == "__main__":
    settings = ReferralSettings()
    uvicorn.run(
        create_app(settings),
        host=settings.http_host,
        port=settings.http_port,
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=20,
    )
