"""A partner service with a crash window in its outbox relay: `python -m
tests.faults.relay_fault_point SERVICE`, with the service's usual environment.

Once the file FAULT_ARMED names exists, the relay, after Kafka has acknowledged a batch
and before it marks the batch sent, writes FAULT_REACHED and hangs there (the hook the
relay keeps for tests, `OutboxRelay.after_publish`): the fault suite then SIGKILLs the
whole process, requests in flight included. Until armed, the service runs as ever.
"""

from __future__ import annotations

import asyncio
import os
import runpy
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import asyncpg

from journey_platform.relay import OutboxRelay


def _with_crash_window(armed: Path, reached: Path) -> None:
    async def hang_when_armed(rows: Sequence[asyncpg.Record]) -> None:
        if armed.exists():
            reached.write_text(str(len(rows)))
            await asyncio.Event().wait()

    original = OutboxRelay.__init__

    def init(self: OutboxRelay, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        self.after_publish = hang_when_armed

    OutboxRelay.__init__ = init  # type: ignore[method-assign]


if __name__ == "__main__":
    _with_crash_window(Path(os.environ["FAULT_ARMED"]), Path(os.environ["FAULT_REACHED"]))
    runpy.run_module(sys.argv[1], run_name="__main__", alter_sys=True)
