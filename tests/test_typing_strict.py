"""mypy stays strict on the apps, and every `type: ignore` left in them says which error and why.

`make lint` runs `mypy .` with the configuration in pyproject.toml: `strict = true` for the
whole tree, loosened only for the modules listed in the overrides (tests, scripts).
This test fails if an override loosens an app again, if a module turns its own checking off,
or if an ignore is bare (no `[code]`) or has no reason after it (docs/architecture.md, "Types").
"""

from __future__ import annotations

import io
import re
import tokenize
import tomllib
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
STRICT_APPS = (
    "mrmarket",
    "ledger",
    "exchanges",
    "orders",
    "campaigns",
    "strategy",
    "console",
    "realtime",
    "reports",
    "standins",
)

# Each option with the value that would weaken `strict = true` for a module.
LOOSENING: dict[str, bool] = {
    "ignore_errors": True,
    "disallow_untyped_defs": False,
    "disallow_incomplete_defs": False,
    "disallow_untyped_calls": False,
    "disallow_untyped_decorators": False,
    "disallow_any_generics": False,
    "disallow_subclassing_any": False,
    "check_untyped_defs": False,
    "warn_return_any": False,
    "warn_unused_ignores": False,
    "implicit_reexport": True,
    "strict_equality": False,
    "extra_checks": False,
    "follow_imports_for_stubs": False,
}
# `# type: ignore[code, ...]  # reason`: codes named, then a comment that says why.
EXPLAINED_IGNORE = re.compile(r"type:\s*ignore\[[a-z0-9-]+(?:,\s*[a-z0-9-]+)*\]\s+#\s*\S")


def _mypy_config() -> dict[str, Any]:
    with (ROOT / "pyproject.toml").open("rb") as f:
        config: dict[str, Any] = tomllib.load(f)["tool"]["mypy"]
    return config


def _covers_app(pattern: str) -> str | None:
    """The app a module pattern reaches into (`orders.*`, `orders.services`, `*`), if any."""
    for app in STRICT_APPS:
        if pattern == "*" or pattern.split(".")[0] in (app, "*"):
            return app
    return None


def _app_sources() -> list[Path]:
    return sorted(
        path
        for app in STRICT_APPS
        for path in (ROOT / app).rglob("*.py")
        if "migrations" not in path.parts
    )


def _comments(path: Path) -> list[tuple[int, str]]:
    tokens = tokenize.generate_tokens(io.StringIO(path.read_text()).readline)
    return [(tok.start[0], tok.string) for tok in tokens if tok.type == tokenize.COMMENT]


def test_mypy_is_strict_for_the_whole_tree() -> None:
    config = _mypy_config()

    assert config.get("strict") is True
    assert not config.get("ignore_errors")
    assert not [flag for flag, weak in LOOSENING.items() if config.get(flag) is weak]


def test_no_override_loosens_an_app() -> None:
    loosened = []
    for override in _mypy_config().get("overrides", []):
        modules = override["module"]
        for pattern in [modules] if isinstance(modules, str) else modules:
            app = _covers_app(pattern)
            weak = [flag for flag, value in LOOSENING.items() if override.get(flag) is value]
            if app and weak:
                loosened.append((pattern, weak))

    assert loosened == []


def test_no_app_module_switches_its_own_checking_off() -> None:
    inline = [
        f"{path.relative_to(ROOT)}:{line}"
        for path in _app_sources()
        for line, comment in _comments(path)
        if re.match(r"#\s*mypy:", comment) or re.match(r"#\s*type:\s*ignore\s*$", comment)
    ]

    assert inline == []


def test_every_type_ignore_in_the_apps_names_its_code_and_says_why() -> None:
    unexplained = [
        f"{path.relative_to(ROOT)}:{line}: {comment}"
        for path in _app_sources()
        for line, comment in _comments(path)
        if "type: ignore" in comment and not EXPLAINED_IGNORE.search(comment)
    ]

    assert unexplained == []
