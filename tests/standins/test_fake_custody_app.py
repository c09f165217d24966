"""The fake custody is its own app: its tables move out of `orders` without losing a row
(orders 0008 + fake_custody 0001), and a database without the app keeps none of them."""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from orders.custody import custody_gateway
from standins.custody.gateway import FakeCustody
from standins.custody.models import FakeCustodyAsset, FakeCustodyBalance

HAND_OVER = importlib.import_module("orders.migrations.0008_fake_custody_moves_out")
BEFORE = ("orders", "0007_venue_wallet_moves")
OLD = "orders_fakecustodybalance"
NEW = "fake_custody_fakecustodybalance"


def _tables() -> set[str]:
    return {t for t in connection.introspection.table_names() if "fakecustody" in t}


def _migrate(targets: list[tuple[str, str | None]]) -> Any:
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    named = [(app, name) for app, name in targets if name is not None]
    return executor.loader.project_state(named).apps


@pytest.fixture
def back_before_the_move(transactional_db: None) -> Iterator[Any]:
    """The schema as it was before the move (orders 0007, no fake_custody); the leaf after."""
    leaves = MigrationExecutor(connection).loader.graph.leaf_nodes()
    apps = _migrate([BEFORE, ("fake_custody", None)])
    try:
        yield apps
    finally:
        _migrate(leaves)


def test_the_gateway_is_the_fake_apps_backend(settings) -> None:  # type: ignore[no-untyped-def]
    settings.CUSTODY_BACKEND = "fake"
    assert isinstance(custody_gateway(), FakeCustody)


@pytest.mark.django_db
def test_the_fake_tables_are_the_fake_apps_own() -> None:
    assert FakeCustodyBalance._meta.app_label == "fake_custody"
    assert FakeCustodyBalance._meta.db_table == NEW
    assert _tables() == {
        "fake_custody_fakecustodyasset",
        "fake_custody_fakecustodybalance",
        "fake_custody_fakecustodysnapshot",
        "fake_custody_fakecustodytransaction",
    }


def test_moving_the_tables_keeps_every_row(back_before_the_move: Any) -> None:
    # given the wallet as the orders app kept it
    assert OLD in _tables() and NEW not in _tables()
    old = back_before_the_move
    old.get_model("orders", "FakeCustodyAsset").objects.create(asset_id="a1", symbol="BTC")
    old.get_model("orders", "FakeCustodyBalance").objects.create(asset_id="a1", balance=5)
    # when migrating forward
    _migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())
    # then the fake custody app has the same rows, and its ids continue after them
    assert list(FakeCustodyBalance.objects.values_list("asset_id", "balance")) == [
        ("a1", Decimal(5))
    ]
    assert FakeCustodyAsset.objects.get().symbol == "BTC"
    first = FakeCustodyBalance.objects.get().pk
    assert FakeCustodyBalance.objects.create(asset_id="a2").pk > first
    assert OLD not in _tables()


def test_without_the_app_empty_tables_are_dropped_and_rows_stop_the_migration(
    back_before_the_move: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    class NotInstalled:
        @staticmethod
        def is_installed(name: str) -> bool:
            return False

    monkeypatch.setattr(HAND_OVER, "installed_apps", NotInstalled)
    old = back_before_the_move
    # given a row in the old table of a deployment without the fake custody app
    row = old.get_model("orders", "FakeCustodyBalance").objects.create(asset_id="a1", balance=5)
    # when migrating, then it refuses to drop money-shaped rows, and changes nothing
    with pytest.raises(RuntimeError, match="has rows but the fake custody app"):
        _migrate([("orders", "0008_fake_custody_moves_out")])
    assert OLD in _tables() and NEW not in _tables()
    # given the table emptied, when migrating, then the old tables are gone and none is made
    row.delete()
    _migrate([("orders", "0008_fake_custody_moves_out")])
    assert _tables() == set()
    # and installing the app later creates its tables fresh (fake_custody 0001)
    monkeypatch.undo()
    _migrate([("fake_custody", "0001_initial")])
    assert NEW in _tables() and FakeCustodyBalance.objects.count() == 0
