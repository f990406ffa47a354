"""Small process helpers for the local stack: pid files, waiting with a deadline."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path


class StackError(RuntimeError):
    """The local stack cannot start; the message says what is missing and how to fix it."""


def read_pid(pid_file: Path) -> int | None:
    """The pid in `pid_file` if that process is still alive (a zombie is not)."""
    try:
        pid = int(pid_file.read_text().split()[0])
    except (FileNotFoundError, ValueError, IndexError):
        return None
    # A server started by this very process (`journey run` starts and stops the stack) is
    # its child: once it exits it lingers as a zombie until reaped, and would still
    # answer a signal 0 as if it were running.
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        return pid
    return None if _zombie(pid) else pid


def _zombie(pid: int) -> bool:
    try:
        status = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return status.rsplit(")", 1)[-1].split()[0] == "Z"


def free_ports(count: int) -> list[int]:
    """`count` distinct free loopback ports, held open together while they are chosen so
    that none is handed out twice (for servers a test or a benchmark starts)."""
    sockets = [socket.socket() for _ in range(count)]
    try:
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [int(sock.getsockname()[1]) for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def free_port() -> int:
    """One free loopback port."""
    return free_ports(1)[0]


def port_open(host: str, port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


def wait_until(
    check: Callable[[], bool], *, timeout: float, what: str, log_file: Path | None = None
) -> None:
    """Poll `check` until it holds; on time-out, raise with the tail of the log."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.25)
    tail = ""
    if log_file and log_file.exists():
        tail = "\n  last log lines:\n    " + "\n    ".join(log_file.read_text().splitlines()[-15:])
    raise StackError(f"{what} did not come up within {timeout:.0f}s{tail}")


def stop_process(pid_file: Path, *, timeout: float = 30) -> bool:
    """SIGTERM (a clean shutdown), then SIGKILL after `timeout`; True if it was running."""
    pid = read_pid(pid_file)
    if pid is None:
        pid_file.unlink(missing_ok=True)
        return False
    os.killpg(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and read_pid(pid_file) is not None:
        time.sleep(0.2)
    if read_pid(pid_file) is not None:
        os.killpg(pid, signal.SIGKILL)
    pid_file.unlink(missing_ok=True)
    return True


def launch(
    command: Sequence[str],
    *,
    what: str,
    pid_file: Path,
    log_file: Path,
    ports: Sequence[int],
    timeout: float,
    env: Mapping[str, str] | None = None,
    server_log: Path | None = None,
) -> None:
    """Start a server in its own process group (Ctrl-C on `make` leaves no orphan), its
    output in `log_file`; record its pid, and wait until it listens on every one of
    `ports`. If it exits first, or is not up in time, raise with the tail of its own log
    (`server_log`, where it keeps one apart from its output)."""
    log_file.parent.mkdir(parents=True, exist_ok=True)
    with log_file.open("ab") as out:
        process = subprocess.Popen(
            list(command),
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=None if env is None else dict(env),
            start_new_session=True,
        )
    pid_file.write_text(str(process.pid))
    wait_until(
        lambda: all(port_open("127.0.0.1", p) for p in ports) or process.poll() is not None,
        timeout=timeout,
        what=what,
        log_file=server_log or log_file,
    )
    if process.poll() is not None:
        pid_file.unlink(missing_ok=True)
        raise StackError(f"{what} exited with {process.returncode}; see {server_log or log_file}")
