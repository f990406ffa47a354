"""Python programs the deployment checks run (checkov, kubernetes-validate), each in an
environment of its own.

They stay out of the workspace's lock: checkov alone pins some two hundred packages, several
of them at versions the services' own dependencies would fight. Each program's folder under
`deploy/local/` holds `requirements.in` (what is asked for) and `requirements.txt` (every
package pinned with its hashes, compiled from it by the command at its head); that file is
the one place its versions are declared.

Each environment is built once per user into
`~/.cache/victim-journey/tools/<name>-<hash of requirements.txt>/` (beside the Go tools, see
gotools.py), so a fresh clone or another work tree reuses it, and a changed pin builds anew.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

from journey_cli.devstack.gotools import cache_root
from journey_cli.devstack.processes import StackError
from journey_platform.settings import find_schemas_dir


def requirements(name: str, local: Path | None = None) -> Path:
    local = local or find_schemas_dir().parent / "deploy" / "local"
    path = local / name / "requirements.txt"
    if not path.is_file():
        raise StackError(f"no {path}: deploy/local/{name}/ declares no Python tool {name!r}")
    return path


def environment_path(name: str, pinned: Path) -> Path:
    digest = hashlib.sha256(pinned.read_bytes()).hexdigest()[:12]
    return cache_root() / f"{name}-{digest}"


def python_tool(name: str, program: str | None = None) -> Path:
    """The path of `program` (default `name`) in `name`'s environment, built first if needed.

    A venv's scripts name its interpreter by absolute path, so the environment is built in
    its final place and trusted only once a marker written last is there: one killed
    halfway is built again.
    """
    pinned = requirements(name)
    home = environment_path(name, pinned)
    target = home / "bin" / (program or name)
    complete = home / ".complete"
    if complete.exists():
        return target
    uv = shutil.which("uv")
    if uv is None:
        raise StackError("uv is needed to build the Python tools' environments: pip install uv")
    print(f"installing {name} into {home} (once per pinned set)", file=sys.stderr, flush=True)
    shutil.rmtree(home, ignore_errors=True)
    python = os.environ.get("UV_PYTHON") or "python3.11"
    for command in (
        [uv, "venv", "--quiet", "--python", python, str(home)],
        [
            uv,
            "pip",
            "install",
            "--quiet",
            "--require-hashes",
            "--python",
            str(home / "bin" / "python"),
            "-r",
            str(pinned),
        ],
    ):
        result = subprocess.run(
            command, capture_output=True, text=True, check=False, stdin=subprocess.DEVNULL
        )
        if result.returncode != 0:
            raise StackError(f"{' '.join(command)} failed:\n{result.stderr[-3000:]}")
    complete.write_text(pinned.read_text())
    return target
