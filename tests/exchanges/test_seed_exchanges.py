"""The demo seed: a paper venue with four pairs on real Mixin assets; safe to run on every start."""

from __future__ import annotations

import io
import threading
import uuid
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.db import connection

from exchanges import demo, services
from exchanges.models import (
    Asset,
    AssetNetwork,
    Exchange,
    FeeSettings,
    MarketMakingPair,
    SpotPair,
    VenueAccount,
)
from mrmarket.models import AuditEvent
from tests.exchanges.factories import ExchangeFactory

pytestmark = pytest.mark.django_db


def _snapshot() -> tuple[int, ...]:
    return tuple(
        m.objects.count()
        for m in (
            Exchange,
            VenueAccount,
            Asset,
            AssetNetwork,
            MarketMakingPair,
            SpotPair,
            FeeSettings,
            AuditEvent,
        )
    )


def test_seed_creates_the_paper_venue_and_is_idempotent() -> None:
    lines = demo.seed()
    first = _snapshot()
    again = demo.seed()

    assert _snapshot() == first  # nothing new, not even an audit row
    assert again == lines
    paper = Exchange.objects.get(exchange_id="paper")
    assert paper.kind == "paper" and paper.ccxt_id == ""
    assert set(paper.options["markets"]) == {"BTC/USDT", "ETH/USDT", "HMT/USDT", "XIN/USDT"}
    account = VenueAccount.objects.get()
    assert account.account_ref == "paper:0"
    assert services.venue_credentials_get(account=account).secret  # encrypted, and opens
    assert {str(a) for a in Asset.objects.values_list("asset_id", flat=True)} == {
        "c6d0c728-2624-429b-8e0d-d9d19b6592fa",
        "43d61dcd-e413-450d-80b8-101d5e903357",
        "4d8c508b-91c5-375b-92b0-ee702ed2dac5",
        "c94ac88f-4671-3976-b60a-09064f1811e8",
        "30e340a7-3284-3f04-8594-fbdd8f2da79f",
    }
    pairs = {
        p.symbol: p for p in MarketMakingPair.objects.select_related("base_asset", "quote_asset")
    }
    assert set(pairs) == {"BTC/USDT", "ETH/USDT", "HMT/USDT", "XIN/USDT"}
    assert pairs["XIN/USDT"].base_asset_id == uuid.UUID("c94ac88f-4671-3976-b60a-09064f1811e8")
    assert pairs["BTC/USDT"].id == demo.pair_id("BTC/USDT")
    assert all(p.quote_asset.symbol == "USDT" for p in pairs.values())
    assert SpotPair.objects.count() == 4 and AssetNetwork.objects.count() == 5
    assert FeeSettings.objects.get().market_making_fee >= 0
    assert any(str(demo.pair_id("HMT/USDT")) in line for line in lines)


def test_seeded_prices_are_plausible_and_chains_consistent() -> None:
    demo.seed()
    usd = {a.symbol: a.price_usd or Decimal(-1) for a in Asset.objects.all()}
    assert usd["USDT"] == 1 and 10_000 < usd["BTC"] < 500_000 and 100 < usd["ETH"] < 20_000
    assert 0 < usd["HMT"] < 1 and 10 < usd["XIN"] < 2_000
    eth = uuid.UUID("43d61dcd-e413-450d-80b8-101d5e903357")
    chains = {a.symbol: a.chain_id for a in Asset.objects.all()}
    assert chains == {"BTC": demo.BTC, "ETH": eth, "USDT": eth, "HMT": eth, "XIN": eth}


def test_seed_demo_command_prints_the_paper_venue() -> None:
    out = io.StringIO()
    call_command("seed_demo", stdout=out)
    assert "paper venue    : exchange_id=paper, account paper:0" in out.getvalue()
    assert MarketMakingPair.objects.filter(exchange_id="paper").count() == 4


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_key_adds_without_an_index_get_distinct_indexes() -> None:
    exchange = ExchangeFactory.create(exchange_id="binance")
    barrier = threading.Barrier(4)
    errors: list[BaseException] = []

    def add(n: int) -> None:
        try:
            barrier.wait()
            services.venue_account_create(
                exchange=exchange,
                name=f"acct {n}",
                api_key=f"KEY-{n:012d}",
                api_secret="s",
                actor=None,
            )
        except BaseException as exc:  # collected and asserted below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=add, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert errors == []
    assert sorted(VenueAccount.objects.values_list("index", flat=True)) == [0, 1, 2, 3]
