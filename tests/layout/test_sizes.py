"""No function over 60 lines and no module over 300 lines (issue 15), unless its top says
why: the first line of its docstring, or a comment in its first lines, holds "Long because:".
Reads the source tree; needs no server. tests/ and bench/ are left out: a test reads best
whole."""

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SOURCES = ("libs", "services", "cli")
LONGEST_FUNCTION = 60
LONGEST_MODULE = 300
REASON = "Long because:"


def sources() -> Iterator[Path]:
    for top in SOURCES:
        for source in sorted((ROOT / top).rglob("*.py")):
            relative = source.relative_to(ROOT)
            if "tests" not in relative.parts and ".venv" not in relative.parts:
                yield source


def states_a_reason(head: list[str], docstring: str | None) -> bool:
    """The reason is the docstring's first line, or a comment in the head."""
    if docstring and REASON in docstring.splitlines()[0]:
        return True
    return any(line.lstrip().startswith("#") and REASON in line for line in head)


def long_functions(source: Path, lines: list[str]) -> Iterator[str]:
    for node in ast.walk(ast.parse("\n".join(lines), filename=str(source))):
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        assert node.end_lineno is not None
        length = node.end_lineno - node.lineno + 1
        # The function's head: from `def` to just before its first statement after the docstring.
        statements = node.body[1:] if ast.get_docstring(node) and node.body[1:] else node.body
        head = lines[node.lineno - 1 : statements[0].lineno - 1]
        if length > LONGEST_FUNCTION and not states_a_reason(head, ast.get_docstring(node)):
            yield f"{source.relative_to(ROOT)}:{node.lineno} {node.name} has {length} lines"


def long_module(source: Path, lines: list[str]) -> Iterator[str]:
    docstring = ast.get_docstring(ast.parse("\n".join(lines), filename=str(source)))
    # A module's head: its first three lines (a shebang or encoding line may come first).
    if len(lines) > LONGEST_MODULE and not states_a_reason(lines[:3], docstring):
        yield f"{source.relative_to(ROOT)} has {len(lines)} lines"


def offences(source: Path) -> list[str]:
    lines = source.read_text().splitlines()
    return [*long_module(source, lines), *long_functions(source, lines)]


def test_no_long_function_or_module_without_a_reason() -> None:
    assert [offence for source in sources() for offence in offences(source)] == []
