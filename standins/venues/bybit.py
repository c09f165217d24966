"""A loopback emulator of Bybit's v5 REST API (spot, unified trading account), so ccxt's real
`bybit` class is exercised.

Built from Bybit's v5 documentation (https://bybit-exchange.github.io/docs/v5/intro) and what
ccxt 4.5.90's bybit.py sends and parses:
- Envelope `{"retCode": 0, "retMsg": "OK", "result": {...}, "retExtInfo": {}, "time": ms}`;
  business errors are HTTP 200 with a non-zero `retCode`.
- Signing: `X-BAPI-SIGN` = hex HMAC-SHA256(secret, timestamp + api key + recv window +
  (query string | JSON body)); `X-BAPI-API-KEY` unknown -> 10003, bad signature -> 10004,
  timestamp outside `[now - recvWindow, now + 1000)` -> 10002.
- `order/create` and `order/cancel` answer `{orderId, orderLinkId}` only; the order itself
  comes from `order/realtime` (which also lists recently closed orders).
- FUND and UNIFIED accounts: deposits land in FUND, withdrawals leave FUND
  (`accountType=FUND`), orders use UNIFIED; `asset/transfer/inter-transfer` needs a UUID
  `transferId`, the same id is not applied twice, `query-inter-transfer-list?transferId=`
  finds it.
- Fills: `execution/list`, newest first, `limit` at most 100, paged with `nextPageCursor`.
- Withdrawals: the fee is charged on top of `amount` (feeType 0); a repeated `requestId` is
  answered with the first withdrawal's id instead of withdrawing again.
- The per-UID order rate: past it, retCode 10006 "Too many visits!" with the
  `X-Bapi-Limit-Status`/`X-Bapi-Limit`/`X-Bapi-Limit-Reset-Timestamp` headers.
Error codes: 170131 insufficient balance, 170141 duplicate clientOrderId, 170213 order does
not exist, 10001 parameter error, 131212 insufficient balance for a withdrawal/transfer.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import time
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import parse_qsl

from exchanges.venues.matching import (
    EngineError,
    EngineOrder,
    InsufficientBalance,
    PostOnlyWouldCross,
    UnknownOrder,
)
from mrmarket.testing.loopback import LoopbackRequest, LoopbackResponse
from standins.venues.common import Account, EmulatedMarket, EmulatorBase, Reject

D = Decimal
_UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
_STATUS = {"closed": "Filled", "canceled": "Cancelled"}

Handler = Callable[[LoopbackRequest, dict[str, Any], Account | None], Any]


def _s(value: Decimal) -> str:
    return format(value.normalize(), "f") if value else "0"


def _sym(m: EmulatedMarket) -> str:
    return f"{m.base}{m.quote}"


class BybitEmulator(EmulatorBase):
    # Bybit spot reports a maker rebate as a negative `execFee` in the coin the order paid
    # (ccxt's `parse_trade`: quote for a buy, base for a sell), and credits it there.
    REBATE_IN_GIVEN = True

    def __init__(self, *args: Any, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self.by_symbol = {_sym(m): m for m in self.markets.values()}
        routes: list[tuple[str, str, Handler, bool]] = [
            ("GET", "market/time", self._time, False),
            ("GET", "market/instruments-info", self._instruments, False),
            ("GET", "market/tickers", self._tickers, False),
            ("GET", "market/orderbook", self._orderbook, False),
            ("GET", "asset/coin/query-info", self._coins, True),
            ("POST", "order/create", self._create, True),
            ("POST", "order/cancel", self._cancel, True),
            ("GET", "order/realtime", self._realtime, True),
            ("GET", "order/history", self._history, True),
            ("GET", "execution/list", self._executions, True),
            ("GET", "account/wallet-balance", self._wallet_balance, True),
            ("GET", "asset/transfer/query-account-coins-balance", self._fund_balance, True),
            ("POST", "asset/transfer/inter-transfer", self._transfer, True),
            ("GET", "asset/transfer/query-inter-transfer-list", self._transfers, True),
            ("GET", "asset/deposit/query-address", self._deposit_address, True),
            ("GET", "asset/deposit/query-record", self._deposits, True),
            ("POST", "asset/withdraw/create", self._withdraw, True),
            ("GET", "asset/withdraw/query-record", self._withdrawals, True),
        ]
        for method, path, fn, signed in routes:
            full = f"/v5/{path}"
            self.server.add_route(method, full, self._wrap(method, full, fn, signed))

    # ------------------------------------------------------------------ plumbing

    def _envelope(self, result: Any, code: int = 0, msg: str = "OK") -> dict[str, Any]:
        return {"retCode": code, "retMsg": msg, "result": result, "retExtInfo": {}, "time": self.now_ms()}  # fmt: skip

    def _wrap(
        self, method: str, path: str, fn: Handler, signed: bool
    ) -> Callable[[LoopbackRequest], LoopbackResponse]:
        endpoint = f"{method} {path}"

        def handle(request: LoopbackRequest) -> LoopbackResponse:
            fault = self.take_fault(endpoint)
            if fault is not None and fault.kind == "latency":
                time.sleep(fault.seconds)
            if fault is not None and fault.kind == "status":
                return LoopbackResponse(fault.status, "<html>Bad Gateway</html>", {"Content-Type": "text/html"})  # fmt: skip
            if fault is not None and fault.kind == "hang" and not fault.apply:
                time.sleep(fault.seconds)
            try:
                with self.lock:
                    if fault is not None and fault.kind == "429":
                        self.stats["http_429"] += 1
                        raise Reject(200, "10006", "Too many visits!", self._limit_headers(0))
                    params = self._params(request)
                    account = self._authenticate(request) if signed else None
                    result = fn(request, params, account)
                response = LoopbackResponse(200, self._envelope(result))
            except Reject as rej:
                body = self._envelope({}, int(rej.code), rej.msg)
                response = LoopbackResponse(rej.status, body, rej.headers)
            if fault is not None and fault.kind == "hang" and fault.apply:
                time.sleep(fault.seconds)
            return response

        return handle

    def _limit_headers(self, remaining: int) -> dict[str, str]:
        limit, seconds = self.order_limit or (20, 1.0)
        reset = int((self._clock() // seconds + 1) * seconds * 1000)
        return {
            "X-Bapi-Limit-Status": str(remaining),
            "X-Bapi-Limit": str(limit),
            "X-Bapi-Limit-Reset-Timestamp": str(reset),
        }

    def _params(self, request: LoopbackRequest) -> dict[str, Any]:
        if request.method == "GET":
            return dict(parse_qsl(request.raw_query, keep_blank_values=True))
        try:
            body = json.loads(request.body or b"{}")
        except ValueError as exc:
            raise Reject(200, "10001", "request body is not JSON") from exc
        if not isinstance(body, dict):
            raise Reject(200, "10001", "params error")
        return body

    def _authenticate(self, request: LoopbackRequest) -> Account:
        key = request.header("X-BAPI-API-KEY")
        account = self.accounts.get(key)
        if account is None:
            raise Reject(401, "10003", "API key is invalid.")
        try:
            stamp = int(request.header("X-BAPI-TIMESTAMP"))
            window = int(request.header("X-BAPI-RECV-WINDOW") or "5000")
        except ValueError as exc:
            raise Reject(200, "10001", "timestamp is required") from exc
        now = self.now_ms()
        if not now - window <= stamp < now + 1000:
            raise Reject(200, "10002", "invalid request, please check your server timestamp or recv_window param")  # fmt: skip
        payload = request.raw_query if request.method == "GET" else request.body.decode()
        expected = hmac.new(
            account.secret.encode(), f"{stamp}{key}{window}{payload}".encode(), hashlib.sha256
        ).hexdigest()
        if not hmac.compare_digest(expected, request.header("X-BAPI-SIGN")):
            raise Reject(401, "10004", "error sign! origin_string[...]")
        return account

    def _market(self, params: dict[str, Any]) -> EmulatedMarket:
        if params.get("category", "spot") != "spot":
            raise Reject(200, "10001", "category only support spot")
        market = self.by_symbol.get(str(params.get("symbol", "")))
        if market is None:
            raise Reject(200, "10001", "params error: symbol invalid")
        return market

    @staticmethod
    def _dec(params: dict[str, Any], name: str) -> Decimal:
        try:
            return D(str(params[name]))
        except (KeyError, InvalidOperation) as exc:
            raise Reject(200, "10001", f"params error: {name}") from exc

    # ------------------------------------------------------------------ public

    def _time(self, r: LoopbackRequest, p: dict[str, Any], _: Any) -> Any:
        now = self.now_ms()
        return {"timeSecond": str(now // 1000), "timeNano": str(now * 1_000_000)}

    def _instruments(self, r: LoopbackRequest, p: dict[str, Any], _: Any) -> Any:
        if p.get("category") != "spot":
            return {"category": p.get("category", ""), "list": [], "nextPageCursor": ""}
        rows = [
            {"symbol": _sym(m), "baseCoin": m.base, "quoteCoin": m.quote, "innovation": "0",
             "status": "Trading", "marginTrading": "none",
             "lotSizeFilter": {"basePrecision": _s(m.step_size), "quotePrecision": "0.00000001",
                               "minOrderQty": _s(m.min_qty), "maxOrderQty": _s(m.max_qty),
                               "minOrderAmt": _s(m.min_notional), "maxOrderAmt": "2000000"},
             "priceFilter": {"tickSize": _s(m.tick_size)},
             "riskParameters": {"limitParameter": "0.05", "marketParameter": "0.05"}}
            for m in self.markets.values()
        ]  # fmt: skip
        return {"category": "spot", "list": rows, "nextPageCursor": ""}

    def _ticker_of(self, m: EmulatedMarket) -> dict[str, Any]:
        book = self.engine.books[m.symbol]
        bid, ask = book.levels("buy", 1), book.levels("sell", 1)
        trades = [t for t in self.engine.trades if t.symbol == m.symbol]
        last = _s(trades[-1].price if trades else m.last_price)
        return {
            "symbol": _sym(m), "bid1Price": _s(bid[0][0]) if bid else "",
            "bid1Size": _s(bid[0][1]) if bid else "", "ask1Price": _s(ask[0][0]) if ask else "",
            "ask1Size": _s(ask[0][1]) if ask else "", "lastPrice": last, "prevPrice24h": last,
            "price24hPcnt": "0", "highPrice24h": last, "lowPrice24h": last,
            "turnover24h": "0", "volume24h": "0",
        }  # fmt: skip

    def _tickers(self, r: LoopbackRequest, p: dict[str, Any], _: Any) -> Any:
        markets = [self._market(p)] if p.get("symbol") else list(self.markets.values())
        return {"category": "spot", "list": [self._ticker_of(m) for m in markets]}

    def _orderbook(self, r: LoopbackRequest, p: dict[str, Any], _: Any) -> Any:
        market = self._market(p)
        limit = int(p.get("limit", "1"))
        book = self.engine.books[market.symbol]
        return {
            "s": _sym(market),
            "b": [[_s(px), _s(a)] for px, a in book.levels("buy", limit)],
            "a": [[_s(px), _s(a)] for px, a in book.levels("sell", limit)],
            "ts": self.now_ms(), "u": len(self.engine.orders), "seq": len(self.engine.trades),
            "cts": self.now_ms(),
        }  # fmt: skip

    @staticmethod
    def _chains(coin: str) -> list[str]:
        """Chains a coin is deposited on (Bybit's chain ids; USDT also on Tron, ccxt's default)."""
        return {"BTC": ["BTC"], "USDT": ["ETH", "TRX"]}.get(coin, ["ETH"])

    def _coins(self, r: LoopbackRequest, p: dict[str, Any], a: Account | None) -> Any:
        coins = sorted({c for m in self.markets.values() for c in (m.base, m.quote)})
        return {"rows": [
            {"name": c, "coin": c, "remainAmount": "1000000", "chains": [
                {"chainType": ch, "confirmation": "12", "withdrawFee": _s(self.withdraw_fee),
                 "depositMin": "0", "withdrawMin": "0.0001", "chain": ch, "chainDeposit": "1",
                 "chainWithdraw": "1", "minAccuracy": "8", "withdrawPercentageFee": "0"}
                for ch in self._chains(c)]}
            for c in coins
        ]}  # fmt: skip

    # ------------------------------------------------------------------ trading

    def _order_json(self, o: EngineOrder) -> dict[str, Any]:
        m = self.markets[o.symbol]
        fee = sum((t.fee for t in self.engine.trades if t.order_id == o.id), D(0))
        status = _STATUS.get(o.status) or ("PartiallyFilled" if o.filled else "New")
        return {
            "orderId": o.id, "orderLinkId": o.client_order_id or "", "blockTradeId": "",
            "symbol": _sym(m), "price": _s(o.price), "qty": _s(o.amount),
            "side": "Buy" if o.side == "buy" else "Sell", "isLeverage": "0", "positionIdx": 0,
            "orderStatus": status, "cancelType": "UNKNOWN", "rejectReason": "EC_NoError",
            "avgPrice": _s(o.average) if o.average else "",
            "leavesQty": _s(o.remaining if o.status == "open" else D(0)),
            "leavesValue": _s(o.price * o.remaining if o.status == "open" else D(0)),
            "cumExecQty": _s(o.filled), "cumExecValue": _s(o.cost), "cumExecFee": _s(fee),
            "timeInForce": "PostOnly" if o.post_only else "GTC", "orderType": "Limit",
            "stopOrderType": "", "orderIv": "", "triggerPrice": "0.00", "takeProfit": "0.00",
            "stopLoss": "0.00", "tpTriggerBy": "", "slTriggerBy": "", "triggerDirection": 0,
            "triggerBy": "", "lastPriceOnCreated": "", "reduceOnly": False,
            "closeOnTrigger": False, "smpType": "None", "smpGroup": 0, "smpOrderId": "",
            "createdTime": str(o.created_ms), "updatedTime": str(o.updated_ms),
        }  # fmt: skip

    def _create(self, r: LoopbackRequest, p: dict[str, Any], account: Account | None) -> Any:
        assert account is not None
        market = self._market(p)
        if p.get("orderType") != "Limit" or p.get("side") not in ("Buy", "Sell"):
            raise Reject(200, "10001", "params error: orderType or side")
        tif = p.get("timeInForce", "GTC")
        if tif not in ("GTC", "PostOnly"):
            raise Reject(200, "10001", "params error: timeInForce")
        price, qty = self._dec(p, "price"), self._dec(p, "qty")
        if price % market.tick_size or qty % market.step_size or qty < market.min_qty:
            raise Reject(200, "170137", "Order quantity or price has too many decimals.")
        if price * qty < market.min_notional:
            raise Reject(200, "170140", "Order value exceeded lower limit.")
        link = str(p.get("orderLinkId") or "")
        if link and self.engine.order_by_client_id(account.name, link) is not None:
            raise Reject(200, "170141", "Duplicate clientOrderId.")
        if self.check_order_rate(account):
            self.stats["http_429"] += 1
            raise Reject(200, "10006", "Too many visits!", self._limit_headers(0))
        try:
            result = self.engine.place(
                account=account.name, symbol=market.symbol, side=str(p["side"]).lower(),
                price=price, amount=qty, client_order_id=link or None,
                post_only=tif == "PostOnly",
            )  # fmt: skip
        except InsufficientBalance as exc:
            raise Reject(200, "170131", "Insufficient balance.") from exc
        except PostOnlyWouldCross as exc:
            raise Reject(200, "170218", "The LIMIT-MAKER order is rejected due to its price.") from exc  # fmt: skip
        except EngineError as exc:
            raise Reject(200, "10001", f"params error: {exc}") from exc
        self.stats["orders_accepted"] += 1
        return {"orderId": result.order.id, "orderLinkId": link}

    def _find(self, account: Account, p: dict[str, Any]) -> EngineOrder | None:
        order: EngineOrder | None = None
        if p.get("orderId"):
            order = self.engine.orders.get(str(p["orderId"]))
        elif p.get("orderLinkId"):
            order = self.engine.order_by_client_id(account.name, str(p["orderLinkId"]))
        if order is None or order.account != account.name:
            return None
        return order

    def _cancel(self, r: LoopbackRequest, p: dict[str, Any], account: Account | None) -> Any:
        assert account is not None
        self._market(p)
        order = self._find(account, p)
        if order is None or order.status != "open":
            raise Reject(200, "170213", "Order does not exist.")
        try:
            self.engine.cancel(account=account.name, symbol=order.symbol, order_id=order.id)
        except UnknownOrder as exc:
            raise Reject(200, "170213", "Order does not exist.") from exc
        return {"orderId": order.id, "orderLinkId": order.client_order_id or ""}

    def _orders(self, account: Account, p: dict[str, Any], *, open_only: bool) -> Any:
        if p.get("orderId") or p.get("orderLinkId"):
            found = self._find(account, p)
            rows = [found] if found is not None else []
        else:
            sym = p.get("symbol")
            rows = [
                o for o in self.engine.orders.values()
                if o.account == account.name and (not sym or _sym(self.markets[o.symbol]) == sym)
                and (o.status == "open" or not open_only)
            ]  # fmt: skip
        rows.sort(key=lambda o: -o.seq)
        return {"category": "spot", "list": [self._order_json(o) for o in rows[:500]], "nextPageCursor": ""}  # fmt: skip

    def _realtime(self, r: LoopbackRequest, p: dict[str, Any], account: Account | None) -> Any:
        assert account is not None
        # Spot: open orders, and any order asked for by id among the recent ones.
        return self._orders(account, p, open_only=not (p.get("orderId") or p.get("orderLinkId")))

    def _history(self, r: LoopbackRequest, p: dict[str, Any], account: Account | None) -> Any:
        assert account is not None
        return self._orders(account, p, open_only=False)

    def _executions(self, r: LoopbackRequest, p: dict[str, Any], account: Account | None) -> Any:
        assert account is not None
        limit = min(int(p.get("limit") or 50), 100)
        start, end = int(p.get("startTime") or 0), int(p.get("endTime") or 2**62)
        below = int(p["cursor"]) if p.get("cursor") else None
        sym = p.get("symbol")
        rows = [
            t for t in self.engine.trades
            if t.account == account.name and (not sym or _sym(self.markets[t.symbol]) == sym)
            and start <= t.timestamp_ms <= end and (below is None or int(t.id) < below)
        ]  # fmt: skip
        rows.sort(key=lambda t: -int(t.id))
        page, more = rows[:limit], len(rows) > limit
        out = []
        for t in page:
            o = self.engine.orders[t.order_id]
            out.append({
                "symbol": _sym(self.markets[t.symbol]), "orderId": t.order_id,
                "orderLinkId": o.client_order_id or "", "side": "Buy" if t.side == "buy" else "Sell",
                "orderPrice": _s(o.price), "orderQty": _s(o.amount), "leavesQty": _s(o.remaining),
                "orderType": "Limit", "stopOrderType": "", "execFee": _s(t.fee), "execId": t.id,
                "execPrice": _s(t.price), "execQty": _s(t.amount), "execType": "Trade",
                "execValue": _s(t.quote_amount), "execTime": str(t.timestamp_ms),
                "isMaker": t.taker_or_maker == "maker",
                "feeRate": _s(self.maker_fee if t.taker_or_maker == "maker" else self.taker_fee),
                "tradeIv": "", "markIv": "", "markPrice": "", "indexPrice": "",
                "underlyingPrice": "", "blockTradeId": "", "closedSize": "", "seq": int(t.id),
            })  # fmt: skip
        cursor = page[-1].id if more and page else ""
        return {"category": "spot", "list": out, "nextPageCursor": cursor}

    # ------------------------------------------------------------------ balances, wallet

    def _coin_rows(self, name: str) -> list[tuple[str, Decimal, Decimal]]:
        return [(a, fu[0], fu[1]) for (n, a), fu in sorted(self.engine.balances.items()) if n == name]  # fmt: skip

    def _wallet_balance(self, r: LoopbackRequest, p: dict[str, Any], account: Account | None) -> Any:  # fmt: skip
        assert account is not None
        if p.get("accountType") != "UNIFIED":
            raise Reject(200, "10001", "accountType only support UNIFIED")
        coins = [
            {"coin": a, "walletBalance": _s(f + u), "equity": _s(f + u), "locked": _s(u),
             "totalOrderIM": "0", "totalPositionIM": "0", "borrowAmount": "", "accruedInterest": "",
             "usdValue": "0", "availableToWithdraw": _s(f), "unrealisedPnl": "0"}
            for a, f, u in self._coin_rows(account.name)
        ]  # fmt: skip
        return {"list": [{"accountType": "UNIFIED", "totalEquity": "0", "coin": coins}]}

    def _fund_balance(self, r: LoopbackRequest, p: dict[str, Any], account: Account | None) -> Any:  # fmt: skip
        assert account is not None
        if p.get("accountType") != "FUND":
            raise Reject(200, "10001", "accountType error")
        rows = [
            {"coin": a, "walletBalance": _s(f + u), "transferBalance": _s(f), "bonus": ""}
            for a, f, u in self._coin_rows(account.funding)
        ]  # fmt: skip
        return {"memberId": account.name, "accountType": "FUND", "balance": rows}

    def _transfer(self, r: LoopbackRequest, p: dict[str, Any], account: Account | None) -> Any:
        assert account is not None
        transfer_id = str(p.get("transferId") or "")
        if not _UUID_RE.match(transfer_id):
            raise Reject(200, "10001", "params error: transferId must be a UUID")
        source, target = p.get("fromAccountType"), p.get("toAccountType")
        if {source, target} != {"FUND", "UNIFIED"}:
            raise Reject(200, "10001", "params error: account type")
        for t in account.transfers:
            if t["transferId"] == transfer_id:  # applied once; the repeat answers the first
                return {"transferId": transfer_id, "status": t["status"]}
        coin, amount = str(p.get("coin", "")), self._dec(p, "amount")
        try:
            self.move(account, coin, amount, to_funding=target == "FUND")
        except EngineError as exc:
            raise Reject(200, "131212", "Insufficient balance") from exc
        account.transfers.append({
            "transferId": transfer_id, "coin": coin, "amount": _s(amount),
            "fromAccountType": source, "toAccountType": target,
            "timestamp": str(self.now_ms()), "status": "SUCCESS",
        })  # fmt: skip
        return {"transferId": transfer_id, "status": "SUCCESS"}

    def _transfers(self, r: LoopbackRequest, p: dict[str, Any], account: Account | None) -> Any:
        assert account is not None
        rows = [t for t in account.transfers if not p.get("transferId") or t["transferId"] == p["transferId"]]  # fmt: skip
        return {"list": list(reversed(rows)), "nextPageCursor": ""}

    def _deposit_address(self, r: LoopbackRequest, p: dict[str, Any], account: Account | None) -> Any:  # fmt: skip
        assert account is not None
        coin = str(p.get("coin", ""))
        chains = [
            {"chainType": ch, "addressDeposit": self.address(account, coin, ch), "tagDeposit": "", "chain": ch}
            for ch in self._chains(coin)
        ]  # fmt: skip
        return {"coin": coin, "chains": chains}

    def _deposits(self, r: LoopbackRequest, p: dict[str, Any], account: Account | None) -> Any:
        assert account is not None
        rows = [
            {"coin": d["coin"], "chain": "ETH", "amount": _s(d["amount"]), "txID": d["txid"],
             "status": 3, "toAddress": d["address"], "tag": "", "depositFee": "",
             "successAt": str(d["ts"]), "confirmations": "12", "txIndex": "0", "blockHash": "",
             "batchReleaseLimit": "-1", "depositType": "0", "id": d["id"]}
            for d in reversed(account.deposits)
            if not p.get("coin") or d["coin"] == p["coin"]
        ]  # fmt: skip
        return {"rows": rows, "nextPageCursor": ""}

    def _withdraw(self, r: LoopbackRequest, p: dict[str, Any], account: Account | None) -> Any:
        assert account is not None
        request_id = str(p.get("requestId") or "")
        for w in account.withdrawals:
            if request_id and w["_requestId"] == request_id:
                return {"id": w["withdrawId"]}
        if p.get("accountType", "FUND") not in ("FUND", "FUND,UTA"):
            raise Reject(200, "10001", "accountType error")
        coin, amount = str(p.get("coin", "")), self._dec(p, "amount")
        if amount <= 0 or not p.get("address"):
            raise Reject(200, "10001", "params error: amount or address")
        try:
            self.engine.withdraw(account.funding, coin, amount + self.withdraw_fee)
        except EngineError as exc:
            raise Reject(200, "131212", "Insufficient balance") from exc
        wid = str(len(account.withdrawals) + 10197)
        account.withdrawals.append({
            "coin": coin, "chain": str(p.get("chain") or "ETH"), "amount": _s(amount),
            "txID": "0x" + hashlib.sha256(wid.encode()).hexdigest(), "status": "success",
            "toAddress": str(p["address"]), "tag": str(p.get("tag") or ""),
            "withdrawFee": _s(self.withdraw_fee), "createTime": str(self.now_ms()),
            "updateTime": str(self.now_ms()), "withdrawId": wid, "withdrawType": 0,
            "_requestId": request_id,
        })  # fmt: skip
        return {"id": wid}

    def _withdrawals(self, r: LoopbackRequest, p: dict[str, Any], account: Account | None) -> Any:
        assert account is not None
        rows = [
            {k: v for k, v in w.items() if not k.startswith("_")}
            for w in reversed(account.withdrawals)
            if (not p.get("coin") or w["coin"] == p["coin"])
            and (not p.get("withdrawID") or w["withdrawId"] == p["withdrawID"])
        ]  # fmt: skip
        return {"rows": rows, "nextPageCursor": ""}
