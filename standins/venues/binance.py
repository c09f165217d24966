"""A loopback emulator of Binance's spot REST API, so ccxt's real `binance` class is exercised.

Design:
- Runs on `mrmarket.testing.loopback.LoopbackServer` (127.0.0.1 only). Endpoints are the
  ones ccxt 4.5.90's binance calls for the gateway protocol (see `ROUTES` and
  docs/venues.md); anything else is a 404, so an unexpected call shows up in tests.
- State is in memory (one `MatchingEngine` per emulator instance, guarded by one lock):
  the emulator stands in for a remote exchange inside one test or benchmark process.
- Signed endpoints check `X-MBX-APIKEY` (-2014 malformed, -2015 unknown), the HMAC-SHA256
  `signature` over the query string + body (-1022) and `timestamp`/`recvWindow` (-1021),
  in Binance's order. Orders are checked against PRICE_FILTER / LOT_SIZE / NOTIONAL (-1013).
- Rate limits like Binance's: REQUEST_WEIGHT per IP per fixed window (429 + Retry-After,
  code -1003; a request during that back-off is answered 418 with a longer Retry-After)
  and ORDERS per account per fixed window (429, code -1015, no Retry-After — as documented).
- Fault injection per endpoint and per count: latency, hang (past the client's timeout,
  optionally after applying the request so the outcome is "unknown" to the client), an
  arbitrary HTTP status (5xx), or a 429 with Retry-After.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import parse_qsl

from exchanges.venues.matching import (
    DuplicateClientOrderId,
    EngineError,
    EngineOrder,
    EngineTrade,
    InsufficientBalance,
    MarketSpec,
    MatchingEngine,
    PostOnlyWouldCross,
    UnknownOrder,
)
from mrmarket.testing.loopback import LoopbackRequest, LoopbackResponse, LoopbackServer

D = Decimal
_DEFAULT_FEE = D("0.001")
_ZERO = D(0)
_API_KEY_RE = re.compile(r"^[A-Za-z0-9]{8,128}$")


def _s(value: Decimal) -> str:
    """Binance renders decimals as fixed-point strings with 8 decimals."""
    return f"{value:.8f}"


@dataclass(frozen=True)
class EmulatedMarket:
    symbol: str  # "BTC/USDT"
    base: str
    quote: str
    tick_size: Decimal = D("0.01")
    step_size: Decimal = D("0.00001")
    min_qty: Decimal = D("0.00001")
    max_qty: Decimal = D("9000")
    min_notional: Decimal = D("5")
    last_price: Decimal = D("100")

    @property
    def id(self) -> str:
        return f"{self.base}{self.quote}"


@dataclass
class Fault:
    """Applied to the next `count` requests matching `endpoint` ("POST /api/v3/order", or
    "*" for all). kind: "latency" (sleep `seconds` then answer normally), "hang" (sleep
    `seconds` — longer than the client timeout — and answer normally only afterwards; with
    `apply=True` the request takes effect before the hang), "status" (answer `status`),
    "429" (rate limited with `retry_after`)."""

    endpoint: str
    kind: str
    count: int = 1
    seconds: float = 0.0
    status: int = 503
    retry_after: int = 1
    apply: bool = False


@dataclass
class _Account:
    name: str
    api_key: str
    secret: str
    deposits: list[dict[str, Any]] = field(default_factory=list)
    withdrawals: list[dict[str, Any]] = field(default_factory=list)


class _Reject(Exception):
    def __init__(self, status: int, code: int, msg: str, headers: dict[str, str] | None = None):
        super().__init__(msg)
        self.status, self.code, self.msg, self.headers = status, code, msg, headers or {}


# Request weights of the endpoints we serve (Binance spot docs, per endpoint).
_WEIGHTS = {
    "GET /api/v3/exchangeInfo": 20,
    "GET /api/v3/time": 1,
    "GET /api/v3/depth": 5,
    "GET /api/v3/ticker/24hr": 2,
    "GET /api/v3/ticker/bookTicker": 2,
    "GET /api/v3/klines": 2,
    "POST /api/v3/order": 1,
    "GET /api/v3/order": 4,
    "DELETE /api/v3/order": 1,
    "GET /api/v3/openOrders": 6,
    "GET /api/v3/myTrades": 20,
    "GET /api/v3/account": 20,
}
_INTERVAL_MS = {"1m": 60_000, "5m": 300_000, "15m": 900_000, "1h": 3_600_000, "1d": 86_400_000}


class BinanceEmulator:
    def __init__(
        self,
        markets: list[EmulatedMarket] | None = None,
        *,
        order_limit: tuple[int, float] | None = None,  # (orders, seconds) per account
        weight_limit: tuple[int, float] | None = None,  # (weight, seconds) per IP
        ban_seconds: int = 120,
        maker_fee: Decimal = _DEFAULT_FEE,
        taker_fee: Decimal = _DEFAULT_FEE,
        withdraw_fee: Decimal = _ZERO,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.markets = {m.symbol: m for m in (markets or default_markets())}
        self.by_id = {m.id: m for m in self.markets.values()}
        self._clock = clock
        self.engine = MatchingEngine(
            [
                MarketSpec(m.symbol, m.base, m.quote, maker_fee=maker_fee, taker_fee=taker_fee)
                for m in self.markets.values()
            ],
            clock_ms=self.now_ms,
        )
        self.order_limit = order_limit
        self.weight_limit = weight_limit
        self.ban_seconds = ban_seconds
        self.withdraw_fee = withdraw_fee
        self.accounts: dict[str, _Account] = {}
        self.faults: list[Fault] = []
        self.prints: dict[str, list[tuple[int, Decimal, Decimal]]] = {s: [] for s in self.markets}
        self.lock = threading.RLock()
        self.server = LoopbackServer()
        self.stats = {"orders_accepted": 0, "http_429": 0, "http_418": 0}
        self._order_windows: dict[tuple[str, int], int] = {}
        self._weight_windows: dict[int, int] = {}
        self._backoff_until = 0.0
        self._banned_until = 0.0
        self._routes()

    # ------------------------------------------------------------------ control

    def now_ms(self) -> int:
        return int(self._clock() * 1000)

    def start(self) -> str:
        return self.server.start()

    def stop(self) -> None:
        self.server.stop()

    @property
    def base_url(self) -> str:
        return self.server.base_url

    def __enter__(self) -> BinanceEmulator:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def add_account(
        self, *, name: str, api_key: str, secret: str, balances: dict[str, Decimal] | None = None
    ) -> None:
        with self.lock:
            self.accounts[api_key] = _Account(name=name, api_key=api_key, secret=secret)
            for asset, amount in (balances or {}).items():
                self.engine.deposit(name, asset, D(amount))

    def inject(self, fault: Fault) -> None:
        with self.lock:
            self.faults.append(fault)

    def external_trade(
        self, symbol: str, price: Decimal, amount: Decimal | None = None
    ) -> list[EngineTrade]:
        """A trade by someone outside: fills our resting orders at or better than `price`."""
        with self.lock:
            trades = self.engine.external_trade(symbol=symbol, price=price, amount=amount)
            self._print(
                symbol,
                price,
                amount if amount is not None else sum((t.amount for t in trades), D(0)),
            )
            return trades

    def credit_deposit(
        self, *, api_key: str, coin: str, amount: Decimal, txid: str, network: str = ""
    ) -> None:
        with self.lock:
            acct = self.accounts[api_key]
            if any(d["txId"] == txid for d in acct.deposits):
                return
            self.engine.deposit(acct.name, coin, amount)
            acct.deposits.append(
                {
                    "id": hashlib.sha256(txid.encode()).hexdigest()[:18],
                    "amount": _s(amount),
                    "coin": coin,
                    "network": network or coin,
                    "status": 1,
                    "address": self._address(acct, coin, network or coin),
                    "addressTag": "",
                    "txId": txid,
                    "insertTime": self.now_ms(),
                    "transferType": 0,
                    "confirmTimes": "1/1",
                    "unlockConfirm": 0,
                    "walletType": 0,
                }
            )

    # ------------------------------------------------------------------ plumbing

    def _routes(self) -> None:
        routes: list[
            tuple[str, str, Callable[[LoopbackRequest, dict[str, str], _Account | None], Any], bool]
        ] = [
            ("GET", "/api/v3/ping", lambda r, p, a: {}, False),
            ("GET", "/api/v3/time", lambda r, p, a: {"serverTime": self.now_ms()}, False),
            ("GET", "/api/v3/exchangeInfo", self._exchange_info, False),
            ("GET", "/api/v3/depth", self._depth, False),
            ("GET", "/api/v3/ticker/24hr", self._ticker_24hr, False),
            ("GET", "/api/v3/ticker/bookTicker", self._book_ticker, False),
            ("GET", "/api/v3/klines", self._klines, False),
            ("POST", "/api/v3/order", self._order_post, True),
            ("GET", "/api/v3/order", self._order_get, True),
            ("DELETE", "/api/v3/order", self._order_delete, True),
            ("GET", "/api/v3/openOrders", self._open_orders, True),
            ("GET", "/api/v3/myTrades", self._my_trades, True),
            ("GET", "/api/v3/account", self._account, True),
            ("GET", "/sapi/v1/capital/deposit/address", self._deposit_address, True),
            ("GET", "/sapi/v1/capital/deposit/hisrec", self._deposit_history, True),
            ("POST", "/sapi/v1/capital/withdraw/apply", self._withdraw_apply, True),
            ("GET", "/sapi/v1/capital/withdraw/history", self._withdraw_history, True),
        ]
        for method, path, fn, signed in routes:
            self.server.add_route(method, path, self._wrap(method, path, fn, signed))

    def _take_fault(self, endpoint: str) -> Fault | None:
        with self.lock:
            for fault in self.faults:
                if fault.count > 0 and fault.endpoint in ("*", endpoint):
                    fault.count -= 1
                    return fault
        return None

    def _wrap(
        self,
        method: str,
        path: str,
        fn: Callable[[LoopbackRequest, dict[str, str], _Account | None], Any],
        signed: bool,
    ) -> Callable[[LoopbackRequest], LoopbackResponse]:
        endpoint = f"{method} {path}"

        def handle(request: LoopbackRequest) -> LoopbackResponse:
            fault = self._take_fault(endpoint)
            if fault is not None and fault.kind == "latency":
                time.sleep(fault.seconds)
            if fault is not None and fault.kind == "status":
                return LoopbackResponse(
                    fault.status, "<html>Service Unavailable</html>", {"Content-Type": "text/html"}
                )
            if fault is not None and fault.kind == "429":
                with self.lock:
                    self.stats["http_429"] += 1
                return LoopbackResponse(
                    429,
                    {"code": -1003, "msg": "Too many requests; injected."},
                    {"Retry-After": str(fault.retry_after)},
                )
            if fault is not None and fault.kind == "hang" and not fault.apply:
                time.sleep(fault.seconds)
            try:
                with self.lock:
                    self._check_weight(endpoint)
                    params = self._params(request)
                    account = self._authenticate(request, params) if signed else None
                    body = fn(request, params, account)
                response = LoopbackResponse(200, body)
            except _Reject as rej:
                response = LoopbackResponse(
                    rej.status, {"code": rej.code, "msg": rej.msg}, rej.headers
                )
            if fault is not None and fault.kind == "hang" and fault.apply:
                time.sleep(fault.seconds)
            return response

        return handle

    def _params(self, request: LoopbackRequest) -> dict[str, str]:
        params = dict(parse_qsl(request.raw_query, keep_blank_values=True))
        if request.body:
            params.update(dict(parse_qsl(request.body.decode(), keep_blank_values=True)))
        return params

    def _check_weight(self, endpoint: str) -> None:
        now = self._clock()
        if now < self._banned_until:
            self.stats["http_418"] += 1
            raise _Reject(
                418,
                -1003,
                "Way too many requests; IP banned.",
                {"Retry-After": str(int(self._banned_until - now) + 1)},
            )
        if self.weight_limit is None:
            return
        if now < self._backoff_until:
            # Ignoring a 429's Retry-After is what gets an IP banned on Binance.
            self._banned_until = now + self.ban_seconds
            self.stats["http_418"] += 1
            raise _Reject(
                418,
                -1003,
                "Way too many requests; IP banned.",
                {"Retry-After": str(self.ban_seconds)},
            )
        limit, seconds = self.weight_limit
        window = int(now // seconds)
        used = self._weight_windows.get(window, 0) + _WEIGHTS.get(endpoint, 1)
        if used > limit:
            retry = int((window + 1) * seconds - now) + 1
            self._backoff_until = (window + 1) * seconds
            self.stats["http_429"] += 1
            raise _Reject(
                429,
                -1003,
                f"Too much request weight used; current limit is {limit} request weight per {seconds:g} SECOND.",
                {"Retry-After": str(retry)},
            )
        self._weight_windows = {window: used}

    def _authenticate(self, request: LoopbackRequest, params: dict[str, str]) -> _Account:
        api_key = request.header("X-MBX-APIKEY")
        if not api_key or not _API_KEY_RE.match(api_key):
            raise _Reject(401, -2014, "API-key format invalid.")
        account = self.accounts.get(api_key)
        if account is None:
            raise _Reject(401, -2015, "Invalid API-key, IP, or permissions for action.")
        total = request.raw_query + (request.body.decode() if request.body else "")
        match = re.search(r"(?:^|&)signature=([0-9a-fA-F]+)", total)
        if match is None:
            raise _Reject(
                400,
                -1102,
                "Mandatory parameter 'signature' was not sent, was empty/null, or malformed.",
            )
        signed = total[: match.start()] + total[match.end() :]
        expected = hmac.new(account.secret.encode(), signed.encode(), hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, match.group(1).lower()):
            raise _Reject(400, -1022, "Signature for this request is not valid.")
        try:
            timestamp = int(params["timestamp"])
            recv_window = int(params.get("recvWindow", "5000"))
        except (KeyError, ValueError) as exc:
            raise _Reject(
                400,
                -1102,
                "Mandatory parameter 'timestamp' was not sent, was empty/null, or malformed.",
            ) from exc
        if recv_window > 60000:
            raise _Reject(400, -1131, "recvWindow must be less than 60000")
        now = self.now_ms()
        if timestamp > now + 1000:
            raise _Reject(
                400, -1021, "Timestamp for this request was 1000ms ahead of the server's time."
            )
        if now - timestamp > recv_window:
            raise _Reject(400, -1021, "Timestamp for this request is outside of the recvWindow.")
        return account

    def _market(self, params: dict[str, str]) -> EmulatedMarket:
        market = self.by_id.get(params.get("symbol", ""))
        if market is None:
            raise _Reject(400, -1121, "Invalid symbol.")
        return market

    def _print(self, symbol: str, price: Decimal, amount: Decimal) -> None:
        self.prints[symbol].append((self.now_ms(), price, amount))

    def _last(self, market: EmulatedMarket) -> Decimal:
        prints = self.prints[market.symbol]
        return prints[-1][1] if prints else market.last_price

    @staticmethod
    def _address(account: _Account, coin: str, network: str) -> str:
        digest = hashlib.sha256(f"{account.api_key}:{coin}:{network}".encode()).hexdigest()
        return "0x" + digest[:40]

    # ------------------------------------------------------------------ public

    def _exchange_info(self, request: LoopbackRequest, params: dict[str, str], _: Any) -> Any:
        rate_limits = []
        if self.weight_limit:
            rate_limits.append(
                {
                    "rateLimitType": "REQUEST_WEIGHT",
                    "interval": "SECOND",
                    "intervalNum": int(self.weight_limit[1]),
                    "limit": self.weight_limit[0],
                }
            )
        if self.order_limit:
            rate_limits.append(
                {
                    "rateLimitType": "ORDERS",
                    "interval": "SECOND",
                    "intervalNum": int(self.order_limit[1]),
                    "limit": self.order_limit[0],
                }
            )
        symbols = []
        for m in self.markets.values():
            symbols.append(
                {
                    "symbol": m.id,
                    "status": "TRADING",
                    "baseAsset": m.base,
                    "baseAssetPrecision": 8,
                    "quoteAsset": m.quote,
                    "quotePrecision": 8,
                    "quoteAssetPrecision": 8,
                    "baseCommissionPrecision": 8,
                    "quoteCommissionPrecision": 8,
                    "orderTypes": [
                        "LIMIT",
                        "LIMIT_MAKER",
                        "MARKET",
                        "STOP_LOSS_LIMIT",
                        "TAKE_PROFIT_LIMIT",
                    ],
                    "icebergAllowed": True,
                    "ocoAllowed": True,
                    "quoteOrderQtyMarketAllowed": True,
                    "allowTrailingStop": True,
                    "cancelReplaceAllowed": True,
                    "isSpotTradingAllowed": True,
                    "isMarginTradingAllowed": False,
                    "filters": [
                        {
                            "filterType": "PRICE_FILTER",
                            "minPrice": _s(m.tick_size),
                            "maxPrice": "1000000.00000000",
                            "tickSize": _s(m.tick_size),
                        },
                        {
                            "filterType": "LOT_SIZE",
                            "minQty": _s(m.min_qty),
                            "maxQty": _s(m.max_qty),
                            "stepSize": _s(m.step_size),
                        },
                        {
                            "filterType": "NOTIONAL",
                            "minNotional": _s(m.min_notional),
                            "applyMinToMarket": True,
                            "maxNotional": "9000000.00000000",
                            "applyMaxToMarket": False,
                            "avgPriceMins": 5,
                        },
                    ],
                    "permissions": [],
                    "permissionSets": [["SPOT"]],
                    "defaultSelfTradePreventionMode": "EXPIRE_MAKER",
                    "allowedSelfTradePreventionModes": [
                        "EXPIRE_TAKER",
                        "EXPIRE_MAKER",
                        "EXPIRE_BOTH",
                    ],
                }
            )
        return {
            "timezone": "UTC",
            "serverTime": self.now_ms(),
            "rateLimits": rate_limits,
            "exchangeFilters": [],
            "symbols": symbols,
        }

    def _depth(self, request: LoopbackRequest, params: dict[str, str], _: Any) -> Any:
        market = self._market(params)
        limit = int(params.get("limit", "100"))
        book = self.engine.books[market.symbol]
        return {
            "lastUpdateId": len(self.engine.trades) + len(self.engine.orders),
            "bids": [[_s(p), _s(a)] for p, a in book.levels("buy", limit)],
            "asks": [[_s(p), _s(a)] for p, a in book.levels("sell", limit)],
        }

    def _ticker_for(self, market: EmulatedMarket) -> dict[str, Any]:
        now = self.now_ms()
        day = [p for p in self.prints[market.symbol] if p[0] >= now - 86_400_000]
        last = self._last(market)
        open_ = day[0][1] if day else last
        book = self.engine.books[market.symbol]
        bid = book.levels("buy", 1)
        ask = book.levels("sell", 1)
        volume = sum((p[2] for p in day), D(0))
        quote_volume = sum((p[1] * p[2] for p in day), D(0))
        return {
            "symbol": market.id,
            "priceChange": _s(last - open_),
            "priceChangePercent": f"{((last - open_) / open_ * 100) if open_ else 0:.3f}",
            "weightedAvgPrice": _s(quote_volume / volume if volume else last),
            "prevClosePrice": _s(open_),
            "lastPrice": _s(last),
            "lastQty": _s(day[-1][2] if day else D(0)),
            "bidPrice": _s(bid[0][0]) if bid else "0.00000000",
            "bidQty": _s(bid[0][1]) if bid else "0.00000000",
            "askPrice": _s(ask[0][0]) if ask else "0.00000000",
            "askQty": _s(ask[0][1]) if ask else "0.00000000",
            "openPrice": _s(open_),
            "highPrice": _s(max((p[1] for p in day), default=last)),
            "lowPrice": _s(min((p[1] for p in day), default=last)),
            "volume": _s(volume),
            "quoteVolume": _s(quote_volume),
            "openTime": now - 86_400_000,
            "closeTime": now,
            "firstId": 0,
            "lastId": len(day),
            "count": len(day),
        }

    def _ticker_24hr(self, request: LoopbackRequest, params: dict[str, str], _: Any) -> Any:
        if "symbol" in params:
            return self._ticker_for(self._market(params))
        return [self._ticker_for(m) for m in self.markets.values()]

    def _book_ticker(self, request: LoopbackRequest, params: dict[str, str], _: Any) -> Any:
        def one(m: EmulatedMarket) -> dict[str, Any]:
            t = self._ticker_for(m)
            return {k: t[k] for k in ("symbol", "bidPrice", "bidQty", "askPrice", "askQty")}

        if "symbol" in params:
            return one(self._market(params))
        return [one(m) for m in self.markets.values()]

    def _klines(self, request: LoopbackRequest, params: dict[str, str], _: Any) -> Any:
        market = self._market(params)
        step = _INTERVAL_MS.get(params.get("interval", "1m"))
        if step is None:
            raise _Reject(400, -1120, "Invalid interval.")
        limit = min(int(params.get("limit", "500")), 1000)
        start = int(params["startTime"]) if "startTime" in params else None
        buckets: dict[int, list[tuple[int, Decimal, Decimal]]] = {}
        for ts, price, amount in self.prints[market.symbol]:
            if start is not None and ts < start - ts % step and ts < start:
                continue
            buckets.setdefault(ts - ts % step, []).append((ts, price, amount))
        rows = []
        for open_time in sorted(buckets):
            if start is not None and open_time + step <= start:
                continue
            prints = buckets[open_time]
            prices = [p[1] for p in prints]
            volume = sum((p[2] for p in prints), D(0))
            quote = sum((p[1] * p[2] for p in prints), D(0))
            rows.append(
                [
                    open_time,
                    _s(prices[0]),
                    _s(max(prices)),
                    _s(min(prices)),
                    _s(prices[-1]),
                    _s(volume),
                    open_time + step - 1,
                    _s(quote),
                    len(prints),
                    "0",
                    "0",
                    "0",
                ]
            )
        return rows[:limit] if start is not None else rows[-limit:]

    # ------------------------------------------------------------------ trading

    def _check_order_rate(self, account: _Account) -> None:
        if self.order_limit is None:
            return
        limit, seconds = self.order_limit
        window = int(self._clock() // seconds)
        key = (account.name, window)
        count = self._order_windows.get(key, 0)
        if count >= limit:
            self.stats["http_429"] += 1
            raise _Reject(
                429,
                -1015,
                f"Too many new orders; current limit is {limit} orders per {seconds:g} SECOND.",
            )
        self._order_windows = {k: v for k, v in self._order_windows.items() if k[1] == window}
        self._order_windows[key] = count + 1

    @staticmethod
    def _dec(params: dict[str, str], name: str) -> Decimal:
        try:
            return D(params[name])
        except (KeyError, InvalidOperation) as exc:
            raise _Reject(
                400,
                -1102,
                f"Mandatory parameter '{name}' was not sent, was empty/null, or malformed.",
            ) from exc

    def _order_json(
        self, order: EngineOrder, market: EmulatedMarket, *, full: bool = False
    ) -> dict[str, Any]:
        status = {
            "open": "PARTIALLY_FILLED" if order.filled else "NEW",
            "closed": "FILLED",
            "canceled": "CANCELED",
        }[order.status]
        body: dict[str, Any] = {
            "symbol": market.id,
            "orderId": int(order.id),
            "orderListId": -1,
            "clientOrderId": order.client_order_id or "",
            "price": _s(order.price),
            "origQty": _s(order.amount),
            "executedQty": _s(order.filled),
            "cummulativeQuoteQty": _s(order.cost),
            "status": status,
            "timeInForce": "GTC",
            "type": "LIMIT_MAKER" if order.post_only else "LIMIT",
            "side": order.side.upper(),
            "stopPrice": "0.00000000",
            "icebergQty": "0.00000000",
            "time": order.created_ms,
            "updateTime": order.updated_ms,
            "isWorking": True,
            "workingTime": order.created_ms,
            "origQuoteOrderQty": "0.00000000",
            "selfTradePreventionMode": "NONE",
        }
        if full:
            body["transactTime"] = order.updated_ms
        return body

    def _order_post(
        self, request: LoopbackRequest, params: dict[str, str], account: _Account | None
    ) -> Any:
        assert account is not None
        market = self._market(params)
        side = params.get("side", "").lower()
        order_type = params.get("type", "")
        if side not in ("buy", "sell"):
            raise _Reject(400, -1117, "Invalid side.")
        if order_type not in ("LIMIT", "LIMIT_MAKER"):
            raise _Reject(400, -1116, "Invalid orderType.")
        if order_type == "LIMIT" and params.get("timeInForce") not in ("GTC", None):
            raise _Reject(400, -1115, "Invalid timeInForce.")
        price = self._dec(params, "price")
        quantity = self._dec(params, "quantity")
        if price < market.tick_size or price % market.tick_size != 0:
            raise _Reject(400, -1013, "Filter failure: PRICE_FILTER")
        if (
            quantity < market.min_qty
            or quantity > market.max_qty
            or quantity % market.step_size != 0
        ):
            raise _Reject(400, -1013, "Filter failure: LOT_SIZE")
        if price * quantity < market.min_notional:
            raise _Reject(400, -1013, "Filter failure: NOTIONAL")
        client_id = params.get("newClientOrderId") or f"emu{len(self.engine.orders) + 1}"
        if not re.fullmatch(r"[.A-Za-z0-9_-]{1,36}", client_id):
            raise _Reject(400, -1100, "Illegal characters found in parameter 'newClientOrderId'.")
        if self.engine.order_by_client_id(account.name, client_id) is not None:
            # Binance only rejects a client order id that is still open; the emulator is
            # stricter (any known id), matching our "unique per account" rule.
            raise _Reject(400, -2010, "Duplicate order sent.")
        self._check_order_rate(account)
        try:
            result = self.engine.place(
                account=account.name,
                symbol=market.symbol,
                side=side,
                price=price,
                amount=quantity,
                client_order_id=client_id,
                post_only=order_type == "LIMIT_MAKER",
            )
        except InsufficientBalance as exc:
            raise _Reject(
                400, -2010, "Account has insufficient balance for requested action."
            ) from exc
        except PostOnlyWouldCross as exc:
            raise _Reject(400, -2010, "Order would immediately match and take.") from exc
        except DuplicateClientOrderId as exc:
            raise _Reject(400, -2010, "Duplicate order sent.") from exc
        self.stats["orders_accepted"] += 1
        own = [t for t in result.trades if t.order_id == result.order.id]
        if own:
            self._print(market.symbol, own[-1].price, sum((t.amount for t in own), D(0)))
        body = self._order_json(result.order, market, full=True)
        body["fills"] = [
            {
                "price": _s(t.price),
                "qty": _s(t.amount),
                "commission": _s(t.fee),
                "commissionAsset": t.fee_asset,
                "tradeId": int(t.id),
            }
            for t in own
        ]
        return body

    def _find(
        self, account: _Account, market: EmulatedMarket, params: dict[str, str]
    ) -> EngineOrder | None:
        order: EngineOrder | None = None
        if params.get("orderId"):
            order = self.engine.orders.get(params["orderId"])
        elif params.get("origClientOrderId"):
            order = self.engine.order_by_client_id(account.name, params["origClientOrderId"])
        else:
            raise _Reject(
                400,
                -1102,
                "Param 'origClientOrderId' or 'orderId' must be sent, but both were empty/null!",
            )
        if order is None or order.account != account.name or order.symbol != market.symbol:
            return None
        return order

    def _order_get(
        self, request: LoopbackRequest, params: dict[str, str], account: _Account | None
    ) -> Any:
        assert account is not None
        market = self._market(params)
        order = self._find(account, market, params)
        if order is None:
            raise _Reject(400, -2013, "Order does not exist.")
        return self._order_json(order, market)

    def _order_delete(
        self, request: LoopbackRequest, params: dict[str, str], account: _Account | None
    ) -> Any:
        assert account is not None
        market = self._market(params)
        order = self._find(account, market, params)
        if order is None or order.status != "open":
            raise _Reject(400, -2011, "Unknown order sent.")
        try:
            self.engine.cancel(account=account.name, symbol=market.symbol, order_id=order.id)
        except UnknownOrder as exc:
            raise _Reject(400, -2011, "Unknown order sent.") from exc
        body = self._order_json(order, market)
        body["origClientOrderId"] = order.client_order_id or ""
        body["clientOrderId"] = params.get("newClientOrderId") or f"cancel{order.id}"
        body["transactTime"] = self.now_ms()
        return body

    def _open_orders(
        self, request: LoopbackRequest, params: dict[str, str], account: _Account | None
    ) -> Any:
        assert account is not None
        market = self._market(params) if "symbol" in params else None
        return [
            self._order_json(o, self.markets[o.symbol])
            for o in self.engine.orders.values()
            if o.account == account.name
            and o.status == "open"
            and (market is None or o.symbol == market.symbol)
        ]

    def _my_trades(
        self, request: LoopbackRequest, params: dict[str, str], account: _Account | None
    ) -> Any:
        assert account is not None
        market = self._market(params)
        start = int(params.get("startTime", "0"))
        from_id = int(params.get("fromId", "0"))
        limit = min(int(params.get("limit", "500")), 1000)
        rows = [
            t
            for t in self.engine.trades
            if t.account == account.name
            and t.symbol == market.symbol
            and t.timestamp_ms >= start
            and int(t.id) >= from_id
        ]
        return [
            {
                "symbol": market.id,
                "id": int(t.id),
                "orderId": int(t.order_id),
                "orderListId": -1,
                "price": _s(t.price),
                "qty": _s(t.amount),
                "quoteQty": _s(t.quote_amount),
                "commission": _s(t.fee),
                "commissionAsset": t.fee_asset,
                "time": t.timestamp_ms,
                "isBuyer": t.side == "buy",
                "isMaker": t.taker_or_maker == "maker",
                "isBestMatch": True,
            }
            for t in rows[:limit]
        ]

    def _account(
        self, request: LoopbackRequest, params: dict[str, str], account: _Account | None
    ) -> Any:
        assert account is not None
        balances = [
            {"asset": asset, "free": _s(fu[0]), "locked": _s(fu[1])}
            for (name, asset), fu in sorted(self.engine.balances.items())
            if name == account.name
        ]
        return {
            "makerCommission": 10,
            "takerCommission": 10,
            "buyerCommission": 0,
            "sellerCommission": 0,
            "canTrade": True,
            "canWithdraw": True,
            "canDeposit": True,
            "brokered": False,
            "requireSelfTradePrevention": False,
            "preventSor": False,
            "updateTime": self.now_ms(),
            "accountType": "SPOT",
            "balances": balances,
            "permissions": ["SPOT"],
            "uid": int(hashlib.sha256(account.name.encode()).hexdigest()[:8], 16),
        }

    # ------------------------------------------------------------------ wallet

    def _deposit_address(
        self, request: LoopbackRequest, params: dict[str, str], account: _Account | None
    ) -> Any:
        assert account is not None
        coin = params.get("coin", "")
        if not coin:
            raise _Reject(
                400, -1102, "Mandatory parameter 'coin' was not sent, was empty/null, or malformed."
            )
        network = params.get("network", coin)
        return {
            "address": self._address(account, coin, network),
            "coin": coin,
            "tag": "",
            "url": "",
        }

    @staticmethod
    def _window(
        rows: list[dict[str, Any]], params: dict[str, str], time_key: str
    ) -> list[dict[str, Any]]:
        coin = params.get("coin")
        start = int(params.get("startTime", "0"))
        end = int(params.get("endTime", str(2**62)))
        return [
            r
            for r in rows
            if (coin is None or r["coin"] == coin) and start <= int(r[time_key]) <= end
        ]

    def _deposit_history(
        self, request: LoopbackRequest, params: dict[str, str], account: _Account | None
    ) -> Any:
        assert account is not None
        return self._window(account.deposits, params, "insertTime")

    def _withdraw_apply(
        self, request: LoopbackRequest, params: dict[str, str], account: _Account | None
    ) -> Any:
        assert account is not None
        coin = params.get("coin", "")
        address = params.get("address", "")
        amount = self._dec(params, "amount")
        if not coin or not address or amount <= 0:
            raise _Reject(
                400, -1102, "Mandatory parameter was not sent, was empty/null, or malformed."
            )
        try:
            self.engine.withdraw(account.name, coin, amount)
        except EngineError as exc:
            raise _Reject(400, -4026, "User has insufficient balance") from exc
        withdraw_id = hashlib.sha256(
            f"{account.name}:{len(account.withdrawals)}:{coin}".encode()
        ).hexdigest()[:32]
        now = self.now_ms()
        applied = datetime.fromtimestamp(now / 1000, tz=UTC).strftime("%Y-%m-%d %H:%M:%S")
        account.withdrawals.append(
            {
                "id": withdraw_id,
                "amount": _s(amount - self.withdraw_fee),
                "transactionFee": _s(self.withdraw_fee),
                "coin": coin,
                "status": 6,  # completed
                "address": address,
                "addressTag": params.get("addressTag", ""),
                "txId": "0x" + hashlib.sha256(withdraw_id.encode()).hexdigest(),
                "applyTime": applied,
                "completeTime": applied,
                "network": params.get("network", coin),
                "transferType": 0,
                "withdrawOrderId": params.get("withdrawOrderId", ""),
                "info": "",
                "confirmNo": 1,
                "walletType": 0,
                "txKey": "",
                "_time": now,
            }
        )
        return {"id": withdraw_id}

    def _withdraw_history(
        self, request: LoopbackRequest, params: dict[str, str], account: _Account | None
    ) -> Any:
        assert account is not None
        rows = self._window(account.withdrawals, params, "_time")
        if params.get("withdrawOrderId"):
            rows = [r for r in rows if r["withdrawOrderId"] == params["withdrawOrderId"]]
        return [{k: v for k, v in r.items() if not k.startswith("_")} for r in rows]


def default_markets() -> list[EmulatedMarket]:
    return [
        EmulatedMarket(
            "BTC/USDT",
            "BTC",
            "USDT",
            tick_size=D("0.01"),
            step_size=D("0.00001"),
            min_qty=D("0.00001"),
            min_notional=D("5"),
            last_price=D("60000"),
        ),
        EmulatedMarket(
            "ETH/USDT",
            "ETH",
            "USDT",
            tick_size=D("0.01"),
            step_size=D("0.0001"),
            min_qty=D("0.0001"),
            min_notional=D("5"),
            last_price=D("3000"),
        ),
    ]
