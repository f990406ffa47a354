"""The devstack's PostgreSQL starts from a checkout inside a folder only its owner may enter
(`mktemp -d` makes one mode 700). Under root the server runs as another user, which must
still reach its binaries and data; the folder stays as closed as it was."""

from __future__ import annotations

import asyncio
import os
import shutil
import stat
from pathlib import Path

import asyncpg
import pytest

from journey_cli.devstack.postgres import LocalPostgres
from journey_cli.devstack.processes import free_port

pytestmark = pytest.mark.integration


async def test_postgres_starts_and_answers_from_a_mode_700_folder(tmp_path: Path) -> None:
    private = tmp_path / "private"
    private.mkdir()
    private.chmod(0o700)
    postgres = LocalPostgres(home=private / "clone" / ".devstack" / "postgres", port=free_port())
    try:
        assert await asyncio.to_thread(postgres.start)
        conn = await asyncpg.connect(postgres.url, timeout=10)
        try:
            assert await conn.fetchval("SELECT current_user") == "postgres"
        finally:
            await conn.close()
    finally:
        await asyncio.to_thread(postgres.stop)
        shutil.rmtree(postgres.server_home, ignore_errors=True)
    assert stat.S_IMODE(private.stat().st_mode) == 0o700


@pytest.mark.skipif(os.geteuid() != 0, reason="only root's server keeps its data elsewhere")
async def test_a_deleted_checkouts_server_folder_goes_at_the_next_start(tmp_path: Path) -> None:
    gone, kept = (
        LocalPostgres(home=tmp_path / name / ".devstack" / "postgres", port=free_port())
        for name in ("gone", "kept")
    )
    await asyncio.to_thread(gone.start)
    await asyncio.to_thread(gone.stop)
    assert gone.server_home.is_dir()
    shutil.rmtree(tmp_path / "gone")
    try:
        await asyncio.to_thread(kept.start)
    finally:
        await asyncio.to_thread(kept.stop)
        shutil.rmtree(kept.server_home, ignore_errors=True)
    assert not gone.server_home.exists()
