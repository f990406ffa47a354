"""The Go tools' versions come from deploy/local's go.mod files, and key the per-user cache."""

from __future__ import annotations

import fcntl
import threading
from pathlib import Path

import pytest

from journey_cli.devstack import gotools
from journey_cli.devstack.gotools import (
    GoTool,
    cached_path,
    declared_tools,
    link_flags,
    read_tools,
)
from journey_cli.devstack.processes import StackError

GO_MOD = """\
module victimjourney/devtools/example

go 1.26

tool (
\tgithub.com/prometheus/prometheus/cmd/prometheus
\tgithub.com/prometheus/prometheus/cmd/promtool // the rules checker
)

tool example.org/solo/cmd/solo

require github.com/prometheus/prometheus v0.316.0 // indirect

require (
\texample.org/solo v1.2.3 // indirect
\tgithub.com/prometheus/common v0.67.0 // indirect
\tgithub.com/prometheus/prometheus/extra v9.9.9 // indirect
)
"""


def test_each_tool_takes_the_version_of_the_module_that_holds_it() -> None:
    tools = read_tools(GO_MOD, Path("/m"))

    assert tools == {
        "prometheus": GoTool(
            "prometheus", "github.com/prometheus/prometheus/cmd/prometheus", "v0.316.0", Path("/m")
        ),
        "promtool": GoTool(
            "promtool", "github.com/prometheus/prometheus/cmd/promtool", "v0.316.0", Path("/m")
        ),
        "solo": GoTool("solo", "example.org/solo/cmd/solo", "v1.2.3", Path("/m")),
    }


def test_a_tool_without_a_required_module_is_refused() -> None:
    with pytest.raises(StackError, match="requires no module"):
        read_tools("module x\n\ntool example.org/missing/cmd/m\n", Path("/m"))


def test_the_repositorys_modules_pin_jaeger_and_prometheus() -> None:
    tools = declared_tools()

    assert tools["jaeger"].version == "v1.76.0"
    assert tools["prometheus"].version == tools["promtool"].version == "v0.316.0"
    # Separate modules: one would lift Jaeger's collector libraries to Prometheus's.
    assert tools["jaeger"].module != tools["prometheus"].module


def test_a_comment_names_a_program_whose_path_ends_in_a_major_version() -> None:
    go_mod = (
        "module x\n\n// the server module is the main package\n"
        "tool go.etcd.io/etcd/server/v3 // program: etcd\n\n"
        "require go.etcd.io/etcd/server/v3 v3.7.3 // indirect\n"
    )

    assert read_tools(go_mod, Path("/m")) == {
        "etcd": GoTool("etcd", "go.etcd.io/etcd/server/v3", "v3.7.3", Path("/m"))
    }


def test_the_repositorys_modules_pin_etcd_and_kube_apiserver_apart() -> None:
    tools = declared_tools()

    assert tools["kube-apiserver"].package == "k8s.io/kubernetes/cmd/kube-apiserver"
    assert tools["kube-apiserver"].version == "v1.37.2"
    assert tools["etcd"].version == "v3.7.3"
    assert tools["etcd"].module != tools["kube-apiserver"].module


def test_kubernetes_programs_are_stamped_with_their_release() -> None:
    apiserver = GoTool("kube-apiserver", "k8s.io/kubernetes/cmd/kube-apiserver", "v1.37.2", Path())

    (flags,) = link_flags(apiserver)
    assert "-X k8s.io/component-base/version.gitVersion=v1.37.2" in flags
    assert "-X k8s.io/component-base/version.gitMajor=1" in flags
    assert "-X k8s.io/component-base/version.gitMinor=37" in flags
    assert link_flags(GoTool("etcd", "go.etcd.io/etcd/server/v3", "v3.7.3", Path())) == []


def test_the_cache_is_per_user_and_keyed_by_version(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    tool = GoTool("jaeger", "github.com/jaegertracing/jaeger/cmd/jaeger", "v1.76.0", tmp_path)

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cached_path(tool) == tmp_path / "xdg/victim-journey/tools/jaeger-v1.76.0/jaeger"

    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert cached_path(tool) == tmp_path / "home/.cache/victim-journey/tools/jaeger-v1.76.0/jaeger"


def test_a_cached_tool_is_returned_without_building(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    cached = cached_path(declared_tools()["promtool"])
    cached.parent.mkdir(parents=True)
    cached.write_text("#!/bin/sh\n")
    monkeypatch.setattr(gotools, "_find_go", _no_go)

    assert gotools.built_tool("promtool") == cached


def test_building_without_go_says_how_to_get_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr(gotools, "_GO_FALLBACK", tmp_path / "no-go")

    with pytest.raises(StackError, match=r"install Go 1\.26"):
        gotools.built_tool("jaeger")
    binaries = [path for path in tmp_path.rglob("*jaeger*") if path.is_file()]
    assert not binaries, "no binary, whole or partial"


def test_a_second_build_waits_for_the_first_and_uses_its_binary(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    cached = cached_path(declared_tools()["promtool"])
    cached.parent.mkdir(parents=True)
    monkeypatch.setattr(gotools, "_find_go", _no_go)
    found: list[Path] = []
    with (cached.parent / ".build.lock").open("w") as first_build:
        fcntl.flock(first_build, fcntl.LOCK_EX)
        second = threading.Thread(target=lambda: found.append(gotools.built_tool("promtool")))
        second.start()
        second.join(timeout=0.5)
        assert second.is_alive(), "the second build must wait while the first holds the lock"
        cached.write_text("#!/bin/sh\n")  # the first build's binary lands
    second.join(timeout=10)

    assert found == [cached]


def _no_go() -> str:
    raise AssertionError("a cached tool must not be rebuilt")
