"""Matching campaigns to a venue and pair across naming differences."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from campaigns.selectors import campaign_matching, normalize_exchange_name, normalize_symbol
from tests.campaigns.factories import campaign_make


@pytest.mark.parametrize(
    ("given", "expected"),
    [("HMT/USDT", "HMT/USDT"), ("hmt-usdt", "HMT/USDT"), ("HMT_USDT", "HMT/USDT"),
     ("HMT/USDT:USDT", "HMT/USDT"), ("HMTUSDT", "HMTUSDT")],
)  # fmt: skip
def test_symbols_normalize_to_hufis_pair_form(given: str, expected: str) -> None:
    assert normalize_symbol(given) == expected


def test_exchange_names_normalize_to_ccxt_ids() -> None:
    assert [normalize_exchange_name(n) for n in ("MEXC", "Gate.io", "gateio", "huobi")] == [
        "mexc",
        "gate",
        "gate",
        "htx",
    ]


@pytest.mark.django_db
def test_matching_returns_only_running_active_campaigns_of_the_pair() -> None:
    now = timezone.now()
    hit = campaign_make(exchange_name="gate", symbol="HMT/USDT")
    campaign_make(exchange_name="gate", symbol="BTC/USDT")
    campaign_make(exchange_name="mexc", symbol="HMT/USDT")
    campaign_make(exchange_name="gate", symbol="HMT/USDT", status="completed")
    campaign_make(exchange_name="gate", symbol="HMT/USDT", start_date=now + timedelta(hours=1))
    campaign_make(
        exchange_name="gate",
        symbol="HMT/USDT",
        start_date=now - timedelta(days=3),
        end_date=now - timedelta(days=1),
    )
    assert list(campaign_matching(exchange_name="Gate.io", symbol="hmt-usdt")) == [hit]
