"""The ccxt implementation of `VenueGateway` (ccxt pinned to 4.5.90 in pyproject.toml).

Design:
- One ccxt client per gateway (one venue account). ccxt's own in-process throttle is
  switched off: a thin subclass of the ccxt class overrides `fetch2` so that *every* HTTP
  request first takes its weight (ccxt's per-endpoint cost scaled to the venue's weight
  unit) and, for a new order, an order slot from the shared `VenueRateLimiter` — shared by
  all processes, which ccxt's per-instance limiter cannot be.
- Prices are rounded with `price_to_precision` and amounts truncated with
  `amount_to_precision` (never rounding an amount up past what the caller can afford),
  then min amount / min notional are checked before anything is sent.
- Client order ids: ours are 1..28 ASCII letters/digits (validated here); they go out as
  binance's `newClientOrderId` (ccxt's `clientOrderId` elsewhere). Post-only is ccxt's
  unified `postOnly`, which binance sends as LIMIT_MAKER.
- Every ccxt exception is translated by `_translate` into the taxonomy of `base.py`; a 429
  or 418 also sets the shared "blocked until" key from the response's Retry-After.
- URLs can be pointed at the loopback emulator: `base_url` replaces the scheme and host of
  every entry of `urls['api']`, keeping the path.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, TypeVar
from urllib.parse import urlsplit

import ccxt
import requests
import structlog

from exchanges.venues.base import (
    AuthenticationFailed,
    Balance,
    BookLevel,
    Candle,
    DepositAddress,
    DuplicateClientOrderId,
    FinalVenueError,
    InsufficientFunds,
    InvalidOrder,
    MarketInfo,
    OrderBook,
    OrderNotFound,
    OrderSide,
    OrderStatus,
    RateLimited,
    Ticker,
    TransferStatus,
    VenueError,
    VenueNetworkError,
    VenueOrder,
    VenueTimeout,
    VenueTrade,
    VenueTransfer,
    VenueUnavailable,
)
from exchanges.venues.ratelimit import VenueRateLimiter

log = structlog.get_logger(__name__)
T = TypeVar("T")

CLIENT_ORDER_ID_RE = re.compile(r"^[A-Za-z0-9]{1,28}$")


def validate_client_order_id(client_order_id: str) -> str:
    if not CLIENT_ORDER_ID_RE.match(client_order_id or ""):
        raise InvalidOrder(
            f"client order id must be 1..28 letters or digits, got {client_order_id!r}"
        )
    return client_order_id


def _dec(value: Any) -> Decimal | None:
    if value is None or value == "":
        return None
    return Decimal(str(value))


def _dec0(value: Any) -> Decimal:
    return _dec(value) or Decimal(0)


def _ts(ms: Any) -> datetime:
    return datetime.fromtimestamp((int(ms) if ms else 0) / 1000, tz=UTC)


# Options that keep binance's market loading to the spot endpoints the emulator serves:
# no futures/options exchangeInfo, no margin pair lists, no private capital/config call.
BINANCE_OPTIONS: dict[str, Any] = {
    "fetchMarkets": {"types": ["spot"]},
    "fetchMargins": False,
    "fetchCurrencies": False,
    "warnOnFetchOpenOrdersWithoutSymbol": False,
    "defaultType": "spot",
    "adjustForTimeDifference": False,
}

_SUBCLASSES: dict[str, type] = {}


def _client_class(ccxt_id: str) -> type:
    """The ccxt class with `fetch2` routed through our shared limiter."""
    if ccxt_id not in _SUBCLASSES:
        base = getattr(ccxt, ccxt_id, None)
        if base is None:
            raise VenueError(f"unknown ccxt exchange id {ccxt_id!r}")

        def fetch2(
            self: Any,
            path: Any,
            api: Any = "public",
            method: str = "GET",
            params: Any = None,
            config: Any = None,
        ) -> Any:  # noqa: B006
            params = {} if params is None else params
            config = {} if config is None else config
            hook = getattr(self, "_mm_before_request", None)
            if hook is not None:
                cost = self.calculate_rate_limiter_cost(api, method, path, params, config)
                hook(path=path, api=api, method=method, cost=cost)
            return base.fetch2(self, path, api, method, params, config)

        _SUBCLASSES[ccxt_id] = type(f"Limited_{ccxt_id}", (base,), {"fetch2": fetch2})
    return _SUBCLASSES[ccxt_id]


def _point_at(urls: dict[str, Any], base_url: str) -> dict[str, Any]:
    """Replace scheme+host of every API url with `base_url`, keeping the path."""
    api = urls.get("api")
    if isinstance(api, str):
        return {**urls, "api": base_url.rstrip("/") + urlsplit(api).path}
    out: dict[str, Any] = {}
    for key, value in (api or {}).items():
        if isinstance(value, str):
            out[key] = base_url.rstrip("/") + urlsplit(value).path
        else:
            out[key] = value
    return {**urls, "api": out}


_BINANCE_CODES: dict[str, type[VenueError]] = {
    "-1003": RateLimited,
    "-1015": RateLimited,
    "-1013": InvalidOrder,
    "-1021": VenueNetworkError,  # timestamp outside recvWindow: rejected unexecuted, retry
    "-1022": AuthenticationFailed,
    "-2014": AuthenticationFailed,
    "-2015": AuthenticationFailed,
    "-2011": OrderNotFound,
    "-2013": OrderNotFound,
}


class CcxtGateway:
    """`VenueGateway` over one ccxt client. Keep one per (venue, account) and reuse it."""

    def __init__(
        self,
        *,
        venue: str,
        account: str,
        ccxt_id: str,
        api_key: str = "",
        secret: str = "",
        password: str = "",
        base_url: str | None = None,
        timeout_ms: int = 10_000,
        limiter: VenueRateLimiter | None = None,
        rate_limit_venue: str | None = None,
        ccxt_options: Mapping[str, Any] | None = None,
        sleep: Callable[[float], None] | None = None,
    ) -> None:
        self.venue = venue
        self.account = account
        self.ccxt_id = ccxt_id
        self.limiter = limiter
        self.rate_limit_venue = rate_limit_venue or ccxt_id
        options: dict[str, Any] = dict(BINANCE_OPTIONS) if ccxt_id == "binance" else {}
        options.update(ccxt_options or {})
        cls = _client_class(ccxt_id)
        client = cls(
            {
                "apiKey": api_key,
                "secret": secret,
                "password": password,
                "timeout": timeout_ms,
                # The shared limiter paces requests; ccxt's per-instance one would only add
                # a second, process-local delay (docs/venues.md, "Rate limiter").
                "enableRateLimit": False,
                "options": options,
            }
        )
        if base_url:
            client.urls = _point_at(client.urls, base_url)
        client._mm_before_request = self._before_request
        self.client = client
        self._markets: dict[str, MarketInfo] | None = None

    # ------------------------------------------------------------------ plumbing

    def _before_request(self, *, path: str, api: Any, method: str, cost: float) -> None:
        if self.limiter is None:
            return
        limits = self.limiter.limits(self.rate_limit_venue)
        is_new_order = method == "POST" and str(path).rstrip("/").split("/")[-1] in {
            "order",
            "orders",
            "place-order",
        }
        self.limiter.acquire(
            venue=self.rate_limit_venue,
            account=self.account,
            weight=float(cost or 1) * limits.weight_per_ccxt_cost,
            orders=1 if is_new_order else 0,
        )

    def _retry_after(self) -> float | None:
        headers = self.client.last_response_headers or {}
        for key, value in headers.items():
            if key.lower() == "retry-after":
                try:
                    return float(value)
                except ValueError:
                    return None
        return None

    def _translate(self, exc: Exception) -> VenueError:
        message = str(exc)
        kw: dict[str, Any] = {"venue": self.venue}
        if isinstance(exc, ccxt.RequestTimeout):
            return VenueTimeout(message, **kw)
        if isinstance(exc, ccxt.DDoSProtection):  # RateLimitExceeded is a subclass
            retry_after = self._retry_after()
            if self.limiter is not None:
                self.limiter.block(venue=self.rate_limit_venue, seconds=retry_after or 1.0)
            return RateLimited(message, retry_after=retry_after, **kw)
        if isinstance(exc, ccxt.ExchangeNotAvailable):  # OnMaintenance is a subclass
            return VenueUnavailable(message, **kw)
        if isinstance(exc, ccxt.NetworkError):  # InvalidNonce included: not executed
            return VenueNetworkError(message, **kw)
        if isinstance(exc, ccxt.DuplicateOrderId) or "Duplicate order" in message:
            return DuplicateClientOrderId(message, **kw)
        if isinstance(exc, ccxt.InsufficientFunds):
            return InsufficientFunds(message, **kw)
        if isinstance(exc, ccxt.OrderNotFound):
            return OrderNotFound(message, **kw)
        if isinstance(
            exc, ccxt.AuthenticationError | ccxt.PermissionDenied | ccxt.AccountSuspended
        ):
            return AuthenticationFailed(message, **kw)
        if isinstance(
            exc, ccxt.InvalidOrder | ccxt.BadSymbol | ccxt.BadRequest | ccxt.ArgumentsRequired
        ):
            return InvalidOrder(message, **kw)
        # Binance's generic errors carry a code ccxt's per-market-type table may not map.
        match = re.search(r'"code":\s*(-?\d+)', message)
        if match and match.group(1) in _BINANCE_CODES:
            cls = _BINANCE_CODES[match.group(1)]
            if cls is RateLimited:
                return RateLimited(message, retry_after=self._retry_after(), **kw)
            return cls(message, code=int(match.group(1)), **kw)
        if isinstance(exc, ccxt.OperationFailed):
            return VenueUnavailable(message, **kw)
        if isinstance(exc, ccxt.BaseError):
            return FinalVenueError(message, **kw)
        if isinstance(exc, OSError | requests.RequestException):
            # A transport error escaping ccxt: the outcome is unknown, look it up and retry.
            return VenueNetworkError(f"{type(exc).__name__}: {message}", **kw)
        # A bug (ours or ccxt's) is not made retryable: retrying would repeat it forever.
        return FinalVenueError(f"{type(exc).__name__}: {message}", **kw)

    @contextmanager
    def _calling(self, operation: str) -> Iterator[None]:
        try:
            yield
        except VenueError:
            raise
        except Exception as exc:
            error = self._translate(exc)
            log.info(
                "venue_call_failed",
                venue=self.venue,
                account=self.account,
                operation=operation,
                error=type(error).__name__,
                retryable=error.retryable,
            )
            raise error from exc

    # ------------------------------------------------------------------ markets

    def load_markets(self, *, reload: bool = False) -> dict[str, MarketInfo]:
        if self._markets is not None and not reload:
            return self._markets
        with self._calling("load_markets"):
            raw = self.client.load_markets(reload)
        markets: dict[str, MarketInfo] = {}
        for symbol, m in raw.items():
            if not m.get("spot", True):
                continue
            markets[symbol] = MarketInfo(
                symbol=symbol,
                base=m["base"],
                quote=m["quote"],
                price_increment=self._increment(m["precision"].get("price")),
                amount_increment=self._increment(m["precision"].get("amount")),
                min_amount=_dec((m.get("limits") or {}).get("amount", {}).get("min")),
                max_amount=_dec((m.get("limits") or {}).get("amount", {}).get("max")),
                min_notional=_dec((m.get("limits") or {}).get("cost", {}).get("min")),
                maker_fee=_dec(m.get("maker")) or Decimal("0.001"),
                taker_fee=_dec(m.get("taker")) or Decimal("0.001"),
                active=m.get("active") is not False,
            )
        self._markets = markets
        return markets

    def _increment(self, precision: Any) -> Decimal:
        value = _dec(precision)
        if value is None:
            return Decimal("0.00000001")
        if self.client.precisionMode == ccxt.TICK_SIZE:
            return value
        # DECIMAL_PLACES / SIGNIFICANT_DIGITS: a number of digits.
        return Decimal(1).scaleb(-int(value))

    def market(self, symbol: str) -> MarketInfo:
        markets = self.load_markets()
        if symbol not in markets:
            raise InvalidOrder(f"unknown market {symbol}", venue=self.venue)
        return markets[symbol]

    def fetch_order_book(self, symbol: str, *, limit: int = 20) -> OrderBook:
        with self._calling("fetch_order_book"):
            book = self.client.fetch_order_book(symbol, limit)
        return OrderBook(
            symbol=symbol,
            bids=tuple(BookLevel(_dec0(p), _dec0(a)) for p, a, *_ in book["bids"]),
            asks=tuple(BookLevel(_dec0(p), _dec0(a)) for p, a, *_ in book["asks"]),
            timestamp=_ts(book.get("timestamp") or self.client.milliseconds()),
        )

    def _ticker(self, symbol: str, t: Mapping[str, Any]) -> Ticker:
        return Ticker(
            symbol=symbol,
            bid=_dec(t.get("bid")),
            ask=_dec(t.get("ask")),
            last=_dec(t.get("last")),
            base_volume=_dec(t.get("baseVolume")),
            quote_volume=_dec(t.get("quoteVolume")),
            timestamp=_ts(t.get("timestamp") or self.client.milliseconds()),
        )

    def fetch_ticker(self, symbol: str) -> Ticker:
        with self._calling("fetch_ticker"):
            raw = self.client.fetch_ticker(symbol)
        return self._ticker(symbol, raw)

    def fetch_tickers(self, symbols: list[str] | None = None) -> dict[str, Ticker]:
        with self._calling("fetch_tickers"):
            raw = self.client.fetch_tickers(symbols)
        return {s: self._ticker(s, t) for s, t in raw.items()}

    def fetch_ohlcv(
        self,
        symbol: str,
        *,
        timeframe: str = "1m",
        since_ms: int | None = None,
        limit: int | None = None,
    ) -> list[Candle]:
        with self._calling("fetch_ohlcv"):
            rows = self.client.fetch_ohlcv(symbol, timeframe, since_ms, limit)
        return [
            Candle(int(r[0]), _dec0(r[1]), _dec0(r[2]), _dec0(r[3]), _dec0(r[4]), _dec0(r[5]))
            for r in rows
        ]

    # ------------------------------------------------------------------ orders

    def _order(self, raw: Mapping[str, Any], fallback_symbol: str) -> VenueOrder:
        amount = _dec0(raw.get("amount"))
        filled = _dec0(raw.get("filled"))
        remaining = _dec(raw.get("remaining"))
        status = raw.get("status") or "open"
        return VenueOrder(
            id=str(raw.get("id")),
            client_order_id=raw.get("clientOrderId"),
            symbol=raw.get("symbol") or fallback_symbol,
            side=OrderSide(raw.get("side") or "buy"),
            price=_dec0(raw.get("price")),
            amount=amount,
            filled=filled,
            remaining=remaining if remaining is not None else amount - filled,
            status=OrderStatus(status)
            if status in OrderStatus._value2member_map_
            else OrderStatus.OPEN,
            created_at=_ts(raw.get("timestamp")),
            average=_dec(raw.get("average")),
            post_only=bool(raw.get("postOnly")),
        )

    def _client_id_param(self, client_order_id: str, *, lookup: bool) -> dict[str, str]:
        if self.ccxt_id == "binance":
            return {("origClientOrderId" if lookup else "newClientOrderId"): client_order_id}
        return {"clientOrderId": client_order_id}

    def rounded(self, symbol: str, *, price: Decimal, amount: Decimal) -> tuple[Decimal, Decimal]:
        """Price rounded to the tick, amount truncated to the lot, with the market's rules."""
        self.load_markets()
        with self._calling("precision"):
            price_r = Decimal(self.client.price_to_precision(symbol, str(price)))
            amount_r = Decimal(self.client.amount_to_precision(symbol, str(amount)))
        return price_r, amount_r

    def place_limit_order(
        self,
        *,
        symbol: str,
        side: OrderSide,
        price: Decimal,
        amount: Decimal,
        client_order_id: str,
        post_only: bool = False,
    ) -> VenueOrder:
        validate_client_order_id(client_order_id)
        market = self.market(symbol)
        try:
            price_r, amount_r = self.rounded(symbol, price=price, amount=amount)
        except InvalidOrder:
            raise
        except VenueError as exc:  # ccxt raises InvalidOrder for an amount that truncates to 0
            raise InvalidOrder(str(exc), venue=self.venue) from exc
        if price_r <= 0 or amount_r <= 0:
            raise InvalidOrder(f"price {price} / amount {amount} round to zero", venue=self.venue)
        if market.min_amount is not None and amount_r < market.min_amount:
            raise InvalidOrder(
                f"amount {amount_r} below minimum {market.min_amount}", venue=self.venue
            )
        if market.min_notional is not None and price_r * amount_r < market.min_notional:
            raise InvalidOrder(
                f"notional {price_r * amount_r} below minimum {market.min_notional}",
                venue=self.venue,
            )
        params: dict[str, Any] = self._client_id_param(client_order_id, lookup=False)
        if post_only:
            params["postOnly"] = True
        with self._calling("place_limit_order"):
            raw = self.client.create_order(
                symbol, "limit", str(side), str(amount_r), str(price_r), params
            )
        order = self._order(raw, symbol)
        log.info(
            "venue_order_placed",
            venue=self.venue,
            account=self.account,
            symbol=symbol,
            client_order_id=client_order_id,
            order_id=order.id,
        )
        return order

    def cancel_order(
        self, *, symbol: str, order_id: str | None = None, client_order_id: str | None = None
    ) -> VenueOrder:
        params = self._lookup_params(order_id, client_order_id)
        with self._calling("cancel_order"):
            raw = self.client.cancel_order(order_id or "", symbol, params)
        info = raw.get("info") or {}
        if isinstance(info, Mapping) and info.get("origClientOrderId"):
            # Binance answers a cancel with the cancel request's own id as clientOrderId.
            raw = {**raw, "clientOrderId": info["origClientOrderId"]}
        return self._order(raw, symbol)

    def _lookup_params(self, order_id: str | None, client_order_id: str | None) -> dict[str, str]:
        if order_id:
            return {}
        if client_order_id:
            return self._client_id_param(client_order_id, lookup=True)
        raise InvalidOrder("order_id or client_order_id is required", venue=self.venue)

    def fetch_order(
        self, *, symbol: str, order_id: str | None = None, client_order_id: str | None = None
    ) -> VenueOrder:
        params = self._lookup_params(order_id, client_order_id)
        with self._calling("fetch_order"):
            raw = self.client.fetch_order(order_id or "", symbol, params)
        return self._order(raw, symbol)

    def fetch_open_orders(self, symbol: str | None = None) -> list[VenueOrder]:
        with self._calling("fetch_open_orders"):
            rows = self.client.fetch_open_orders(symbol)
        return [self._order(r, symbol or "") for r in rows]

    def fetch_my_trades(
        self, symbol: str, *, since: datetime | None = None, limit: int | None = None
    ) -> list[VenueTrade]:
        since_ms = int(since.timestamp() * 1000) if since else None
        with self._calling("fetch_my_trades"):
            rows = self.client.fetch_my_trades(symbol, since_ms, limit)
        out = []
        for r in rows:
            fee = r.get("fee") or {}
            out.append(
                VenueTrade(
                    id=str(r["id"]),
                    order_id=str(r.get("order")),
                    client_order_id=r.get("clientOrderId"),
                    symbol=r.get("symbol") or symbol,
                    side=OrderSide(r["side"]),
                    price=_dec0(r.get("price")),
                    amount=_dec0(r.get("amount")),
                    fee_cost=_dec0(fee.get("cost")),
                    fee_currency=fee.get("currency") or "",
                    taker_or_maker=r.get("takerOrMaker") or "taker",
                    timestamp=_ts(r.get("timestamp")),
                )
            )
        return out

    def fetch_balances(self) -> dict[str, Balance]:
        with self._calling("fetch_balances"):
            raw = self.client.fetch_balance()
        out = {}
        for asset in (raw.get("total") or {}).keys():
            entry = raw.get(asset) or {}
            free, used, total = (
                _dec0(entry.get("free")),
                _dec0(entry.get("used")),
                _dec(entry.get("total")),
            )
            out[asset] = Balance(
                asset=asset, free=free, used=used, total=total if total is not None else free + used
            )
        return out

    # ------------------------------------------------------------------ wallet

    def fetch_deposit_address(self, asset: str, *, network: str | None = None) -> DepositAddress:
        params = {"network": network} if network else {}
        with self._calling("fetch_deposit_address"):
            raw = self.client.fetch_deposit_address(asset, params)
        return DepositAddress(
            asset=asset,
            network=raw.get("network") or network,
            address=raw["address"],
            tag=raw.get("tag") or None,
        )

    def _transfer(self, r: Mapping[str, Any]) -> VenueTransfer:
        status = r.get("status") or "pending"
        fee = r.get("fee") or {}
        info = r.get("info") or {}
        return VenueTransfer(
            id=str(r.get("id")),
            asset=r.get("currency") or "",
            amount=_dec0(r.get("amount")),
            status=TransferStatus(status)
            if status in TransferStatus._value2member_map_
            else TransferStatus.PENDING,
            timestamp=_ts(r.get("timestamp")),
            network=r.get("network"),
            address=r.get("address"),
            tag=r.get("tag") or None,
            txid=r.get("txid") or None,
            fee=_dec0(fee.get("cost")),
            client_id=(info.get("withdrawOrderId") or None) if isinstance(info, Mapping) else None,
        )

    def fetch_deposits(
        self, asset: str | None = None, *, since: datetime | None = None
    ) -> list[VenueTransfer]:
        since_ms = int(since.timestamp() * 1000) if since else None
        with self._calling("fetch_deposits"):
            rows = self.client.fetch_deposits(asset, since_ms)
        return [self._transfer(r) for r in rows]

    def fetch_withdrawals(
        self, asset: str | None = None, *, since: datetime | None = None
    ) -> list[VenueTransfer]:
        since_ms = int(since.timestamp() * 1000) if since else None
        with self._calling("fetch_withdrawals"):
            rows = self.client.fetch_withdrawals(asset, since_ms)
        return [self._transfer(r) for r in rows]

    def _withdrawal_by_client_id(self, asset: str, client_id: str) -> VenueTransfer | None:
        params = {"withdrawOrderId": client_id} if self.ccxt_id == "binance" else {}
        with self._calling("fetch_withdrawals"):
            rows = self.client.fetch_withdrawals(asset, None, None, params)
        for r in rows:
            transfer = self._transfer(r)
            if transfer.client_id == client_id:
                return transfer
        return None

    def withdraw(
        self,
        *,
        asset: str,
        amount: Decimal,
        address: str,
        client_id: str,
        network: str | None = None,
        tag: str | None = None,
    ) -> VenueTransfer:
        """Idempotent by `client_id` (binance `withdrawOrderId`): a withdrawal the venue
        already lists under it is returned instead of applying again."""
        existing = self._withdrawal_by_client_id(asset, client_id)
        if existing is not None:
            return existing
        params: dict[str, Any] = (
            {"withdrawOrderId": client_id} if self.ccxt_id == "binance" else {"clientId": client_id}
        )
        if network:
            params["network"] = network
        if tag:
            params["tag"] = tag  # ccxt's unified place for a memo/destination tag
        with self._calling("withdraw"):
            raw = self.client.withdraw(asset, str(amount), address, params=params)
        log.info(
            "venue_withdraw_applied",
            venue=self.venue,
            account=self.account,
            asset=asset,
            client_id=client_id,
        )
        found = self._withdrawal_by_client_id(asset, client_id)
        return (
            found
            if found is not None
            else self._transfer({**raw, "currency": asset, "amount": str(amount)})
        )
