"""A loopback emulator of OKX's v5 REST API (spot), so ccxt's real `okx` class is exercised.

Built from OKX's v5 API documentation (https://www.okx.com/docs-v5/en/) and what ccxt 4.5.90's
okx.py sends and parses:
- Envelope `{"code": "0", "msg": "", "data": [...]}`; a failed order write answers
  `code "1"` with the per-order `sCode`/`sMsg` inside `data` (HTTP 200), as OKX does.
- Signing: `OK-ACCESS-SIGN` = base64(HMAC-SHA256(secret, timestamp + METHOD + path[?query] +
  body)); `OK-ACCESS-KEY` (50111 unknown), `OK-ACCESS-PASSPHRASE` (50105), `OK-ACCESS-TIMESTAMP`
  ISO-8601 within 30 s (50102), HTTP 401 for all of them; 50113 for a bad signature.
- Place (`trade/order`, `trade/batch-orders`) and cancel answer ids only
  (`ordId`, `clOrdId`, `sCode`, `sMsg`, `ts`): the full order comes from `trade/order` GET.
- Funding (type 6) and trading (type 18) accounts: deposits land in funding, withdrawals leave
  funding, orders use trading; `asset/transfer` moves between them, idempotent by `clientId`
  and found again by `asset/transfer-state?clientId=`.
- Fills: `trade/fills-history`, newest first, at most 100 per page, paged with `after` (billId).
  Fees are signed the OKX way: charged as negative, a rebate positive.
- Withdrawals: `amt` excludes the fee, which is charged on top; history filtered by `clientId`.
- 429 with code 50011 "Too Many Requests" past the account's order rate or the IP's rate.
Error codes: 51008 insufficient balance, 51016 duplicated clOrdId, 51603 order does not exist,
51400 cancel failed, 51000 parameter error, 58350 insufficient funding balance.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import parse_qsl

from exchanges.venues.matching import (
    DuplicateClientOrderId,
    EngineError,
    EngineOrder,
    InsufficientBalance,
    PostOnlyWouldCross,
    UnknownOrder,
)
from mrmarket.testing.loopback import LoopbackRequest, LoopbackResponse
from standins.venues.common import Account, EmulatedMarket, EmulatorBase, Reject

D = Decimal
FUNDING, TRADING = "6", "18"
_STATE = {"closed": "filled", "canceled": "canceled"}

Handler = Callable[[LoopbackRequest, dict[str, Any], Account | None], Any]


def _s(value: Decimal) -> str:
    return format(value.normalize(), "f") if value else "0"


def _inst(m: EmulatedMarket) -> str:
    return f"{m.base}-{m.quote}"


class OkxEmulator(EmulatorBase):
    PREFIX = "/api/v5"

    def __init__(self, *args: Any, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self.by_inst = {_inst(m): m for m in self.markets.values()}
        routes: list[tuple[str, str, Handler, bool]] = [
            ("GET", "public/time", lambda r, p, a: [{"ts": str(self.now_ms())}], False),
            ("GET", "public/instruments", self._instruments, False),
            ("GET", "market/books", self._books, False),
            ("GET", "market/ticker", self._ticker, False),
            ("GET", "market/tickers", self._tickers, False),
            ("POST", "trade/order", self._place_one, True),
            ("POST", "trade/batch-orders", self._place_batch, True),
            ("POST", "trade/cancel-order", self._cancel, True),
            ("GET", "trade/order", self._order_get, True),
            ("GET", "trade/orders-pending", self._pending, True),
            ("GET", "trade/fills-history", self._fills, True),
            ("GET", "trade/fills", self._fills, True),
            ("GET", "account/balance", self._trading_balance, True),
            ("GET", "asset/balances", self._funding_balance, True),
            ("POST", "asset/transfer", self._transfer, True),
            ("GET", "asset/transfer-state", self._transfer_state, True),
            ("GET", "asset/currencies", self._currencies, True),
            ("GET", "asset/deposit-address", self._deposit_address, True),
            ("GET", "asset/deposit-history", self._deposit_history, True),
            ("POST", "asset/withdrawal", self._withdraw, True),
            ("GET", "asset/withdrawal-history", self._withdrawal_history, True),
        ]
        for method, path, fn, signed in routes:
            full = f"{self.PREFIX}/{path}"
            self.server.add_route(method, full, self._wrap(method, full, fn, signed))

    # ------------------------------------------------------------------ plumbing

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
                    if (fault is not None and fault.kind == "429") or self.check_request_rate():
                        self.stats["http_429"] += 1
                        raise Reject(429, "50011", "Too Many Requests")
                    params = self._params(request)
                    account = self._authenticate(request) if signed else None
                    data = fn(request, params, account)
                if isinstance(data, LoopbackResponse):
                    response = data
                else:
                    response = LoopbackResponse(200, {"code": "0", "msg": "", "data": data})
            except Reject as rej:
                body = {"code": rej.code, "msg": rej.msg, "data": []}
                response = LoopbackResponse(rej.status, body, rej.headers)
            if fault is not None and fault.kind == "hang" and fault.apply:
                time.sleep(fault.seconds)
            return response

        return handle

    def _params(self, request: LoopbackRequest) -> Any:
        if request.method == "GET":
            return dict(parse_qsl(request.raw_query, keep_blank_values=True))
        if not request.body:
            return {}
        try:
            return json.loads(request.body)
        except ValueError as exc:
            raise Reject(400, "50002", "Json data format error") from exc

    def _authenticate(self, request: LoopbackRequest) -> Account:
        key = request.header("OK-ACCESS-KEY")
        if not key:
            raise Reject(401, "50103", 'Request header "OK-ACCESS-KEY" cannot be empty.')
        account = self.accounts.get(key)
        if account is None:
            raise Reject(401, "50111", "Invalid OK-ACCESS-KEY.")
        stamp = request.header("OK-ACCESS-TIMESTAMP")
        try:
            sent = datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
        except ValueError as exc:
            raise Reject(401, "50112", "Invalid OK-ACCESS-TIMESTAMP.") from exc
        if abs(sent.timestamp() - self._clock()) > 30:
            raise Reject(401, "50102", "Timestamp request expired.")
        if request.header("OK-ACCESS-PASSPHRASE") != account.passphrase:
            raise Reject(401, "50105", 'Request header "OK-ACCESS-PASSPHRASE" incorrect.')
        path = request.path + (f"?{request.raw_query}" if request.raw_query else "")
        prehash = stamp + request.method + path + request.body.decode()
        digest = hmac.new(account.secret.encode(), prehash.encode(), hashlib.sha256).digest()
        if not hmac.compare_digest(base64.b64encode(digest).decode(), request.header("OK-ACCESS-SIGN")):  # fmt: skip
            raise Reject(401, "50113", "Invalid Sign.")
        return account

    def _market(self, params: dict[str, Any]) -> EmulatedMarket:
        market = self.by_inst.get(str(params.get("instId", "")))
        if market is None:
            raise Reject(200, "51001", "Instrument ID does not exist.")
        return market

    @staticmethod
    def _dec(params: dict[str, Any], name: str) -> Decimal:
        try:
            value = D(str(params[name]))
        except (KeyError, InvalidOperation) as exc:
            raise Reject(200, "51000", f"Parameter {name} error") from exc
        return value

    # ------------------------------------------------------------------ public

    def _instruments(self, r: LoopbackRequest, params: dict[str, Any], _: Any) -> Any:
        if params.get("instType") != "SPOT":
            return []  # only spot is emulated; a derivatives request is answered empty
        return [
            {
                "instType": "SPOT", "instId": _inst(m), "uly": "", "instFamily": "",
                "baseCcy": m.base, "quoteCcy": m.quote, "settleCcy": "", "ctVal": "",
                "ctMult": "", "ctValCcy": "", "optType": "", "stk": "", "listTime": "1548133413000",
                "expTime": "", "lever": "", "tickSz": _s(m.tick_size), "lotSz": _s(m.step_size),
                "minSz": _s(m.min_qty), "ctType": "", "alias": "", "state": "live",
                "maxLmtSz": _s(m.max_qty), "maxMktSz": "1000000",
            }
            for m in self.markets.values()
        ]  # fmt: skip

    def _books(self, r: LoopbackRequest, params: dict[str, Any], _: Any) -> Any:
        market = self._market(params)
        size = int(params.get("sz", "1"))
        book = self.engine.books[market.symbol]
        rows: Callable[[str], list[list[str]]] = lambda side: [  # noqa: E731
            [_s(p), _s(a), "0", "1"] for p, a in book.levels(side, size)
        ]
        return [{"asks": rows("sell"), "bids": rows("buy"), "ts": str(self.now_ms())}]

    def _ticker_of(self, m: EmulatedMarket) -> dict[str, Any]:
        book = self.engine.books[m.symbol]
        bid, ask = book.levels("buy", 1), book.levels("sell", 1)
        trades = [t for t in self.engine.trades if t.symbol == m.symbol]
        last = trades[-1].price if trades else m.last_price
        return {
            "instType": "SPOT", "instId": _inst(m), "last": _s(last), "lastSz": "0",
            "askPx": _s(ask[0][0]) if ask else "", "askSz": _s(ask[0][1]) if ask else "",
            "bidPx": _s(bid[0][0]) if bid else "", "bidSz": _s(bid[0][1]) if bid else "",
            "open24h": _s(last), "high24h": _s(last), "low24h": _s(last),
            "volCcy24h": "0", "vol24h": "0", "ts": str(self.now_ms()),
            "sodUtc0": _s(last), "sodUtc8": _s(last),
        }  # fmt: skip

    def _ticker(self, r: LoopbackRequest, params: dict[str, Any], _: Any) -> Any:
        return [self._ticker_of(self._market(params))]

    def _tickers(self, r: LoopbackRequest, params: dict[str, Any], _: Any) -> Any:
        return [self._ticker_of(m) for m in self.markets.values()]

    # ------------------------------------------------------------------ trading

    def _order_json(self, o: EngineOrder) -> dict[str, Any]:
        m = self.markets[o.symbol]
        fees = [t for t in self.engine.trades if t.order_id == o.id]
        fee = sum((t.fee for t in fees), D(0))
        state = _STATE.get(o.status) or ("partially_filled" if o.filled else "live")
        return {
            "instType": "SPOT", "instId": _inst(m), "ccy": "", "ordId": o.id,
            "clOrdId": o.client_order_id or "", "tag": "", "px": _s(o.price), "sz": _s(o.amount),
            "pnl": "0", "ordType": "post_only" if o.post_only else "limit", "side": o.side,
            "posSide": "net", "tdMode": "cash", "accFillSz": _s(o.filled),
            "fillPx": _s(fees[-1].price) if fees else "", "tradeId": fees[-1].id if fees else "",
            "fillSz": _s(fees[-1].amount) if fees else "0",
            "fillTime": str(fees[-1].timestamp_ms) if fees else "",
            "avgPx": _s(o.average) if o.average else "", "state": state, "lever": "",
            "feeCcy": fees[0].fee_asset if fees else (m.base if o.side == "buy" else m.quote),
            "fee": _s(-fee), "rebateCcy": m.quote, "rebate": "0", "category": "normal",
            "uTime": str(o.updated_ms), "cTime": str(o.created_ms),
        }  # fmt: skip

    def _place(self, account: Account, p: dict[str, Any]) -> dict[str, Any]:
        """One order of a place request: its `data` row (sCode "0" when accepted)."""
        cl = str(p.get("clOrdId") or "")
        row = {"clOrdId": cl, "ordId": "", "tag": str(p.get("tag", "")), "ts": str(self.now_ms())}
        try:
            market = self._market(p)
            if p.get("tdMode") != "cash" or p.get("ordType") not in ("limit", "post_only"):
                raise Reject(200, "51000", "Parameter ordType error")
            price, size = self._dec(p, "px"), self._dec(p, "sz")
            if price % market.tick_size or size % market.step_size or size < market.min_qty:
                raise Reject(200, "51000", "Parameter sz error")
            if cl and self.engine.order_by_client_id(account.name, cl) is not None:
                raise Reject(200, "51016", "Duplicated clOrdId")
            result = self.engine.place(
                account=account.name, symbol=market.symbol, side=str(p.get("side")),
                price=price, amount=size, client_order_id=cl or None,
                post_only=p.get("ordType") == "post_only",
            )  # fmt: skip
        except Reject as rej:
            return {**row, "sCode": rej.code, "sMsg": rej.msg}
        except InsufficientBalance:
            return {**row, "sCode": "51008", "sMsg": "Order failed. Insufficient balance."}
        except PostOnlyWouldCross:
            return {**row, "sCode": "51019", "sMsg": "Post only order can not be filled."}
        except DuplicateClientOrderId:
            return {**row, "sCode": "51016", "sMsg": "Duplicated clOrdId"}
        except EngineError as exc:
            return {**row, "sCode": "51000", "sMsg": f"Parameter error: {exc}"}
        self.stats["orders_accepted"] += 1
        return {**row, "ordId": result.order.id, "sCode": "0", "sMsg": "Order placed"}

    def _answer(self, rows: list[dict[str, Any]]) -> Any:
        failed = [r for r in rows if r["sCode"] != "0"]
        if not failed:
            return rows
        code = "1" if len(failed) == len(rows) else "2"
        msg = "All operations failed" if code == "1" else "Batch operation partially succeeded"
        return LoopbackResponse(200, {"code": code, "msg": msg, "data": rows})

    def _place_batch(self, r: LoopbackRequest, params: Any, account: Account | None) -> Any:
        assert account is not None
        orders = params if isinstance(params, list) else [params]
        if self.check_order_rate(account, len(orders)):
            self.stats["http_429"] += 1
            raise Reject(429, "50011", "Too Many Requests")
        return self._answer([self._place(account, p) for p in orders])

    def _place_one(self, r: LoopbackRequest, params: Any, account: Account | None) -> Any:
        if isinstance(params, list):
            raise Reject(200, "50002", "Json data format error")
        return self._place_batch(r, params, account)

    def _find(self, account: Account, params: dict[str, Any]) -> EngineOrder | None:
        market = self._market(params)
        if params.get("ordId"):
            order = self.engine.orders.get(str(params["ordId"]))
        elif params.get("clOrdId"):
            order = self.engine.order_by_client_id(account.name, str(params["clOrdId"]))
        else:
            raise Reject(200, "51000", "Parameter ordId or clOrdId error")
        if order is None or order.account != account.name or order.symbol != market.symbol:
            return None
        return order

    def _cancel(self, r: LoopbackRequest, params: Any, account: Account | None) -> Any:
        assert account is not None
        order = self._find(account, params)
        row = {
            "clOrdId": str(params.get("clOrdId") or (order.client_order_id if order else "") or ""),
            "ordId": order.id if order else str(params.get("ordId", "")),
            "ts": str(self.now_ms()),
        }
        if order is None or order.status != "open":
            msg = "Order cancellation failed as the order has been filled, canceled or does not exist."  # fmt: skip
            return self._answer([{**row, "sCode": "51400", "sMsg": msg}])
        try:
            self.engine.cancel(account=account.name, symbol=order.symbol, order_id=order.id)
        except UnknownOrder:
            return self._answer([{**row, "sCode": "51400", "sMsg": "Cancellation failed"}])
        return [{**row, "sCode": "0", "sMsg": ""}]

    def _order_get(self, r: LoopbackRequest, params: Any, account: Account | None) -> Any:
        assert account is not None
        order = self._find(account, params)
        if order is None:
            raise Reject(200, "51603", "Order does not exist")
        return [self._order_json(order)]

    def _pending(self, r: LoopbackRequest, params: Any, account: Account | None) -> Any:
        assert account is not None
        inst = params.get("instId")
        return [
            self._order_json(o)
            for o in sorted(self.engine.orders.values(), key=lambda o: -o.seq)
            if o.account == account.name and o.status == "open"
            and (not inst or _inst(self.markets[o.symbol]) == inst)
        ]  # fmt: skip

    def _fills(self, r: LoopbackRequest, params: Any, account: Account | None) -> Any:
        assert account is not None
        limit = min(int(params.get("limit") or 100), 100)
        after, before = params.get("after"), params.get("before")
        begin, end = int(params.get("begin") or 0), int(params.get("end") or 2**62)
        inst = params.get("instId")
        rows = [
            t for t in self.engine.trades
            if t.account == account.name
            and (not inst or _inst(self.markets[t.symbol]) == inst)
            and begin <= t.timestamp_ms <= end
            and (after is None or int(t.id) < int(after))
            and (before is None or int(t.id) > int(before))
        ]  # fmt: skip
        rows.sort(key=lambda t: -int(t.id))  # newest first
        out = []
        for t in rows[:limit]:
            order = self.engine.orders[t.order_id]
            out.append({
                "instType": "SPOT", "instId": _inst(self.markets[t.symbol]), "tradeId": t.id,
                "ordId": t.order_id, "clOrdId": order.client_order_id or "", "billId": t.id,
                "subType": "1", "tag": "", "fillPx": _s(t.price), "fillSz": _s(t.amount),
                "fillIdxPx": "", "fillPnl": "0", "side": t.side, "posSide": "net",
                "execType": "M" if t.taker_or_maker == "maker" else "T",
                "feeCcy": t.fee_asset, "fee": _s(-t.fee), "ts": str(t.timestamp_ms),
                "fillTime": str(t.timestamp_ms),
            })  # fmt: skip
        return out

    # ------------------------------------------------------------------ balances, wallet

    def _trading_balance(self, r: LoopbackRequest, params: Any, account: Account | None) -> Any:
        assert account is not None
        details = [
            {"ccy": a, "eq": _s(fu[0] + fu[1]), "cashBal": _s(fu[0] + fu[1]),
             "availBal": _s(fu[0]), "frozenBal": _s(fu[1]), "ordFrozen": _s(fu[1]),
             "availEq": "", "uTime": str(self.now_ms())}
            for (n, a), fu in sorted(self.engine.balances.items()) if n == account.name
        ]  # fmt: skip
        return [{"adjEq": "", "details": details, "totalEq": "0", "uTime": str(self.now_ms())}]

    def _funding_balance(self, r: LoopbackRequest, params: Any, account: Account | None) -> Any:
        assert account is not None
        return [
            {"ccy": a, "bal": _s(fu[0] + fu[1]), "availBal": _s(fu[0]), "frozenBal": _s(fu[1])}
            for (n, a), fu in sorted(self.engine.balances.items()) if n == account.funding
        ]  # fmt: skip

    def _transfer(self, r: LoopbackRequest, params: Any, account: Account | None) -> Any:
        assert account is not None
        source, target = str(params.get("from")), str(params.get("to"))
        if {source, target} != {FUNDING, TRADING} or str(params.get("type", "0")) != "0":
            raise Reject(200, "58102", "Parameter from or to error")
        amount, coin = self._dec(params, "amt"), str(params.get("ccy", ""))
        client_id = str(params.get("clientId") or "")
        for t in account.transfers:  # OKX answers a repeated clientId with the first transfer
            if client_id and t["clientId"] == client_id:
                return [{k: t[k] for k in ("transId", "ccy", "clientId", "from", "amt", "to")}]
        try:
            self.move(account, coin, amount, to_funding=target == FUNDING)
        except EngineError as exc:
            raise Reject(200, "58350", "Insufficient balance") from exc
        row = {
            "transId": str(len(account.transfers) + 1000), "ccy": coin, "clientId": client_id,
            "from": source, "amt": _s(amount), "to": target, "instId": "", "toInstId": "",
            "state": "success", "subAcct": "", "type": "0",
        }  # fmt: skip
        account.transfers.append(row)
        return [{k: row[k] for k in ("transId", "ccy", "clientId", "from", "amt", "to")}]

    def _transfer_state(self, r: LoopbackRequest, params: Any, account: Account | None) -> Any:
        assert account is not None
        return [
            t for t in account.transfers
            if (params.get("clientId") and t["clientId"] == params["clientId"])
            or (params.get("transId") and t["transId"] == params["transId"])
        ]  # fmt: skip

    def _currencies(self, r: LoopbackRequest, params: Any, account: Account | None) -> Any:
        coins = sorted({c for m in self.markets.values() for c in (m.base, m.quote)})
        return [
            {"ccy": c, "name": c, "chain": f"{c}-ERC20", "canDep": True, "canWd": True,
             "canInternal": True, "minDep": "0.00000001", "minWd": "0.0001",
             "maxWd": "1000000", "wdTickSz": "8", "minFee": _s(self.withdraw_fee),
             "maxFee": _s(self.withdraw_fee), "fee": _s(self.withdraw_fee), "mainNet": True}
            for c in coins
        ]  # fmt: skip

    def _deposit_address(self, r: LoopbackRequest, params: Any, account: Account | None) -> Any:
        assert account is not None
        coin = str(params.get("ccy", ""))
        chain = f"{coin}-ERC20"
        return [{"chain": chain, "ctAddr": "", "ccy": coin, "to": FUNDING,
                 "addr": self.address(account, coin, chain), "selected": True}]  # fmt: skip

    def _deposit_history(self, r: LoopbackRequest, params: Any, account: Account | None) -> Any:
        assert account is not None
        before, after = int(params.get("before") or -1), int(params.get("after") or 2**62)
        return [
            {"actualDepBlkConfirm": "12", "amt": _s(d["amount"]), "areaCodeFrom": "",
             "ccy": d["coin"], "chain": d["chain"], "depId": d["id"], "from": "",
             "fromWdId": "", "state": "2", "to": d["address"], "ts": str(d["ts"]),
             "txId": d["txid"]}
            for d in reversed(account.deposits)
            if (not params.get("ccy") or d["coin"] == params["ccy"]) and before < d["ts"] < after
        ]  # fmt: skip

    def _withdraw(self, r: LoopbackRequest, params: Any, account: Account | None) -> Any:
        assert account is not None
        coin, amount = str(params.get("ccy", "")), self._dec(params, "amt")
        if amount <= 0 or not params.get("toAddr"):
            raise Reject(200, "51000", "Parameter amt error")
        try:  # the fee is charged on top of `amt`
            self.engine.withdraw(account.funding, coin, amount + self.withdraw_fee)
        except EngineError as exc:
            raise Reject(200, "58350", "Insufficient balance") from exc
        wd_id = str(len(account.withdrawals) + 7000)
        record = {
            "chain": str(params.get("chain") or f"{coin}-ERC20"), "fee": _s(self.withdraw_fee),
            "feeCcy": coin, "ccy": coin, "clientId": str(params.get("clientId") or ""),
            "amt": _s(amount), "txId": "0x" + hashlib.sha256(wd_id.encode()).hexdigest(),
            "from": "", "to": str(params["toAddr"]), "state": "2", "ts": str(self.now_ms()),
            "wdId": wd_id,
        }  # fmt: skip
        account.withdrawals.append(record)
        return [{"amt": record["amt"], "wdId": wd_id, "ccy": coin,
                 "clientId": record["clientId"], "chain": record["chain"]}]  # fmt: skip

    def _withdrawal_history(self, r: LoopbackRequest, params: Any, account: Account | None) -> Any:
        assert account is not None
        return [
            w for w in reversed(account.withdrawals)
            if (not params.get("ccy") or w["ccy"] == params["ccy"])
            and (not params.get("clientId") or w["clientId"] == params["clientId"])
            and (not params.get("wdId") or w["wdId"] == params["wdId"])
        ]  # fmt: skip
