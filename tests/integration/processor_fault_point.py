"""A journey-processor worker that can be held inside a transaction: `python -m
tests.integration.processor_fault_point`, with the worker's usual environment.

Once the file FAULT_ARMED names exists, the worker's next transaction, its outputs
produced and its changelog records not yet, writes FAULT_REACHED, disarms, and waits there until the
file FAULT_RELEASE names exists (the hook the worker keeps for tests,
`Worker.in_transaction`). A test can then SIGSTOP it there (a zombie with a transaction
open, not a pause that happened to land between two) or let the transaction outlive its
timeout. Until armed, the worker runs as ever.
"""

from __future__ import annotations

import os
import runpy
import time
from pathlib import Path
from typing import Any

from journey_processor.engines.kafka.worker import Worker


def _with_hold(armed: Path, reached: Path, release: Path) -> None:
    def hold_when_armed() -> None:
        if not armed.exists():
            return
        armed.unlink()
        reached.write_text("held")
        while not release.exists():  # the fault itself: the worker is stuck here
            time.sleep(0.05)

    original = Worker.__init__

    def init(self: Worker, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        self.in_transaction = hold_when_armed

    Worker.__init__ = init  # type: ignore[method-assign]


if __name__ == "__main__":
    _with_hold(
        *(Path(os.environ[name]) for name in ("FAULT_ARMED", "FAULT_REACHED", "FAULT_RELEASE"))
    )
    runpy.run_module("journey_processor", run_name="__main__", alter_sys=True)
