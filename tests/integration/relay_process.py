"""An outbox relay in its own process, so a test can SIGKILL it at the worst moment.

With HANG_AFTER_PUBLISH set, the relay writes that file once Kafka has acknowledged
a batch and then hangs before marking the rows sent: the crash window.
"""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import Sequence
from pathlib import Path

import asyncpg

from journey_platform.kafka import start_producer
from journey_platform.relay import OutboxRelay


async def main() -> None:
    marker = os.environ.get("HANG_AFTER_PUBLISH")

    async def hang(rows: Sequence[asyncpg.Record]) -> None:
        assert marker is not None
        Path(marker).write_text(str(len(rows)))
        await asyncio.Event().wait()

    pool = await asyncpg.create_pool(os.environ["DATABASE_URL"], min_size=1, max_size=2)
    producer = await start_producer(os.environ["KAFKA_BOOTSTRAP_SERVERS"], "relay-under-test")
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    try:
        await OutboxRelay(
            pool, producer, poll_interval=0.05, after_publish=hang if marker else None
        ).run(stop)
    finally:
        await producer.stop()
        await pool.close()


if __name__ == "__main__":
    asyncio.run(main())
