"""The console screens of the ledger: they render, they filter, and they cannot write."""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest
from django.test import Client

from ledger import services as ledger
from ledger.models import JournalEntry
from mrmarket.services import operator_ensure
from tests.ledger.helpers import new_asset

pytestmark = pytest.mark.django_db


@pytest.fixture
def console() -> Client:
    client = Client()
    client.force_login(operator_ensure())
    return client


@pytest.fixture
def entry() -> JournalEntry:
    asset, user = new_asset(), uuid.uuid4()
    ledger.deposit_credit(
        idempotency_key="d", user_id=user, asset=asset, amount=Decimal(2), snapshot_id="snap-9"
    )
    return ledger.refund_start(
        idempotency_key="r", user_id=user, asset=asset, amount=Decimal(1), reference="rf"
    )


@pytest.mark.parametrize(
    "path",
    [
        "/console/ledger/account/",
        "/console/ledger/account/?kind=liability&owner=user",
        "/console/ledger/accountbalance/",
        "/console/ledger/accountbalance/?owner=custody&q=custody",
        "/console/ledger/journalentry/",
        "/console/ledger/journalentry/?kind=refund&status=pending",
        "/console/ledger/journalentry/?q=snap-9",
    ],
)
def test_console_lists_render(console, entry, path) -> None:
    response = console.get(path)
    assert response.status_code == 200


def test_console_entry_page_shows_its_postings_read_only(console, entry) -> None:
    response = console.get(f"/console/ledger/journalentry/{entry.pk}/change/")
    assert response.status_code == 200
    body = response.content.decode()
    assert "custody:mixin" in body and "rf" in body
    assert 'name="_save"' not in body


def test_console_filters_entries_by_asset_and_owner(console, entry) -> None:
    asset = entry.postings.first().account.asset  # type: ignore[union-attr]
    response = console.get(f"/console/ledger/journalentry/?asset={asset}")
    assert response.status_code == 200 and response.context["cl"].result_count == 2
    response = console.get(f"/console/ledger/journalentry/?asset={new_asset()}")
    assert response.context["cl"].result_count == 0


def test_console_cannot_add_change_or_delete(console, entry) -> None:
    assert console.get("/console/ledger/journalentry/add/").status_code == 403
    assert console.post(f"/console/ledger/journalentry/{entry.pk}/delete/").status_code == 403
    assert console.get("/console/ledger/account/add/").status_code == 403
    assert JournalEntry.objects.count() == 2
