"""What each image is built from, and how: its Containerfile, context and bases.

An image's tag is `<name>:<hash>`, the hash of its Containerfile, build arguments,
context files and bases' tags: the same inputs give the same tag, so a tag that exists
is an image that needs no build.
"""

from __future__ import annotations

import hashlib
import re
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from journey_cli.devstack.gotools import built_tool, cache_root, declared_tools
from journey_cli.devstack.kafka import LocalKafka
from journey_cli.devstack.processes import StackError
from journey_cli.images.bookworm import BOOKWORM_RECIPE, import_bookworm
from journey_cli.images.engine import Engine
from journey_platform.settings import find_schemas_dir

PREFIX = "victim-journey"
# The app image's context is the repository root; these are what it copies (the rest is
# in .containerignore). Folders skip what .containerignore skips.
APP_INPUTS = (
    "pyproject.toml",
    "uv.lock",
    "libs",
    "services",
    "cli",
    "schemas",
    "deploy/local/agencies.yaml",
)
SKIPPED = {"__pycache__", "tests", ".pytest_cache", ".mypy_cache", ".ruff_cache"}


@dataclass(frozen=True)
class Built:
    name: str
    tag: str
    size: int
    seconds: float
    cached: bool
    variable: str | None  # the compose file's variable naming this image, if any


@dataclass(frozen=True)
class Recipe:
    name: str
    containerfile: str | None  # under deploy/images; None: the debootstrap base
    bases: tuple[str, ...] = ()  # recipes whose tags are passed as build arguments
    variable: str | None = None
    build_args: dict[str, str] = field(default_factory=dict)
    # Lays out the build context in the folder given (the app's is the repository root).
    context: Callable[[Path], None] | None = None

    @property
    def repository(self) -> str:
        return f"{PREFIX}/{self.name}"

    def build(self, engine: Engine, *, bases: dict[str, str]) -> Built:
        root = find_schemas_dir().parent
        args = {**self.build_args, **{_base_arg(b): bases[b] for b in self.bases}}
        with _context(self, root) as context:
            digest = _inputs_hash(self, root, context, args)
            tag = f"{self.repository}:{digest}"
            began = time.monotonic()
            cached = engine.exists(tag)
            if not cached:
                print(f"building {tag}", flush=True)
                if self.containerfile is None:
                    import_bookworm(engine, tag)
                else:
                    containerfile = root / "deploy" / "images" / self.containerfile
                    if self.name == "app":
                        args = {**args, "INPUTS": digest, "REVISION": _revision(root)}
                    engine.build(
                        containerfile=containerfile, context=context, tags=[tag], build_args=args
                    )
            engine.run("tag", tag, f"{self.repository}:latest")
        return Built(
            self.name,
            tag,
            engine.size(tag),
            time.monotonic() - began,
            cached,
            self.variable,
        )


def recipes(*, local_bases: bool) -> list[Recipe]:
    """In build order: each after its bases."""
    app = Recipe("app", "app.Containerfile", variable="APP_IMAGE")
    if not local_bases:
        return [app]
    bookworm = ("bookworm",)
    return [
        Recipe("bookworm", None),
        Recipe("python", "python.Containerfile", bookworm, context=_copy()),
        Recipe("app", "app.Containerfile", ("python",), variable="APP_IMAGE"),
        Recipe(
            "kafka",
            "kafka.Containerfile",
            bookworm,
            "KAFKA_IMAGE",
            {"KAFKA_VERSION": kafka_version()},
            _kafka_context,
        ),
        Recipe(
            "postgres", "postgres.Containerfile", bookworm, "POSTGRES_IMAGE", {}, _copy("postgres")
        ),
        Recipe(
            "jaeger",
            "jaeger.Containerfile",
            bookworm,
            "JAEGER_IMAGE",
            {"JAEGER_VERSION": declared_tools()["jaeger"].version},
            _go_tools_context("jaeger"),
        ),
        Recipe(
            "prometheus",
            "prometheus.Containerfile",
            bookworm,
            "PROMETHEUS_IMAGE",
            {"PROMETHEUS_VERSION": declared_tools()["prometheus"].version},
            _go_tools_context("prometheus", "promtool"),
        ),
    ]


def _base_arg(name: str) -> str:
    return {"bookworm": "BOOKWORM_BASE", "python": "PYTHON_BASE"}[name]


def kafka_version() -> str:
    pom = (find_schemas_dir().parent / "deploy" / "local" / "pom.xml").read_text()
    match = re.search(r"<kafka.version>([^<]+)</kafka.version>", pom)
    if match is None:
        raise StackError("deploy/local/pom.xml names no kafka.version")
    return match[1]


@contextmanager
def _context(recipe: Recipe, root: Path) -> Iterator[Path]:
    if recipe.context is None:
        yield root
        return
    with tempfile.TemporaryDirectory(prefix=f"vj-image-{recipe.name}-") as folder:
        recipe.context(Path(folder))
        yield Path(folder)


def _copy(*names: str) -> Callable[[Path], None]:
    def lay_out(context: Path) -> None:
        images = find_schemas_dir().parent / "deploy" / "images"
        for name in names:
            shutil.copytree(images / name, context / name)

    return lay_out


def _kafka_context(context: Path) -> None:
    """The jars the devstack resolves with Maven, cached per user beside the Go tools."""
    root = find_schemas_dir().parent
    kafka = LocalKafka(
        home=cache_root().parent / "images" / "kafka",
        pom=root / "deploy" / "local" / "pom.xml",
        port=0,
    )
    libs = Path(kafka.resolve_jars()).parent
    shutil.copytree(libs, context / "libs", ignore=shutil.ignore_patterns(".resolved-from"))
    _copy("kafka")(context)


def _go_tools_context(*names: str) -> Callable[[Path], None]:
    def lay_out(context: Path) -> None:
        for name in names:
            shutil.copy2(built_tool(name), context / name)

    return lay_out


def _inputs_hash(recipe: Recipe, root: Path, context: Path, args: dict[str, str]) -> str:
    digest = hashlib.sha256()
    digest.update(recipe.name.encode())
    if recipe.containerfile is None:
        digest.update(BOOKWORM_RECIPE.encode())
    else:
        digest.update((root / "deploy" / "images" / recipe.containerfile).read_bytes())
    for key, value in sorted(args.items()):
        digest.update(f"{key}={value}\n".encode())
    if recipe.containerfile is None:
        pass
    elif recipe.context is None:
        for path in _app_inputs(root):
            digest.update(str(path.relative_to(root)).encode())
            digest.update(path.read_bytes())
    else:
        for path in sorted(p for p in context.rglob("*") if p.is_file()):
            digest.update(str(path.relative_to(context)).encode())
            digest.update(_file_digest(path))
    return digest.hexdigest()[:16]


def _app_inputs(root: Path) -> list[Path]:
    files: list[Path] = []
    for name in APP_INPUTS:
        path = root / name
        if path.is_file():
            files.append(path)
            continue
        for found in path.rglob("*"):
            parts = set(found.relative_to(root).parts)
            if found.is_file() and not parts & SKIPPED and found.suffix != ".pyc":
                files.append(found)
    return sorted(files)


def _file_digest(path: Path) -> bytes:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for chunk in iter(lambda: stream.read(1 << 20), b""):
            digest.update(chunk)
    return digest.digest()


def _revision(root: Path) -> str:
    result = subprocess.run(
        ["git", "-C", str(root), "rev-parse", "HEAD"],
        capture_output=True,
        text=True,
        check=False,
    )
    return result.stdout.strip() or "unknown"
