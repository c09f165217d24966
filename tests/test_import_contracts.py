"""The dependency map (`.importlinter`) holds, and it would catch a new forbidden import."""

from __future__ import annotations

import configparser
import subprocess
import sys
from pathlib import Path

import grimp

ROOT = Path(__file__).resolve().parents[1]


def _config() -> configparser.ConfigParser:
    parser = configparser.ConfigParser()
    parser.read(ROOT / ".importlinter")
    return parser


def _layers() -> list[set[str]]:
    raw = _config()["importlinter:contract:layers"]["layers"]
    return [{m.strip() for m in line.split("|")} for line in raw.strip().splitlines()]


def _graph() -> grimp.ImportGraph:
    roots = _config()["importlinter"]["root_packages"].split()
    graph = grimp.build_graph(*roots, cache_dir=None)
    ignored = _config()["importlinter:contract:layers"].get("ignore_imports", "")
    for line in ignored.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            importer, imported = (p.strip() for p in line.split("->"))
            graph.remove_import(importer=importer, imported=imported)
    return graph


def _illegal(graph: grimp.ImportGraph) -> set[tuple[str, str]]:
    layers = tuple(grimp.Layer(*sorted(names), independent=True) for names in _layers())
    found = graph.find_illegal_dependencies_for_layers(layers=layers)
    return {(d.importer, d.imported) for d in found}


def test_the_import_contracts_are_kept() -> None:
    lint = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run(
        [str(lint), "--no-cache", "--config", str(ROOT / ".importlinter")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-2000:]
    assert _illegal(_graph()) == set()


def test_a_forbidden_import_breaks_the_contract() -> None:
    graph = _graph()
    graph.add_import(importer="ledger.services", imported="orders.models")
    graph.add_import(importer="orders.models", imported="standins.mixin")
    assert _illegal(graph) == {("ledger", "orders"), ("orders", "standins")}
