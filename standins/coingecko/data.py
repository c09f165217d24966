"""The stand-in's coins and their deterministic prices (CoinGecko's own ids and categories)."""

from __future__ import annotations

import math
from dataclasses import dataclass

# USD per unit of each vs_currency the stand-in serves (a subset of /simple/supported_vs_currencies).
VS_RATES = {"usd": 1.0, "eur": 0.92, "btc": 1 / 95000.0, "eth": 1 / 3500.0, "cny": 7.2}


@dataclass(frozen=True)
class Coin:
    id: str
    symbol: str
    name: str
    usd: float  # base price in USD
    circulating: float
    total: float | None
    max_supply: float | None
    categories: tuple[str, ...]
    platform: str | None = None
    contract: str = ""

    def image(self, size: str) -> str:
        return f"https://coin-images.coingecko.com/coins/images/1/{size}/{self.id}.png"


COINS = [
    Coin(
        "bitcoin",
        "btc",
        "Bitcoin",
        95000.0,
        19_800_000,
        21_000_000,
        21_000_000,
        ("Cryptocurrency", "Layer 1 (L1)", "Proof of Work (PoW)"),
    ),
    Coin(
        "ethereum",
        "eth",
        "Ethereum",
        3500.0,
        120_400_000,
        120_400_000,
        None,
        ("Smart Contract Platform", "Layer 1 (L1)"),
    ),
    Coin(
        "tether",
        "usdt",
        "Tether",
        1.0,
        140_000_000_000,
        140_000_000_000,
        None,
        ("Stablecoins", "USD Stablecoin"),
        "ethereum",
        "0xdac17f958d2ee523a2206206994597c13d831ec7",
    ),
    Coin(
        "mixin",
        "xin",
        "Mixin",
        120.0,
        580_000,
        1_000_000,
        1_000_000,
        ("Layer 1 (L1)",),
        "ethereum",
        "0xa974c709cfb4566686553a20790685a47aceaa33",
    ),
    Coin(
        "human-protocol",
        "hmt",
        "HUMAN Protocol",
        0.025,
        900_000_000,
        1_000_000_000,
        1_000_000_000,
        ("Artificial Intelligence (AI)",),
        "ethereum",
        "0xd1ba9bac957322d6e8c07a160a3a8da11a0d2867",
    ),
]
BY_ID = {coin.id: coin for coin in COINS}
# Category ids as /coins/categories/list spells them, to the category names above.
CATEGORIES = {
    "layer-1": "Layer 1 (L1)",
    "stablecoins": "Stablecoins",
    "smart-contract-platform": "Smart Contract Platform",
    "artificial-intelligence": "Artificial Intelligence (AI)",
    "proof-of-work-pow": "Proof of Work (PoW)",
}


def usd_price(coin: Coin, ts: float) -> float:
    """Deterministic price at UNIX time `ts`: slow daily and hourly waves around the base."""
    day = math.sin(2 * math.pi * ts / 86_400) * 0.02
    hour = math.sin(2 * math.pi * ts / 3_600) * 0.002
    return coin.usd * (1 + day + hour)


def usd_volume(coin: Coin, ts: float) -> float:
    return coin.usd * coin.circulating * 0.03 * (1 + 0.1 * math.cos(2 * math.pi * ts / 86_400))
