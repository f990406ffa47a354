"""`journey images`: the container images, built with podman or docker (`make images`).

- `victim-journey/app`: every process of the system (deploy/images/app.Containerfile).
- With `--bases local` (the default where no image registry answers), the public bases
  are replaced by local builds: `victim-journey/bookworm` (debootstrap --variant=minbase,
  imported), `victim-journey/python` (Debian's python3.11 on it), and the compose
  stack's servers: `victim-journey/kafka` (Debian's Java 17 and the devstack's Kafka
  jars), `victim-journey/postgres` (Debian's PostgreSQL), `victim-journey/jaeger` and
  `victim-journey/prometheus` (the devstack's Go-built binaries).

Each image is tagged with a hash of everything it is built from (its Containerfile, its
build arguments, its context's files, its base's hash): an image whose tag exists is not
built again, so a second run takes seconds. `:latest` follows the last build, and
`.devstack/images.env` names the tags for `podman-compose --env-file` (see the README).
"""

from __future__ import annotations

import argparse
import os
import socket
import time
from pathlib import Path

from journey_cli.devstack.processes import StackError
from journey_cli.images.engine import find_engine
from journey_cli.images.recipes import Built, Recipe, recipes
from journey_platform.settings import find_schemas_dir

REGISTRY = ("registry-1.docker.io", 443)


def registry_answers(timeout: float = 3) -> bool:
    try:
        with socket.create_connection(REGISTRY, timeout=timeout):
            return True
    except OSError:
        return False


def build_all(names: list[str] | None, *, local_bases: bool) -> list[Built]:
    engine = find_engine()
    built: list[Built] = []
    done: dict[str, str] = {}  # recipe name -> its hashed tag, for the images built on it
    for recipe in recipes(local_bases=local_bases):
        if names and recipe.name not in names and not _needed_by(recipe, names, local_bases):
            continue
        result = recipe.build(engine, bases=done)
        done[recipe.name] = result.tag
        built.append(result)
    return built


def _needed_by(recipe: Recipe, names: list[str], local_bases: bool) -> bool:
    """Whether `recipe` is a base of one of the images asked for."""
    by_name = {r.name: r for r in recipes(local_bases=local_bases)}
    wanted = [by_name[n] for n in names if n in by_name]
    while wanted:
        image = wanted.pop()
        if recipe.name in image.bases:
            return True
        wanted += [by_name[b] for b in image.bases]
    return False


def env_file() -> Path:
    """`.devstack/images.env`: the tag of each image built, for the compose file's variables."""
    return find_schemas_dir().parent / os.environ.get("DEVSTACK_DIR", ".devstack") / "images.env"


def read_env_file() -> dict[str, str]:
    path = env_file()
    lines = path.read_text().splitlines() if path.exists() else []
    return dict(line.split("=", 1) for line in lines if "=" in line)


def write_env_file(built: list[Built]) -> None:
    """The images built replace their variables' lines; the others' stay (`--only kafka`
    leaves APP_IMAGE as it was)."""
    tags = {**read_env_file(), **{b.variable: b.tag for b in built if b.variable}}
    env_file().parent.mkdir(parents=True, exist_ok=True)
    env_file().write_text("".join(f"{name}={tag}\n" for name, tag in sorted(tags.items())))


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--bases",
        choices=["auto", "local", "public"],
        default="auto",
        help="public: python:3.11-slim-bookworm etc. from their registry; local: built "
        "here from Debian's packages; auto (default): public if the registry answers",
    )
    parser.add_argument(
        "--only", action="append", help="build only this image (and its bases); repeatable"
    )


def run(args: argparse.Namespace) -> int:
    local = args.bases == "local" or (args.bases == "auto" and not registry_answers())
    print(f"bases: {'local (built from Debian packages)' if local else 'public'}", flush=True)
    began = time.monotonic()
    try:
        built = build_all(args.only, local_bases=local)
    except StackError as error:
        print(f"journey images: {error}")
        return 1
    write_env_file(built)
    for image in built:
        how = "cached" if image.cached else f"built in {image.seconds:.0f}s"
        print(f"  {image.tag:60} {image.size / 1e6:7.0f} MB  {how}")
    print(f"images ready in {time.monotonic() - began:.0f}s")
    return 0
