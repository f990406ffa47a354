"""The worker's local copy of journey state: one RocksDB (rocksdict) per assigned partition.

Only what a committed transaction wrote ever reaches it, so it never holds state the
changelog lacks. Each write also stores the *checkpoint*: the changelog offset after the
last record it reflects. On assignment the worker restores from the changelog from the
checkpoint on (records other workers committed meanwhile), or from the beginning when
the directory is new or was lost. Losing the directory costs a longer restore, nothing else.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

from rocksdict import Options, Rdict, WriteBatch

CHECKPOINT = b"\x00checkpoint"  # sorts before every journey id and clock key


class LocalStore:
    def __init__(self, root: Path) -> None:
        self.root = root
        self._open: dict[int, Rdict] = {}

    def open(self, partition: int) -> None:
        if partition not in self._open:
            path = self.root / f"p{partition}"
            path.parent.mkdir(parents=True, exist_ok=True)
            self._open[partition] = Rdict(str(path), Options(raw_mode=True))

    def close(self, partition: int) -> None:
        db = self._open.pop(partition, None)
        if db is not None:
            db.close()

    def close_all(self) -> None:
        for partition in list(self._open):
            self.close(partition)

    def wipe(self, partition: int) -> None:
        """Delete a partition's copy (it cannot be trusted): the next restore is full."""
        self.close(partition)
        shutil.rmtree(self.root / f"p{partition}", ignore_errors=True)

    def get(self, partition: int, key: bytes) -> bytes | None:
        value: bytes | None = self._open[partition].get(key)
        return value

    def items(self, partition: int) -> Iterator[tuple[bytes, bytes]]:
        for key, value in self._open[partition].items():
            if key != CHECKPOINT:
                yield bytes(key), bytes(value)  # type: ignore[arg-type]  # raw mode: bytes

    def checkpoint(self, partition: int) -> int:
        """The changelog offset to restore from (0: from the beginning)."""
        raw = self._open[partition].get(CHECKPOINT)
        return int(raw) if raw is not None else 0

    def write(
        self, partition: int, records: list[tuple[bytes, bytes]], checkpoint: int | None
    ) -> None:
        """Records and the checkpoint after them, atomically. Without a checkpoint the old
        one stays: a restore from it replays records this store already has, harmlessly,
        since every changelog record is a whole state and the latest one wins."""
        batch = WriteBatch(raw_mode=True)
        for key, value in records:
            batch.put(key, value)
        if checkpoint is not None:
            batch.put(CHECKPOINT, str(checkpoint).encode())
        self._open[partition].write(batch)
