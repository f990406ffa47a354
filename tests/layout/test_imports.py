"""Libraries never import applications (issue 15): a lib under `libs/` is shared
infrastructure, so importing an app from it would make every service carry that app.
Reads the source tree; needs no server."""

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# The packages of the deployables: the services, the simulator and the `journey` command.
# The CLI is an application itself and may import the others.
APPLICATIONS = frozenset(
    {
        "journey_cli",
        "analytics",
        "referral",
        "support",
        "prosecution",
        "flags",
        "journey_processor",
        "journey_simulator",
    }
)


def imported_packages(source: Path) -> Iterator[tuple[int, str]]:
    """Each absolute import's top-level package, with its line."""
    for node in ast.walk(ast.parse(source.read_text(), filename=str(source))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name.partition(".")[0]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.lineno, node.module.partition(".")[0]


def test_the_application_packages_are_the_ones_outside_libs() -> None:
    """The list above names every package under services/ and cli/, so a new app is checked."""
    packages = {
        init.parent.name
        for pattern in ("services/*/src/*/__init__.py", "cli/src/*/__init__.py")
        for init in ROOT.glob(pattern)
    }
    assert packages == APPLICATIONS


def test_no_library_imports_an_application() -> None:
    sources = sorted(ROOT.glob("libs/*/*/**/*.py"))  # src/ and tests/: neither may need an app
    assert sources, "no library sources found: has libs/ moved?"
    offences = [
        f"{source.relative_to(ROOT)}:{line} imports {package}"
        for source in sources
        for line, package in imported_packages(source)
        if package in APPLICATIONS
    ]
    assert offences == []
