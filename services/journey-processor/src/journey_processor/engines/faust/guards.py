"""Watchmen over faust's consumer: the two ways it was seen to lose its place, and what
the worker does about each (re-read, or exit for a fresh worker)."""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Callable
from typing import Any

import faust

log = logging.getLogger(__name__)
WEDGED_EXIT = 75  # exit status: the consumer wedged; a fresh worker takes over
CONSUMER_TIMEOUT = 10.0  # seconds the watchdog waits on faust's consumer thread


class StallWatchdog:
    """Works around faust-streaming issue #629 and its kin: after some rebalances records
    of a source partition stop reaching the agent (left paused, dropped from a buffer
    that a rebalance cleared, or never fetched), with no error, and the partition's
    committed offset stops short of its end for good.

    When the agent has been idle through two checks in a row, outside a rebalance, while an
    assigned source partition's committed offset stood still below its high-water mark,
    the partition is resumed and sought back to that committed offset. Re-reading is
    harmless: journey state is idempotent per event id and ticks only move clocks on.
    """

    def __init__(
        self,
        app: faust.App,
        topics: frozenset[str],
        progress: Callable[[], int],
        give_up_after: float,
    ) -> None:
        self.app, self.topics, self.progress = app, topics, progress
        self.suspects: dict[Any, int] = {}
        self.last_progress = -1
        self.wedged_since: float | None = None
        self.give_up_after = give_up_after

    async def check(self) -> None:
        try:
            await self._check()
        except TimeoutError:
            # The consumer thread did not answer: it is wedged (and a seek would hang).
            self._strike(True)

    async def _check(self) -> None:
        consumer: Any = self.app.consumer  # faust's Consumer; the interface lacks what we read
        progress, idle = self.progress(), self.progress() == self.last_progress
        self.last_progress = progress
        if not idle:
            self.wedged_since = None
        recovery = self.app.tables.recovery  # type: ignore[attr-defined]
        if self.app.rebalancing:
            # faust can stay "rebalancing", streams suspended, after some rebalances.
            self.suspects.clear()
            self._strike(idle and not recovery.in_recovery)
            return
        sources = [tp for tp in consumer.assignment() if tp.topic in self.topics]
        # From the broker: a partition faust never fetched has no high-water mark here.
        highwaters = await asyncio.wait_for(consumer.highwaters(*sources), CONSUMER_TIMEOUT)
        behind: dict[Any, int] = {}
        for tp in sources:
            committed = consumer._committed_offset.get(tp)  # no public accessor
            if committed is not None and highwaters.get(tp, 0) > committed:
                behind[tp] = committed
        stalled = {tp for tp, at in behind.items() if idle and self.suspects.get(tp) == at}
        self._strike(idle and bool(stalled))
        if stalled:
            log.warning(
                "resuming stalled partitions",
                extra={"partitions": sorted(f"{tp.topic}-{tp.partition}" for tp in stalled)},
            )
            consumer.resume_partitions(stalled)
            for tp in stalled:
                await asyncio.wait_for(consumer.seek(tp, behind[tp]), CONSUMER_TIMEOUT)
        self.suspects = {tp: at for tp, at in behind.items() if tp not in stalled}

    def _strike(self, wedged: bool) -> None:
        now = time.monotonic()
        if not wedged:
            self.wedged_since = None
            return
        self.wedged_since = self.wedged_since or now
        if now - self.wedged_since > self.give_up_after:
            # Still wedged after re-reading: only a new consumer helps. Exit, and let the
            # supervisor (Kubernetes, `journey run`) start one; it resumes from the
            # committed offsets, so nothing is lost.
            log.error("consumer wedged; exiting so that a fresh worker takes over")
            os._exit(WEDGED_EXIT)


class OffsetGuard:
    """Stops the worker when faust skipped records on a source partition.

    The journey topics have no offset gaps (idempotent, non-transactional producers,
    nothing compacted or expired), so a record whose offset jumps past the next one
    expected means faust dropped records on the way to the agent (it does, around
    rebalances), and it treats the jump as a gap it may commit past. Seeking back from a
    running worker proved unreliable, so the worker exits at once, before faust can
    commit past the gap, with status 75: its supervisor starts a fresh worker, which
    resumes from the committed offsets and reads the skipped records. A crash is better
    than a silent loss.
    """

    def __init__(self, app: faust.App, exit_on_gap: bool) -> None:
        self.app, self.exit_on_gap = app, exit_on_gap
        self.expected: dict[Any, int] = {}

    def forget(self) -> None:
        """After a rebalance faust starts again from the committed offsets."""
        self.expected.clear()

    def notice(self, message: Any) -> None:
        tp, offset = message.tp, message.offset
        expected = self.expected.get(tp)
        if expected is None:
            expected = self.app.consumer._committed_offset.get(tp)  # type: ignore[attr-defined]
        if expected is not None and offset > expected:
            log.error(
                "records skipped on the way to the agent; exiting so that a fresh worker "
                "reads them",
                extra={"partition": f"{tp.topic}-{tp.partition}", "from": expected},
            )
            if self.exit_on_gap:
                os._exit(WEDGED_EXIT)
        self.expected[tp] = max(offset + 1, expected or 0)
