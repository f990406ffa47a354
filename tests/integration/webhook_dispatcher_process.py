"""A webhook dispatcher in its own process, so a test can SIGKILL it mid-delivery.

Settings come from the environment (DATABASE_URL, WEBHOOK_*), as in a deployment.
"""

from __future__ import annotations

import asyncio
import signal

import asyncpg

from flags.webhooks import Dispatcher, WebhookSettings


async def main() -> None:
    settings = WebhookSettings()
    pool = await asyncpg.create_pool(settings.database_url, min_size=1, max_size=4)
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    try:
        await Dispatcher(pool, settings).run(stop)
    finally:
        await pool.close()


if __name__ == "__main__":
    asyncio.run(main())
