"""Server processes for the benchmarks: start one or several (a port each) and wait for
their /readyz, stop them as an orchestrator would, and the database each bench makes and
drops. Shared by referral_writes.py and journey_propagation.py."""

from __future__ import annotations

import asyncio
import signal
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg

from journey_cli.devstack.processes import free_ports
from journey_platform.settings import find_schemas_dir

ROOT = find_schemas_dir().parent


def with_database(url: str, name: str) -> str:
    base, _, rest = url.rpartition("/")
    query = rest.partition("?")[2]
    return f"{base}/{name}" + (f"?{query}" if query else "")


class ServiceFailed(RuntimeError):
    """The service did not start, or died: the run is broken, not merely slow."""


async def wait_ready(process: asyncio.subprocess.Process, url: str, within: float) -> float:
    started = time.monotonic()
    async with aiohttp.ClientSession(url, timeout=aiohttp.ClientTimeout(total=5)) as client:
        while time.monotonic() - started < within:
            if process.returncode is not None:
                raise ServiceFailed(f"the service exited with status {process.returncode}")
            try:
                async with client.get("/readyz") as response:
                    if response.status == 200:
                        return time.monotonic() - started
            except (aiohttp.ClientError, TimeoutError):
                pass
            await asyncio.sleep(0.1)
    raise ServiceFailed(f"the service was not ready within {within:.0f} s")


async def start(
    command: list[str], env: dict[str, str], log_path: Path, url: str, *, ready_within: float
) -> tuple[asyncio.subprocess.Process, float]:
    """Start a server process (its output into `log_path`) and wait for its /readyz."""
    with log_path.open("ab") as log:
        process = await asyncio.create_subprocess_exec(
            *command, env=env, stdout=log, stderr=log, cwd=ROOT
        )
    try:
        return process, await wait_ready(process, url, ready_within)
    except BaseException:
        await stop(process, 5)
        raise


@dataclass
class Servers:
    """Server processes of one command, each on its own port."""

    processes: list[asyncio.subprocess.Process]
    urls: list[str]
    ready_s: float  # until the last was ready

    @property
    def pids(self) -> list[int]:
        return [p.pid for p in self.processes]

    def died(self) -> list[int]:
        return [p.returncode for p in self.processes if p.returncode is not None]

    async def stop(self, within: float) -> list[dict[str, Any]]:
        return list(await asyncio.gather(*(stop(p, within) for p in self.processes)))


async def start_all(
    command: list[str], env: dict[str, str], log_path: Path, *, count: int, ready_within: float
) -> Servers:
    """`count` servers, started together, all logging into `log_path`."""
    ports = free_ports(count)
    urls = [f"http://127.0.0.1:{port}" for port in ports]
    started = time.monotonic()
    results = await asyncio.gather(
        *(
            start(
                command, {**env, "HTTP_PORT": str(port)}, log_path, url, ready_within=ready_within
            )
            for port, url in zip(ports, urls, strict=True)
        ),
        return_exceptions=True,
    )
    processes = [r[0] for r in results if not isinstance(r, BaseException)]
    failed = [r for r in results if isinstance(r, BaseException)]
    if failed:
        await asyncio.gather(*(stop(p, 5) for p in processes))
        raise failed[0]
    return Servers(processes, urls, time.monotonic() - started)


async def stop(process: asyncio.subprocess.Process, within: float) -> dict[str, Any]:
    """SIGTERM, as an orchestrator would: uvicorn finishes in-flight requests and the
    lifespan drains the outbox relay. SIGKILL only if that takes longer than `within`.
    Uvicorn re-raises the signal once it has shut down, so a clean stop exits with -15."""
    if process.returncode is not None:
        return {"exit_status": process.returncode, "stop_s": 0.0, "killed": False}
    started = time.monotonic()
    process.send_signal(signal.SIGTERM)
    try:
        await asyncio.wait_for(process.wait(), within)
        killed = False
    except TimeoutError:
        process.kill()
        await process.wait()
        killed = True
    return {
        "exit_status": process.returncode,
        "stop_s": round(time.monotonic() - started, 2),
        "killed": killed,
    }


async def drop_database(admin_url: str, name: str) -> None:
    conn = await asyncpg.connect(admin_url)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()
