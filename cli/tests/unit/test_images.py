"""`journey images`: what each image is built from, and in which order."""

from __future__ import annotations

from pathlib import Path

import pytest

from journey_cli.devstack.processes import StackError
from journey_cli.images import _needed_by, read_env_file, write_env_file
from journey_cli.images.docker_api import answers, environment
from journey_cli.images.engine import find_engine
from journey_cli.images.recipes import Built, recipes


def test_with_public_bases_only_the_app_is_built() -> None:
    assert [r.name for r in recipes(local_bases=False)] == ["app"]


def test_local_bases_come_before_the_images_built_on_them() -> None:
    order = [r.name for r in recipes(local_bases=True)]
    for recipe in recipes(local_bases=True):
        for base in recipe.bases:
            assert order.index(base) < order.index(recipe.name), (base, recipe.name)


def test_asking_for_one_image_builds_its_bases_too() -> None:
    by_name = {r.name: r for r in recipes(local_bases=True)}
    assert _needed_by(by_name["bookworm"], ["app"], local_bases=True)
    assert _needed_by(by_name["python"], ["app"], local_bases=True)
    assert not _needed_by(by_name["python"], ["kafka"], local_bases=True)


def test_every_image_the_compose_file_can_take_has_its_variable() -> None:
    variables = {r.variable for r in recipes(local_bases=True)} - {None}
    assert variables == {
        "APP_IMAGE",
        "KAFKA_IMAGE",
        "POSTGRES_IMAGE",
        "JAEGER_IMAGE",
        "PROMETHEUS_IMAGE",
    }


def test_with_no_engine_it_says_how_to_get_one(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")
    monkeypatch.delenv("CONTAINER_ENGINE", raising=False)
    with pytest.raises(StackError, match="install podman"):
        find_engine()


def test_building_some_images_keeps_the_others_tags_in_the_env_file(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("DEVSTACK_DIR", str(tmp_path))
    (tmp_path / "images.env").write_text("APP_IMAGE=victim-journey/app:1\nKAFKA_IMAGE=old\n")
    kafka = Built("kafka", "victim-journey/kafka:2", 0, 0, cached=True, variable="KAFKA_IMAGE")
    bookworm = Built("bookworm", "victim-journey/bookworm:3", 0, 0, cached=True, variable=None)
    write_env_file([kafka, bookworm])
    assert read_env_file() == {
        "APP_IMAGE": "victim-journey/app:1",
        "KAFKA_IMAGE": "victim-journey/kafka:2",
    }


def test_testcontainers_command_unsets_the_servers_and_names_the_images_built() -> None:
    caller = {"KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:19092", "DATABASE_URL": "postgresql:", "A": ""}
    images = {"KAFKA_IMAGE": "victim-journey/kafka:2", "POSTGRES_IMAGE": "victim-journey/pg:3"}
    api = {"DOCKER_HOST": "unix:///tmp/journey-podman-x/podman.sock"}
    assert environment(caller, images, api) == {"A": "", **images, **api}


def test_testcontainers_command_leaves_the_callers_image_choice() -> None:
    chosen = environment({"KAFKA_IMAGE": "apache/kafka:4.1.1"}, {"KAFKA_IMAGE": "local"}, {})
    assert chosen["KAFKA_IMAGE"] == "apache/kafka:4.1.1"


def test_no_docker_api_answers_on_a_missing_socket(tmp_path: Path) -> None:
    assert not answers(tmp_path / "podman.sock")
