"""The strategy runtime's import map (issue 18): it never imports the apps above it,
imports only at module level (no import inside a function to dodge a cycle), and its own
modules import each other one way (no cycle). Read from the source, so a forbidden import
added anywhere in `strategy/` fails here."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
STRATEGY = ROOT / "strategy"
ABOVE = ("orders", "campaigns")  # strategy sits below these (docs/architecture.md)
FUNCTION_IMPORTS_ALLOWED = {
    # Django's documented registration point: imports the tasks once the models are loaded.
    ("strategy/apps.py", "ready"),
    # The pure quoting core imports without Django; it reads its one setting when asked.
    ("strategy/quoting/ids.py", "configured_prefix"),
    # mrmarket.health loads models; strategy.dispatch is imported before the apps are ready.
    ("strategy/dispatch.py", "oldest_waiting_sent_at"),
}


def _module_name(path: Path) -> str:
    rel = path.relative_to(ROOT).with_suffix("")
    parts = rel.parts[:-1] if rel.name == "__init__" else rel.parts
    return ".".join(parts)


def _sources() -> dict[str, tuple[Path, ast.Module]]:
    out = {}
    for path in sorted(STRATEGY.rglob("*.py")):
        if "migrations" in path.parts:
            continue
        out[_module_name(path)] = (path, ast.parse(path.read_text(), filename=str(path)))
    return out


def _imported(node: ast.Import | ast.ImportFrom, modules: set[str]) -> list[str]:
    """Full names of what an import statement imports (`from strategy import x` of a
    submodule x counts as importing strategy.x)."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if node.level or node.module is None:
        return []
    submodules = [f"{node.module}.{a.name}" for a in node.names]
    found = [name for name in submodules if name in modules]
    # `from package import submodule` depends on the submodule, not on the package's body.
    return found if len(found) == len(submodules) else [node.module, *found]


def _module_level_imports(tree: ast.Module) -> list[ast.Import | ast.ImportFrom]:
    found: list[ast.Import | ast.ImportFrom] = []
    for node in tree.body:
        if isinstance(node, ast.Import | ast.ImportFrom):
            found.append(node)
        # `if TYPE_CHECKING:` blocks are for the type checker only: not a runtime import.
    return found


def _function_imports(tree: ast.Module) -> list[tuple[str, int]]:
    found = []
    for fn in ast.walk(tree):
        if isinstance(fn, ast.FunctionDef | ast.AsyncFunctionDef):
            for node in ast.walk(fn):
                if isinstance(node, ast.Import | ast.ImportFrom):
                    found.append((fn.name, node.lineno))
    return found


SOURCES = _sources()


@pytest.mark.parametrize("module", sorted(SOURCES))
def test_strategy_never_imports_the_apps_above_it(module: str) -> None:
    path, tree = SOURCES[module]
    bad = [
        name
        for node in ast.walk(tree)
        if isinstance(node, ast.Import | ast.ImportFrom)
        for name in _imported(node, set(SOURCES))
        if name.split(".")[0] in ABOVE
    ]
    assert bad == [], f"{path.relative_to(ROOT)} imports {bad}"


@pytest.mark.parametrize("module", sorted(SOURCES))
def test_strategy_imports_only_at_module_level(module: str) -> None:
    path, tree = SOURCES[module]
    rel = str(path.relative_to(ROOT))
    bad = [
        (fn, line)
        for fn, line in _function_imports(tree)
        if (rel, fn) not in FUNCTION_IMPORTS_ALLOWED
    ]
    assert bad == [], f"{rel}: imports inside functions {bad}"


def test_strategy_modules_import_each_other_one_way() -> None:
    modules = set(SOURCES)
    graph = {
        name: {
            imported
            for node in _module_level_imports(tree)
            for imported in _imported(node, modules)
            if imported in modules and imported != name
        }
        for name, (_, tree) in SOURCES.items()
    }
    cycles: list[list[str]] = []
    state: dict[str, int] = {}

    def visit(node: str, stack: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                cycles.append([*stack[stack.index(nxt) :], nxt])
            elif nxt not in state:
                visit(nxt, [*stack, nxt])
        state[node] = 2

    for name in sorted(graph):
        if name not in state:
            visit(name, [name])
    assert cycles == []


def test_the_import_map_check_sees_a_cycle_and_a_function_import() -> None:
    """The checks above can fail: a cycle and an import inside a function are found."""
    tree = ast.parse("import strategy.b\n\ndef f():\n    from orders import models\n")
    assert _function_imports(tree) == [("f", 4)]
    assert _imported(_module_level_imports(tree)[0], {"strategy.b"}) == ["strategy.b"]
