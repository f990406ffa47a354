"""`journey-analytics serve` (the API, port 8004) or `journey-analytics sink` (Kafka to
PostgreSQL). Settings come from the environment (see analytics.config)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import signal
import sys

from analytics.config import AnalyticsSettings
from journey_platform.settings import load


def _sink(settings: AnalyticsSettings) -> int:
    from analytics.adapters.sink import NAME, run_sink
    from journey_platform.logs import configure_logging
    from journey_platform.telemetry import start_telemetry

    configure_logging(f"{settings.service_name}-sink", settings.log_level)
    start_telemetry(settings, service_name=f"{settings.service_name}-sink")

    async def run() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError):
                loop.add_signal_handler(sig, stop.set)
        await run_sink(settings, stop)

    try:
        asyncio.run(run())
    except Exception:
        # Said in the log's own format, so an operator's search finds why it stopped, and
        # with a failing status, so a supervisor restarts it rather than seeing a clean end.
        logging.getLogger(NAME).critical("sink stopped", exc_info=True)
        return os.EX_SOFTWARE
    return 0


def _serve(settings: AnalyticsSettings) -> int:
    from analytics.main import create_app
    from journey_api.service import serve

    serve(create_app(settings), settings)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="journey-analytics", description=__doc__)
    parser.add_argument("command", choices=["serve", "sink"])
    args = parser.parse_args(argv)
    settings = load(AnalyticsSettings)
    return _serve(settings) if args.command == "serve" else _sink(settings)


if __name__ == "__main__":
    sys.exit(main())
