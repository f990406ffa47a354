"""Go programs the local stack runs (Jaeger, Prometheus, promtool, and on request etcd and
kube-apiserver), built from the module proxy.

Each Go module under `deploy/local/` (`jaeger/`, `prometheus/`, `etcd/`, `kube-apiserver/`)
is the one place its programs' versions are declared: its `tool` directives name the
packages and its `require` lines pin the modules that hold them. A program is named by the
last element of its package path, or by a `// program: NAME` comment on its `tool` line
where that element says nothing (etcd's main package is its module, `.../server/v3`).
Each program needs a module of its own: in one module, minimal version selection lifts the
OpenTelemetry Collector libraries Jaeger is built on to the newer ones Prometheus
requires, and Jaeger no longer compiles.

Each program is built once per user into `~/.cache/victim-journey/tools/<name>-<version>/`
(under XDG_CACHE_HOME when that is set), so a fresh `.devstack/` or another work tree
reuses it.
"""

from __future__ import annotations

import fcntl
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from journey_cli.devstack.processes import StackError
from journey_platform.settings import find_schemas_dir

# Where Go's official installer puts it, for machines whose PATH does not carry it.
_GO_FALLBACK = Path("/usr/local/go/bin/go")


@dataclass(frozen=True)
class GoTool:
    name: str  # the program's file name: the last element of its package path
    package: str  # e.g. github.com/jaegertracing/jaeger/cmd/jaeger
    version: str  # the version of the module that holds the package
    module: Path  # the folder whose go.mod declares it; the build runs there


_PROGRAM_NAME = re.compile(r"//\s*program:\s*(\S+)")


def read_tools(go_mod: str, module: Path) -> dict[str, GoTool]:
    """The programs a go.mod declares with `tool`, each with its module's required version."""
    required = dict(line.split()[:2] for line in _directive_values(go_mod, "require"))
    tools = {}
    for line in _directive_values(go_mod, "tool", keep_comments=True):
        package = line.split("//", 1)[0].strip()
        # The holding module is the longest required module path the package lies under.
        holders = [m for m in required if package == m or package.startswith(m + "/")]
        if not holders:
            raise StackError(f"go.mod declares tool {package} but requires no module holding it")
        named = _PROGRAM_NAME.search(line)
        name = named.group(1) if named else package.rsplit("/", 1)[-1]
        tools[name] = GoTool(name, package, required[max(holders, key=len)], module)
    return tools


def _directive_values(go_mod: str, directive: str, *, keep_comments: bool = False) -> list[str]:
    """Values of a go.mod directive, written singly (`tool x`) or as a block (`tool ( ... )`).

    With `keep_comments`, a value keeps its trailing comment; lines that are only a
    comment are dropped either way."""
    values = []
    text = go_mod if keep_comments else re.sub(r"//[^\n]*", "", go_mod)
    for block in re.findall(rf"^{directive}\s*\(\n(.*?)^\)", text, re.MULTILINE | re.DOTALL):
        lines = (line.strip() for line in block.splitlines())
        values += [line for line in lines if line and not line.startswith("//")]
    values += re.findall(rf"^{directive}\s+([^(\s][^\n]*?)\s*$", text, re.MULTILINE)
    return values


def cache_root() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "victim-journey" / "tools"


def cached_path(tool: GoTool) -> Path:
    return cache_root() / f"{tool.name}-{tool.version}" / tool.name


def declared_tools(local: Path | None = None) -> dict[str, GoTool]:
    """Every program declared by a Go module directly under deploy/local."""
    local = local or find_schemas_dir().parent / "deploy" / "local"
    tools: dict[str, GoTool] = {}
    for go_mod in sorted(local.glob("*/go.mod")):
        tools.update(read_tools(go_mod.read_text(), go_mod.parent))
    return tools


def built_tool(name: str) -> Path:
    """The path of `name` ("jaeger", "prometheus", "kube-apiserver", ...), built first if
    not cached.

    The build runs inside the declaring module, so its go.mod and go.sum pin every
    dependency. It writes a temporary file renamed into place: a build killed halfway
    leaves no binary that a later call would trust.
    """
    tools = declared_tools()
    if name not in tools:
        raise StackError(f"no go.mod under deploy/local declares {name!r}; known: {sorted(tools)}")
    tool = tools[name]
    target = cached_path(tool)
    if target.exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    # One build per tool at a time on this machine: a second stack (another work tree, a
    # test's own stack) waits for the first build instead of compiling the same minutes
    # of Go beside it on a small machine.
    with (target.parent / ".build.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not target.exists():
            _build(tool, target)
    return target


def _build(tool: GoTool, target: Path) -> None:
    print(
        f"building {tool.name} {tool.version} from the Go module proxy into {target.parent} "
        "(once per version; minutes on a small machine)",
        file=sys.stderr,
        flush=True,
    )
    go = _find_go()
    partial = target.with_name(f".{tool.name}.{os.getpid()}.partial")
    try:
        result = subprocess.run(
            [go, "build", *link_flags(tool), "-o", str(partial), tool.package],
            cwd=tool.module,
            capture_output=True,
            text=True,
            check=False,
            stdin=subprocess.DEVNULL,
        )
        if result.returncode != 0:
            raise StackError(
                f"go build {tool.package}@{tool.version} failed:\n{result.stderr[-3000:]}"
            )
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)


def link_flags(tool: GoTool) -> list[str]:
    """What Kubernetes' own release build stamps into its programs: their version.

    Built with `go build` alone, kube-apiserver says it is v0.0.0-master on /version, and
    clients that check a server's version (helm, against a chart's kubeVersion) refuse it.
    """
    if not tool.package.startswith("k8s.io/kubernetes/cmd/"):
        return []
    match = re.fullmatch(r"v(\d+)\.(\d+)\.\d+", tool.version)
    if not match:
        raise StackError(f"{tool.package}: not a release version: {tool.version}")
    stamp = "k8s.io/component-base/version"
    values = {
        "gitVersion": tool.version,
        "gitMajor": match[1],
        "gitMinor": match[2],
        "gitTreeState": "clean",
    }
    return ["-ldflags=" + " ".join(f"-X {stamp}.{key}={value}" for key, value in values.items())]


def _find_go() -> str:
    found = shutil.which("go")
    if found:
        return found
    if _GO_FALLBACK.exists():
        return str(_GO_FALLBACK)
    raise StackError(
        "Go is needed to build Jaeger and Prometheus for the local stack: install Go 1.26 or "
        "newer and put `go` on PATH (or set OTEL_EXPORTER_OTLP_ENDPOINT to send traces to "
        "an existing collector instead of a local Jaeger)"
    )
