"""The CoinGecko stand-in's HTTP server (loopback only). See the package docstring."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from mrmarket.testing.loopback import LoopbackRequest, LoopbackResponse, LoopbackServer
from standins.coingecko.data import BY_ID, CATEGORIES, COINS, VS_RATES, Coin, usd_price, usd_volume

RATE_LIMIT_MESSAGE = (
    "You've exceeded the Rate Limit. Please visit "
    "https://www.coingecko.com/en/api/pricing to subscribe to our API plans for higher rate limits."
)
FIVE_MINUTES, HOUR, DAY = 300, 3_600, 86_400


def _iso(ts: float) -> str:
    return (
        datetime.fromtimestamp(ts, tz=UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    )


class CoinGeckoStandIn(LoopbackServer):
    """`with CoinGeckoStandIn(clock=...) as cg: cg.base_url + "/api/v3"` is a CoinGecko base."""

    PREFIX = "/api/v3"

    def __init__(
        self, *, clock: Callable[[], float] = time.time, rate_per_minute: int | None = 30
    ) -> None:
        super().__init__()
        self.clock = clock
        self.rate_per_minute = rate_per_minute
        self._calls: deque[float] = deque()
        p = self.PREFIX
        self.add_route("GET", f"{p}/ping", self._ping)
        self.add_route("GET", f"{p}/coins/markets", self._markets)
        self.add_route("GET", f"{p}/coins/{{id}}/market_chart/range", self._chart_range)
        self.add_route("GET", f"{p}/coins/{{id}}/market_chart", self._chart)
        self.add_route("GET", f"{p}/coins/{{id}}", self._coin)

    @property
    def api_base(self) -> str:
        return self.base_url + self.PREFIX

    def dispatch(self, request: LoopbackRequest) -> LoopbackResponse:
        limited = self._rate_limited()
        if limited is not None:
            return limited
        return super().dispatch(request)

    # ------------------------------------------------------------------ helpers

    def _rate_limited(self) -> LoopbackResponse | None:
        if self.rate_per_minute is None:
            return None
        now = self.clock()
        with self.lock:
            while self._calls and self._calls[0] <= now - 60:
                self._calls.popleft()
            if len(self._calls) >= self.rate_per_minute:
                retry = max(1, int(60 - (now - self._calls[0])) + 1)
                return LoopbackResponse(
                    429,
                    {"status": {"error_code": 429, "error_message": RATE_LIMIT_MESSAGE}},
                    {"Retry-After": str(retry)},
                )
            self._calls.append(now)
        return None

    @staticmethod
    def _vs(request: LoopbackRequest, name: str = "vs_currency") -> tuple[str, float] | None:
        vs = request.query.get(name, "").lower()
        return (vs, VS_RATES[vs]) if vs in VS_RATES else None

    @staticmethod
    def _bad_vs() -> LoopbackResponse:
        return LoopbackResponse(400, {"error": "invalid vs_currency"})

    @staticmethod
    def _coin_or_404(request: LoopbackRequest) -> Coin | LoopbackResponse:
        coin = BY_ID.get(request.params["id"])
        return coin if coin is not None else LoopbackResponse(404, {"error": "coin not found"})

    def _market_row(self, coin: Coin, vs: str, rate: float, rank: int) -> dict[str, Any]:
        now = self.clock()
        price = usd_price(coin, now) * rate
        before = usd_price(coin, now - DAY) * rate
        window = [usd_price(coin, now - k * HOUR) * rate for k in range(25)]
        cap = price * coin.circulating
        cap_before = before * coin.circulating
        return {
            "id": coin.id,
            "symbol": coin.symbol,
            "name": coin.name,
            "image": coin.image("large"),
            "current_price": price,
            "market_cap": round(cap),
            "market_cap_rank": rank,
            "fully_diluted_valuation": round(price * (coin.max_supply or coin.total or 0)) or None,
            "total_volume": round(usd_volume(coin, now) * rate),
            "high_24h": max(window),
            "low_24h": min(window),
            "price_change_24h": price - before,
            "price_change_percentage_24h": (price - before) / before * 100,
            "market_cap_change_24h": cap - cap_before,
            "market_cap_change_percentage_24h": (cap - cap_before) / cap_before * 100,
            "circulating_supply": coin.circulating,
            "total_supply": coin.total,
            "max_supply": coin.max_supply,
            "ath": coin.usd * 1.25 * rate,
            "ath_change_percentage": (price / (coin.usd * 1.25 * rate) - 1) * 100,
            "ath_date": "2024-12-17T15:02:41.429Z",
            "atl": coin.usd * 0.01 * rate,
            "atl_change_percentage": (price / (coin.usd * 0.01 * rate) - 1) * 100,
            "atl_date": "2015-01-14T00:00:00.000Z",
            "roi": None,
            "last_updated": _iso(now),
        }

    def _ranked(self) -> list[tuple[int, Coin]]:
        now = self.clock()
        ordered = sorted(COINS, key=lambda c: -usd_price(c, now) * c.circulating)
        return [(i + 1, c) for i, c in enumerate(ordered)]

    @staticmethod
    def _series(coin: Coin, rate: float, start: float, end: float) -> dict[str, list[list[float]]]:
        span = end - start
        step = FIVE_MINUTES if span <= DAY else HOUR if span <= 90 * DAY else DAY
        first = (int(start) // step + (1 if int(start) % step else 0)) * step
        points = list(range(first, int(end) + 1, step))
        prices = [[t * 1000, usd_price(coin, t) * rate] for t in points]
        return {
            "prices": prices,
            "market_caps": [[t, p * coin.circulating] for t, p in prices],
            "total_volumes": [[t * 1000, usd_volume(coin, t) * rate] for t in points],
        }

    # ------------------------------------------------------------------ routes

    def _ping(self, request: LoopbackRequest) -> LoopbackResponse:
        return LoopbackResponse(200, {"gecko_says": "(V3) To the Moon!"})

    def _markets(self, request: LoopbackRequest) -> LoopbackResponse:
        vs = self._vs(request)
        if vs is None:
            return self._bad_vs()
        try:
            page = max(1, int(request.query.get("page", "1")))
            per_page = min(250, max(1, int(request.query.get("per_page", "100"))))
        except ValueError:
            return LoopbackResponse(400, {"error": "invalid page or per_page"})
        ranked = self._ranked()
        category = request.query.get("category")
        if category:
            name = CATEGORIES.get(category)
            if name is None:
                return LoopbackResponse(404, {"error": "category not found"})
            ranked = [(rank, c) for rank, c in ranked if name in c.categories]
        ids = request.query.get("ids")
        if ids:
            wanted = set(ids.split(","))
            ranked = [(rank, c) for rank, c in ranked if c.id in wanted]
        chunk = ranked[(page - 1) * per_page : page * per_page]
        return LoopbackResponse(200, [self._market_row(c, vs[0], vs[1], rank) for rank, c in chunk])

    def _coin(self, request: LoopbackRequest) -> LoopbackResponse:
        coin = self._coin_or_404(request)
        if isinstance(coin, LoopbackResponse):
            return coin
        rank = dict((c.id, r) for r, c in self._ranked())[coin.id]
        rows = {vs: self._market_row(coin, vs, rate, rank) for vs, rate in VS_RATES.items()}

        def per_vs(key: str) -> dict[str, Any]:
            return {vs: row[key] for vs, row in rows.items()}

        usd = rows["usd"]
        return LoopbackResponse(
            200,
            {
                "id": coin.id,
                "symbol": coin.symbol,
                "name": coin.name,
                "web_slug": coin.id,
                "asset_platform_id": coin.platform,
                "platforms": {coin.platform or "": coin.contract},
                "block_time_in_minutes": 10 if coin.id == "bitcoin" else 0,
                "categories": list(coin.categories),
                "description": {"en": f"{coin.name} ({coin.symbol.upper()})."},
                "links": {
                    "homepage": [f"https://{coin.id}.example"],
                    "blockchain_site": [],
                    "subreddit_url": None,
                },
                "image": {s: coin.image(s) for s in ("thumb", "small", "large")},
                "market_cap_rank": rank,
                "market_data": {
                    "current_price": per_vs("current_price"),
                    "ath": per_vs("ath"),
                    "atl": per_vs("atl"),
                    "market_cap": per_vs("market_cap"),
                    "market_cap_rank": rank,
                    "fully_diluted_valuation": per_vs("fully_diluted_valuation"),
                    "total_volume": per_vs("total_volume"),
                    "high_24h": per_vs("high_24h"),
                    "low_24h": per_vs("low_24h"),
                    "price_change_24h": usd["price_change_24h"],
                    "price_change_percentage_24h": usd["price_change_percentage_24h"],
                    "market_cap_change_24h": usd["market_cap_change_24h"],
                    "market_cap_change_percentage_24h": usd["market_cap_change_percentage_24h"],
                    "total_supply": coin.total,
                    "max_supply": coin.max_supply,
                    "circulating_supply": coin.circulating,
                    "last_updated": usd["last_updated"],
                },
                "last_updated": usd["last_updated"],
            },
        )

    def _chart(self, request: LoopbackRequest) -> LoopbackResponse:
        coin = self._coin_or_404(request)
        if isinstance(coin, LoopbackResponse):
            return coin
        vs = self._vs(request)
        if vs is None:
            return self._bad_vs()
        raw = request.query.get("days", "")
        now = self.clock()
        if raw == "max":
            days = 365 * 5.0
        else:
            try:
                days = float(raw)
            except ValueError:
                return LoopbackResponse(400, {"error": "invalid days"})
        series = self._series(coin, vs[1], now - days * DAY, now)
        # CoinGecko's last point is the current price at "now", off the grid.
        series["prices"].append([int(now * 1000), usd_price(coin, now) * vs[1]])
        return LoopbackResponse(200, series)

    def _chart_range(self, request: LoopbackRequest) -> LoopbackResponse:
        coin = self._coin_or_404(request)
        if isinstance(coin, LoopbackResponse):
            return coin
        vs = self._vs(request)
        if vs is None:
            return self._bad_vs()
        try:
            start, end = float(request.query["from"]), float(request.query["to"])
        except (KeyError, ValueError):
            return LoopbackResponse(400, {"error": "invalid from or to"})
        if end < start:
            return LoopbackResponse(200, {"prices": [], "market_caps": [], "total_volumes": []})
        return LoopbackResponse(200, self._series(coin, vs[1], start, end))


def main() -> None:  # pragma: no cover - the demo's process
    """`python -m standins.coingecko.server PORT`: serve until killed (for `make run`)."""
    import sys
    import threading

    server = CoinGeckoStandIn(rate_per_minute=None)
    server.start(port=int(sys.argv[1]) if len(sys.argv) > 1 else 0)
    print(server.api_base, flush=True)  # noqa: T201
    threading.Event().wait()


if __name__ == "__main__":  # pragma: no cover
    main()
