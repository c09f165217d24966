"""No import inside a function hides a cycle in the apps (STYLE 16).

An import inside a function is allowed only where a `# deferred:` comment on the line or in
the comment block just above says why (AppConfig.ready, a heavy optional import); any other one is a dependency the
import contracts cannot see."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
APPS = ("strategy", "ledger", "exchanges", "campaigns", "orders")


def _inner_imports(path: Path) -> list[tuple[int, str]]:
    found: list[tuple[int, str]] = []

    def visit(node: ast.AST, in_function: bool) -> None:
        for child in ast.iter_child_nodes(node):
            inside = in_function or isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef)
            if in_function and isinstance(child, ast.Import | ast.ImportFrom):
                name = (
                    child.module or ""
                    if isinstance(child, ast.ImportFrom)
                    else ",".join(a.name for a in child.names)
                )
                found.append((child.lineno, name))
            visit(child, inside)

    visit(ast.parse(path.read_text()), False)
    return found


def _said_above(lines: list[str], lineno: int) -> str:
    """The import's line and the comments and imports right above it (one block)."""
    said = [lines[lineno - 1]]
    index = lineno - 2
    while index >= 0 and lines[index].strip().startswith(("#", "from ", "import ")):
        said.append(lines[index])
        index -= 1
    return "\n".join(said)


def _hidden(paths: list[Path], root: Path = ROOT) -> set[tuple[str, str]]:
    hidden = set()
    for path in paths:
        lines = path.read_text().splitlines()
        for lineno, module in _inner_imports(path):
            if "deferred:" not in _said_above(lines, lineno):
                hidden.add((str(path.relative_to(root)), module))
    return hidden


def _app_modules() -> list[Path]:
    return [
        p
        for app in APPS
        for p in sorted((ROOT / app).rglob("*.py"))
        if "migrations" not in p.parts and "tests" not in p.parts
    ]


def test_no_import_inside_a_function_hides_a_dependency() -> None:
    assert _hidden(_app_modules()) == set()


def test_an_unexplained_inner_import_is_caught(tmp_path: Path) -> None:
    # given a module of an app with one explained and one unexplained inner import
    module = tmp_path / "orders" / "probe.py"
    module.parent.mkdir()
    module.write_text(
        "def ready():\n"
        "    # deferred: AppConfig.ready\n"
        "    from orders import tasks\n"
        "\n\n"
        "def sneaky():\n"
        "    from campaigns.models import Campaign\n"
    )
    # when / then only the unexplained one is reported
    assert _hidden([module], root=tmp_path) == {("orders/probe.py", "campaigns.models")}
