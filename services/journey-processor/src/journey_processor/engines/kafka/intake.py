"""Consumed records, released in timestamp order across a journey partition's topics.

A worker reads partition n of every journey topic and of the clock, and librdkafka
fetches each of them on its own: catching up on a backlog, the small clock records
arrive far ahead of the events they fall between, so every expectation would look
overdue, be raised, and be retracted when its evidence arrived a moment later. The final
flags are the same (they do not depend on arrival order), but a replay of 2,000 journeys
published five times the records it needed and doubled the state: each retracted flag
stays in it. So, as Kafka Streams does (KIP-353), records are held per source partition
and released in the order of their Kafka timestamps (the producer's append time, which is
the order a live system saw them in), a partition group waiting while one of its source
partitions has nothing buffered yet but is known to have more.

Nothing here is a guarantee: a record is committed only once processed, so records held
back are simply read again after an abort or a crash. Waiting is bounded (`IDLE_LIMIT`),
so a source partition that claims more than it gives never holds its group up for long,
and a source partition that runs far ahead is paused until the others catch up.
"""

from __future__ import annotations

import contextlib
import heapq
import logging
import time
from collections import deque
from collections.abc import Iterator
from itertools import islice

from confluent_kafka import Consumer, KafkaException, Message, TopicPartition

log = logging.getLogger(__name__)

IDLE_LIMIT = 0.5  # seconds a partition group waits for a source partition said to have more
MAX_HELD = 20_000  # records held for one source partition before it is paused

Where = tuple[str, int]  # (topic, partition)


class Intake:
    """Records held per source partition; `take` releases them in timestamp order."""

    def __init__(self, consumer: Consumer, clock_topic: str) -> None:
        self.consumer, self.clock_topic = consumer, clock_topic
        self._held: dict[Where, deque[Message]] = {}
        self._groups: dict[int, list[Where]] = {}  # journey partition -> its sources
        self._paused: set[Where] = set()
        self._committed: dict[Where, int] = {}  # at assignment
        self._waiting_since: dict[int, float] = {}
        self._turn = 0  # the group served first next time, so that none is starved

    # -- assignment --------------------------------------------------------------------

    def assigned(self, partitions: list[TopicPartition]) -> None:
        """Hold records for these too; their committed offsets tell, until a record is
        read, whether there is anything to wait for (librdkafka knows no position yet)."""
        with contextlib.suppress(KafkaException):  # not known: waited for, IDLE_LIMIT at most
            for tp in self.consumer.committed(partitions, timeout=10):
                self._committed[(tp.topic, tp.partition)] = tp.offset
        for tp in partitions:
            where = (tp.topic, tp.partition)
            if where not in self._held:
                self._held[where] = deque()
                self._groups.setdefault(tp.partition, []).append(where)

    def revoked(self, partitions: list[TopicPartition]) -> None:
        """Forget what is held for them: the next owner reads it from the committed offset."""
        for tp in partitions:
            where = (tp.topic, tp.partition)
            self._held.pop(where, None)
            self._committed.pop(where, None)
            self._resume([where])
            group = self._groups.get(tp.partition, [])
            if where in group:
                group.remove(where)
            if not group:
                self._groups.pop(tp.partition, None)
                self._waiting_since.pop(tp.partition, None)

    # -- records -----------------------------------------------------------------------

    def add(self, messages: list[Message]) -> None:
        for message in messages:
            if message.error() is not None:
                log.warning("consumer error", extra={"error": str(message.error())})
                continue
            held = self._held.get((str(message.topic()), int(message.partition() or 0)))
            if held is not None:  # else from a partition revoked meanwhile: read again later
                held.append(message)
        full = [w for w, held in self._held.items() if len(held) > MAX_HELD]
        if full:
            self.consumer.pause([TopicPartition(*w) for w in full if w not in self._paused])
            self._paused.update(full)

    def take(self, limit: int) -> list[Message]:
        """Up to `limit` records, each partition group's in timestamp order, from groups
        not waiting for a source partition."""
        taken: list[Message] = []
        groups = sorted(self._groups)
        self._turn = (self._turn + 1) % max(len(groups), 1)
        for partition in groups[self._turn :] + groups[: self._turn]:
            if len(taken) >= limit:
                break
            taken += islice(self._merged(partition), limit - len(taken))
        self._resume([w for w in self._paused if len(self._held.get(w, ())) <= MAX_HELD // 2])
        return taken

    def rewind(self, batch_first: list[TopicPartition]) -> list[TopicPartition]:
        """After an abort: where each source partition must be read again from (the
        batch's first offsets, or the first record held and not yet processed), all held
        records dropped."""
        first = {(tp.topic, tp.partition): tp.offset for tp in batch_first}
        for where, held in self._held.items():
            if held and where not in first:
                first[where] = int(held[0].offset() or 0)
            held.clear()
        self._resume(list(self._paused))
        return [TopicPartition(t, p, o) for (t, p), o in first.items()]

    def held(self) -> int:
        return sum(len(held) for held in self._held.values())

    # -- ordering ----------------------------------------------------------------------

    def _merged(self, partition: int) -> Iterator[Message]:
        """The group's held records in (timestamp, topic rank) order (the clock last at
        equal times, as a replay orders them), stopping where a source partition with
        nothing held may still have an earlier record."""
        sources = self._groups[partition]
        if self._waiting(partition, sources):
            return
        heads: list[tuple[int, int, Where]] = []
        for rank, where in enumerate(sources):
            if where[0] == self.clock_topic:
                rank = len(sources)
            held = self._held[where]
            if held:
                heads.append((held[0].timestamp()[1], rank, where))
        heapq.heapify(heads)
        while heads:
            _, rank, where = heads[0]
            held = self._held[where]
            yield held.popleft()
            if held:
                heapq.heapreplace(heads, (held[0].timestamp()[1], rank, where))
            else:
                heapq.heappop(heads)
                if self._waiting(partition, [where]):
                    return

    def _waiting(self, partition: int, sources: list[Where]) -> bool:
        """Whether the group waits: one of `sources` has nothing held but may have more
        (its lag positive or not known yet), and the group has not waited IDLE_LIMIT yet.
        Past the limit it goes on until that source has caught up or sent records."""
        empty = [TopicPartition(*w) for w in sources if not self._held[w]]
        if not empty or not self._behind(empty):
            self._waiting_since.pop(partition, None)
            return False
        since = self._waiting_since.setdefault(partition, time.monotonic())
        return time.monotonic() - since < IDLE_LIMIT

    def _behind(self, partitions: list[TopicPartition]) -> bool:
        """Whether any may have more to read: its last stable offset (read_committed) is
        past its position, or either is not known yet."""
        for tp in self.consumer.position(partitions):
            position = tp.offset
            if position < 0:  # nothing read since assignment or a seek
                position = self._committed.get((tp.topic, tp.partition), -1)
            low, high = self.consumer.get_watermark_offsets(tp, cached=True)
            if high < 0 or high > max(position, low):
                return True
        return False

    def _resume(self, where: list[Where]) -> None:
        ready = [w for w in where if w in self._paused]
        if ready:
            with contextlib.suppress(KafkaException):  # no longer assigned: nothing to resume
                self.consumer.resume([TopicPartition(*w) for w in ready])
            self._paused.difference_update(ready)
