"""Orders and fills through ccxt, with the venue profile's client-id parameters.

- Place: price rounded to the tick, amount truncated to the lot (never rounded up past what
  the caller reserved), min amount / min notional checked before anything is sent.
- A partial answer (OKX, Bybit and KuCoin answer a place or a cancel with ids only) is
  completed by fetching the order by client order id; if that look-up fails the caller gets
  `VenueIncompleteAnswer` (retryable: look the order up later), never invented fields.
- Fills are read page by page with the venue's cursor until a page comes back short.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

import structlog

from exchanges.venues.base import (
    InvalidOrder,
    OrderSide,
    RetryableVenueError,
    VenueError,
    VenueIncompleteAnswer,
    VenueOrder,
    VenueTrade,
)
from exchanges.venues.ccxt_gateway import parsing
from exchanges.venues.ccxt_gateway.markets import MarketsMixin
from exchanges.venues.profiles import TradesCursor

log = structlog.get_logger(__name__)

CLIENT_ORDER_ID_RE = re.compile(r"^[A-Za-z0-9]{1,28}$")
# Pages read per `fetch_my_trades` call at most: 50 pages of 100 fills is far more than one
# tracker interval produces; the next call continues from the newest fill it has seen.
MAX_TRADE_PAGES = 50


def validate_client_order_id(client_order_id: str) -> str:
    if not CLIENT_ORDER_ID_RE.match(client_order_id or ""):
        raise InvalidOrder(
            f"client order id must be 1..28 letters or digits, got {client_order_id!r}"
        )
    return client_order_id


class TradingMixin(MarketsMixin):
    def _client_id_param(self, client_order_id: str, *, lookup: bool) -> dict[str, Any]:
        p = self.profile
        if lookup:
            return {**p.fetch_order_params, p.client_order_id_lookup_param: client_order_id}
        return {p.client_order_id_param: client_order_id}

    def _lookup_params(self, order_id: str | None, client_order_id: str | None) -> dict[str, Any]:
        if order_id:
            return dict(self.profile.fetch_order_params)
        if client_order_id:
            return self._client_id_param(client_order_id, lookup=True)
        raise InvalidOrder("order_id or client_order_id is required", venue=self.venue)

    def rounded(self, symbol: str, *, price: Decimal, amount: Decimal) -> tuple[Decimal, Decimal]:
        """Price rounded to the tick, amount truncated to the lot, with the market's rules."""
        self.load_markets()
        with self._calling("precision"):
            price_r = Decimal(self.client.price_to_precision(symbol, str(price)))
            amount_r = Decimal(self.client.amount_to_precision(symbol, str(amount)))
        return price_r, amount_r

    def _complete(
        self, raw: Mapping[str, Any], symbol: str, client_order_id: str | None, operation: str
    ) -> VenueOrder:
        """The order of a write's answer, looked up when the answer lacks fields."""
        missing = parsing.incomplete(raw)
        if not missing:
            return parsing.order(raw, symbol)
        order_id = str(raw["id"]) if raw.get("id") else None
        try:
            found = self.fetch_order(
                symbol=symbol, order_id=order_id, client_order_id=client_order_id
            )
        except VenueError as exc:
            log.warning(
                "venue_answer_incomplete",
                venue=self.venue,
                operation=operation,
                missing=missing,
                client_order_id=client_order_id,
                error=type(exc).__name__,
            )
            raise VenueIncompleteAnswer(
                f"{operation} accepted but its answer lacks {', '.join(missing)} and the "
                f"look-up failed ({type(exc).__name__}); look the order up later",
                venue=self.venue,
            ) from exc
        return found

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
        order = self._complete(raw, symbol, client_order_id, "place_limit_order")
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
        params.pop("acknowledged", None)  # a fetch-only option
        with self._calling("cancel_order"):
            raw = self.client.cancel_order(order_id or "", symbol, params)
        info = raw.get("info") or {}
        if isinstance(info, Mapping) and info.get("origClientOrderId"):
            # Binance answers a cancel with the cancel request's own id as clientOrderId.
            raw = {**raw, "clientOrderId": info["origClientOrderId"]}
        if raw.get("status") is None or parsing.incomplete(raw):
            # Ids only (OKX, Bybit): the order's state after the cancel is what the venue
            # says when asked, not an assumed "canceled".
            return self._complete(
                {**raw, "status": None},
                symbol,
                client_order_id or raw.get("clientOrderId"),
                "cancel_order",
            )
        return parsing.order(raw, symbol)

    def fetch_order(
        self, *, symbol: str, order_id: str | None = None, client_order_id: str | None = None
    ) -> VenueOrder:
        params = self._lookup_params(order_id, client_order_id)
        with self._calling("fetch_order"):
            raw = self.client.fetch_order(order_id or "", symbol, params)
        missing = parsing.incomplete(raw)
        if missing:
            raise VenueIncompleteAnswer(
                f"fetch_order answer lacks {', '.join(missing)}", venue=self.venue
            )
        return parsing.order(raw, symbol)

    def fetch_open_orders(self, symbol: str | None = None) -> list[VenueOrder]:
        with self._calling("fetch_open_orders"):
            rows = self.client.fetch_open_orders(symbol)
        return [parsing.order(r, symbol or "") for r in rows]

    def fetch_my_trades(
        self, symbol: str, *, since: datetime | None = None, limit: int | None = None
    ) -> list[VenueTrade]:
        """Every fill since `since` (all pages), oldest first; `limit` caps the result."""
        since_ms = int(since.timestamp() * 1000) if since else None
        page_limit = self.profile.trades_page_limit
        seen: dict[str, VenueTrade] = {}
        params: dict[str, Any] = {}
        for _ in range(MAX_TRADE_PAGES):
            with self._calling("fetch_my_trades"):
                rows = self.client.fetch_my_trades(
                    symbol, since_ms if "fromId" not in params else None, page_limit, params
                )
            for r in rows:
                seen.setdefault(str(r["id"]), parsing.trade(r, symbol))
            next_params = self._next_trades_page(rows, page_limit)
            if next_params is None:
                break
            params = next_params
        else:
            log.warning("venue_trades_page_cap", venue=self.venue, symbol=symbol)
        out = sorted(seen.values(), key=lambda t: (t.timestamp, t.id))
        return out[:limit] if limit is not None else out

    def _next_trades_page(self, rows: list[Any], page_limit: int) -> dict[str, Any] | None:
        cursor = self.profile.trades_cursor
        if cursor == TradesCursor.NONE:
            return None
        if cursor == TradesCursor.NEXT_CURSOR:
            result = (self.client.last_json_response or {}).get("result") or {}
            token = result.get("nextPageCursor") if isinstance(result, Mapping) else None
            return {"cursor": token} if token and rows else None
        if len(rows) < page_limit:
            return None
        if cursor == TradesCursor.FROM_ID:
            return {"fromId": max(int(r["id"]) for r in rows) + 1}
        bills = [int(r["info"]["billId"]) for r in rows if (r.get("info") or {}).get("billId")]
        if not bills:
            raise RetryableVenueError("fill page without billId: cannot page on", venue=self.venue)
        return {"after": str(min(bills))}
