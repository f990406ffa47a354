"""The local base of every image: Debian bookworm, minimal, bootstrapped from Debian's
mirror with debootstrap where no image registry answers (`--bases local`)."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from journey_cli.devstack.gotools import cache_root
from journey_cli.devstack.processes import StackError
from journey_cli.images.engine import Engine

DEBIAN_MIRROR = "http://deb.debian.org/debian"
# Bump to rebuild the debootstrap base (e.g. for Debian's security updates).
BOOKWORM_RECIPE = "debootstrap --variant=minbase bookworm; 1"


def import_bookworm(engine: Engine, tag: str) -> None:
    """Debian bookworm, minimal, from Debian's mirror: the base of every local image.
    The root filesystem is kept as a tarball in the per-user cache, so a fresh image
    store imports it again in seconds instead of bootstrapping it."""
    cache = cache_root().parent / "images"
    tarball = (
        cache / f"bookworm-minbase-{hashlib.sha256(BOOKWORM_RECIPE.encode()).hexdigest()[:12]}.tar"
    )
    if not tarball.exists():
        _bootstrap(tarball)
    with tarball.open("rb") as stream:
        engine.run(
            "import",
            "--change",
            "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            "--change",
            'CMD ["/bin/bash"]',
            "-",
            tag,
            stdin=stream.read(),
        )


def _bootstrap(tarball: Path) -> None:
    debootstrap = shutil.which("debootstrap")
    if debootstrap is None:
        raise StackError(
            "debootstrap builds the local base image: apt-get install debootstrap (as root), "
            "or use --bases public where an image registry answers"
        )
    mirror = os.environ.get("DEBIAN_MIRROR", DEBIAN_MIRROR)
    tarball.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="vj-bookworm-") as folder:
        rootfs = Path(folder) / "rootfs"
        result = subprocess.run(
            [debootstrap, "--variant=minbase", "bookworm", str(rootfs), mirror],
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            raise StackError(f"debootstrap failed:\n{result.stdout[-2000:]}{result.stderr[-2000:]}")
        (rootfs / "etc" / "apt" / "sources.list").write_text(
            f"deb {mirror} bookworm main\n"
            f"deb {mirror} bookworm-updates main\n"
            f"deb {mirror.rsplit('/', 1)[0]}/debian-security bookworm-security main\n"
        )
        for leftovers in ("var/cache/apt/archives", "var/lib/apt/lists"):
            for path in (rootfs / leftovers).glob("*"):
                if path.is_file():
                    path.unlink()
        partial = tarball.with_suffix(f".{os.getpid()}.partial")
        subprocess.run(
            ["tar", "-C", str(rootfs), "-cf", str(partial), "."],
            check=True,
        )
        os.replace(partial, tarball)
