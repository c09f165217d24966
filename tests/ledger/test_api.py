"""GET /admin/ledger (CONTRACT.md): admin JWT, filters, money as strings, UTC timestamps."""

from __future__ import annotations

import uuid
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from ledger import codes
from ledger import services as ledger
from ledger.models import JournalEntry
from tests.ledger.helpers import new_asset

pytestmark = pytest.mark.django_db

D = Decimal


@pytest.fixture
def books() -> dict:
    asset, other_asset = new_asset(), new_asset()
    user, other, order = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    ledger.deposit_credit(
        idempotency_key="d1", user_id=user, asset=asset, amount=D("10.5"), snapshot_id="s1"
    )
    ledger.deposit_credit(
        idempotency_key="d2", user_id=other, asset=other_asset, amount=D(3), snapshot_id="s2"
    )
    ledger.order_allocate(
        idempotency_key="a1", user_id=user, order_id=order, asset=asset, amount=D("0.00000001")
    )
    return {
        "asset": asset,
        "other_asset": other_asset,
        "user": user,
        "other": other,
        "order": order,
    }


def test_admin_ledger_lists_entries_newest_first_with_string_money(admin_api, books) -> None:
    response = admin_api.get("/admin/ledger")
    assert response.status_code == 200
    body = response.json()
    assert body["ok"] is True
    assert [e["idempotencyKey"] for e in body["entries"]] == ["a1", "d2", "d1"]
    alloc = body["entries"][0]
    assert alloc["kind"] == "allocation" and alloc["status"] == "posted"
    assert alloc["reference"] == str(books["order"])
    assert alloc["createdAt"].endswith("Z")
    assert sorted((p["account"], p["debit"], p["credit"]) for p in alloc["postings"]) == sorted(
        [
            (codes.user_available(books["user"]), "0.00000001", "0"),
            (codes.order_account(books["order"]), "0", "0.00000001"),
        ]
    )
    assert {p["assetId"] for p in alloc["postings"]} == {books["asset"]}


def test_admin_ledger_filters(admin_api, books) -> None:
    def keys(**params: str) -> list[str]:
        response = admin_api.get("/admin/ledger", params)
        assert response.status_code == 200, response.json()
        return [e["idempotencyKey"] for e in response.json()["entries"]]

    assert keys(userId=str(books["user"])) == ["a1", "d1"]
    assert keys(orderId=str(books["order"])) == ["a1"]
    assert keys(assetId=books["other_asset"]) == ["d2"]
    assert keys(userId=str(books["user"]), assetId=books["other_asset"]) == []
    assert keys(limit="1") == ["a1"]
    since = JournalEntry.objects.get(idempotency_key="d2").created_at
    assert keys(since=since.isoformat()) == ["a1", "d2"]
    assert keys(since=(timezone.now() + timedelta(seconds=1)).isoformat()) == []


@pytest.mark.parametrize(
    "params", [{"userId": "nope"}, {"limit": "0"}, {"limit": "501"}, {"since": "yesterday"}]
)
def test_admin_ledger_rejects_bad_parameters(admin_api, params) -> None:
    response = admin_api.get("/admin/ledger", params)
    assert response.status_code == 400
    assert response.json()["error"] == "validation_error"


def test_admin_ledger_needs_an_admin_jwt(api, user_api) -> None:
    assert api.get("/admin/ledger").status_code == 401
    response = user_api.get("/admin/ledger")
    assert response.status_code == 403
    assert response.json()["error"] == "forbidden"
