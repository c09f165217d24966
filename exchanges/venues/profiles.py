"""Venue profiles: what differs between exchanges, as data the ccxt gateway reads.

Design:
- One frozen `VenueProfile` per supported ccxt id. The gateway has no `if venue == ...`
  branches: every venue difference it honours is a field here, and a venue without a
  profile gets `GENERIC` (one account, ccxt's unified parameter names, ccxt's errors only).
- Wallets: our two roles, `funding` (where deposits land and withdrawals leave) and
  `trading` (what orders spend), are mapped to ccxt's account type names; when both name
  the same account (Binance spot, MEXC, Gate classic spot) no internal transfer is needed.
- Errors: a venue code found in the answer (`code`, `sCode`, `retCode`) is classified by
  `error_codes` first, then by ccxt's exception class (see `ccxt_gateway._translate`).
- Order slots: the ccxt implicit-API paths that create orders (a batch path counts one slot
  per order in the batch); every other request costs only IP weight.
- Sources: each venue's API documentation (URLs in docs/venues.md) and ccxt 4.5.90's own
  implementation (okx.py, bybit.py, binance.py, gate.py, mexc.py, kucoin.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType
from typing import Any

from exchanges.venues.base import (
    AuthenticationFailed,
    DuplicateClientOrderId,
    InsufficientFunds,
    InvalidOrder,
    OrderNotFound,
    RateLimited,
    VenueError,
    VenueNetworkError,
    VenueUnavailable,
)


class Wallet(StrEnum):
    """Our roles for a venue's sub-accounts."""

    FUNDING = "funding"  # deposits land here, withdrawals leave from here
    TRADING = "trading"  # orders spend from here


class TradesCursor(StrEnum):
    """How the next page of `fetch_my_trades` is asked for."""

    FROM_ID = "from_id"  # Binance/MEXC: `fromId` = last trade id + 1, oldest first
    AFTER_BILL = "after_bill"  # OKX: `after` = the oldest `billId` of the page, newest first
    NEXT_CURSOR = "next_cursor"  # Bybit/Gate: the answer's `nextPageCursor`
    NONE = "none"  # one page only


@dataclass(frozen=True)
class VenueProfile:
    ccxt_id: str
    # ccxt account type per role (`fetch_balance({'type': ...})`, `transfer(..., from, to)`)
    wallets: MappingProxyType[Wallet, str]
    # ccxt options that keep market loading to spot and skip calls we never need
    ccxt_options: MappingProxyType[str, Any]
    # the exchange-specific client order id parameter (place, look-up)
    client_order_id_param: str = "clientOrderId"
    client_order_id_lookup_param: str = "clientOrderId"
    fetch_order_params: MappingProxyType[str, Any] = field(
        default_factory=lambda: MappingProxyType({})
    )
    # ccxt implicit-API paths that place orders: each costs one order slot (per order)
    order_paths: frozenset[str] = frozenset()
    # the place/cancel answer may carry ids only: complete it by fetching the order
    partial_answers: bool = False
    trades_cursor: TradesCursor = TradesCursor.NONE
    trades_page_limit: int = 100
    # venue error code -> our error class (checked before ccxt's class)
    error_codes: MappingProxyType[str, type[VenueError]] = field(
        default_factory=lambda: MappingProxyType({})
    )
    # wording that identifies a duplicate client order id when the venue has no own code
    duplicate_messages: tuple[str, ...] = ()
    # response headers: seconds to wait (Retry-After) or a reset timestamp in ms
    retry_after_header: str | None = "Retry-After"
    reset_ms_header: str | None = None
    # withdrawals
    withdraw_client_id_param: str | None = None  # sent with the withdrawal
    withdraw_client_id_field: str | None = None  # where the history row keeps it (info)
    withdraw_history_filter: str | None = None  # history query param selecting by it
    withdraw_id_filter: str | None = None  # history query param selecting by withdrawal id
    withdraw_params: MappingProxyType[str, Any] = field(
        default_factory=lambda: MappingProxyType({})
    )
    withdraw_fee_inside: bool = False  # True: the fee comes out of `amount`; else on top
    # internal transfers: the idempotency parameter and its format ("uuid" or "plain")
    transfer_client_id_param: str | None = None
    transfer_client_id_format: str = "plain"
    # (ccxt implicit-API method, parameter) that finds a transfer by that id
    transfer_lookup: tuple[str, str] | None = None
    passphrase_required: bool = False

    def wallet(self, role: Wallet) -> str:
        return self.wallets[role]

    @property
    def needs_internal_transfer(self) -> bool:
        return self.wallets[Wallet.FUNDING] != self.wallets[Wallet.TRADING]

    def orders_in(self, path: str, method: str, params: Any) -> int:
        """Order slots a request takes: one per order for an order-creating path."""
        if method != "POST" or str(path).strip("/") not in self.order_paths:
            return 0
        return len(params) if isinstance(params, list) else 1


def _m(**kw: Any) -> MappingProxyType[Any, Any]:
    return MappingProxyType(kw)


def _wallets(funding: str, trading: str) -> MappingProxyType[Wallet, str]:
    return MappingProxyType({Wallet.FUNDING: funding, Wallet.TRADING: trading})


_SPOT_ONLY = {"fetchMarkets": {"types": ["spot"]}, "defaultType": "spot"}

BINANCE = VenueProfile(
    ccxt_id="binance",
    wallets=_wallets("spot", "spot"),
    ccxt_options=_m(
        **_SPOT_ONLY,
        fetchMargins=False,
        fetchCurrencies=False,
        warnOnFetchOpenOrdersWithoutSymbol=False,
        adjustForTimeDifference=False,
    ),
    client_order_id_param="newClientOrderId",
    client_order_id_lookup_param="origClientOrderId",
    order_paths=frozenset({"order", "order/oco", "orderList/oto"}),
    trades_cursor=TradesCursor.FROM_ID,
    trades_page_limit=1000,
    error_codes=_m(
        **{
            "-1003": RateLimited,
            "-1015": RateLimited,
            "-1013": InvalidOrder,
            "-1021": VenueNetworkError,  # timestamp outside recvWindow: not executed
            "-1022": AuthenticationFailed,
            "-2014": AuthenticationFailed,
            "-2015": AuthenticationFailed,
            "-2011": OrderNotFound,
            "-2013": OrderNotFound,
            "-4026": InsufficientFunds,
        }
    ),
    duplicate_messages=("Duplicate order sent.",),
    withdraw_client_id_param="withdrawOrderId",
    withdraw_client_id_field="withdrawOrderId",
    withdraw_history_filter="withdrawOrderId",
    withdraw_fee_inside=True,  # `transactionFee` is taken out of `amount`
)

OKX = VenueProfile(
    ccxt_id="okx",
    wallets=_wallets("funding", "trading"),  # account types 6 and 18
    ccxt_options=_m(**_SPOT_ONLY, adjustForTimeDifference=False),
    client_order_id_param="clOrdId",
    client_order_id_lookup_param="clOrdId",
    order_paths=frozenset({"trade/order", "trade/batch-orders"}),
    partial_answers=True,  # place/cancel answer {ordId, clOrdId, sCode, sMsg} only
    trades_cursor=TradesCursor.AFTER_BILL,
    trades_page_limit=100,
    error_codes=_m(
        **{
            "50011": RateLimited,  # "Too Many Requests" (HTTP 429)
            "50061": RateLimited,  # sub-account order rate
            "51016": DuplicateClientOrderId,  # "Duplicated clOrdId"
            "51008": InsufficientFunds,
            "51119": InsufficientFunds,
            "58350": InsufficientFunds,
            "51400": OrderNotFound,  # cancel: filled, canceled or does not exist
            "51401": OrderNotFound,
            "51402": OrderNotFound,
            "51603": OrderNotFound,
            "50102": VenueNetworkError,  # timestamp expired: rejected, not executed
            "50105": AuthenticationFailed,  # wrong passphrase
            "50111": AuthenticationFailed,
            "50113": AuthenticationFailed,
            "50001": VenueUnavailable,
            "50013": VenueUnavailable,
        }
    ),
    retry_after_header=None,  # OKX sends no Retry-After: back off one limit window
    withdraw_client_id_param="clientId",
    withdraw_client_id_field="clientId",
    withdraw_history_filter="clientId",
    withdraw_id_filter="wdId",
    withdraw_fee_inside=False,  # "amt" excludes the fee, which is charged on top
    transfer_client_id_param="clientId",
    transfer_lookup=("private_get_asset_transfer_state", "clientId"),
    passphrase_required=True,
)

BYBIT = VenueProfile(
    ccxt_id="bybit",
    wallets=_wallets("funding", "unified"),  # FUND and UNIFIED (unified trading account)
    ccxt_options=_m(
        fetchMarkets={"types": ["spot"]},
        defaultType="spot",
        fetchCurrencies=False,
        adjustForTimeDifference=False,
        # The profile is for a unified trading account (UTA 2.0): ccxt then skips its two
        # account-mode queries before balances and withdrawals.
        enableUnifiedAccount=True,
        enableUnifiedMargin=False,
        unifiedMarginStatus=6,
    ),
    client_order_id_param="orderLinkId",
    client_order_id_lookup_param="orderLinkId",
    # ccxt asks to acknowledge that Bybit's order look-up covers the last 500 orders only
    fetch_order_params=_m(acknowledged=True),
    order_paths=frozenset({"v5/order/create", "v5/order/create-batch"}),
    partial_answers=True,  # place/cancel answer {orderId, orderLinkId} only
    trades_cursor=TradesCursor.NEXT_CURSOR,
    trades_page_limit=100,
    error_codes=_m(
        **{
            "10006": RateLimited,  # "Too many visits!" (HTTP 429 on the IP limit too)
            "10018": RateLimited,
            "170141": DuplicateClientOrderId,  # "Duplicate clientOrderId" (spot)
            "110072": DuplicateClientOrderId,  # "OrderLinkedID is duplicate"
            "170131": InsufficientFunds,
            "131212": InsufficientFunds,
            "110001": OrderNotFound,
            "170213": OrderNotFound,
            "10002": VenueNetworkError,  # timestamp outside recv_window: not executed
            "10003": AuthenticationFailed,
            "10004": AuthenticationFailed,
            "10016": VenueUnavailable,
        }
    ),
    retry_after_header=None,
    reset_ms_header="X-Bapi-Limit-Reset-Timestamp",
    # Bybit dedupes withdrawals by `requestId` itself; its withdrawal records do not carry
    # it, so a retry relies on that and the record is found by the withdrawal id.
    withdraw_client_id_param="requestId",
    withdraw_client_id_field=None,
    withdraw_history_filter=None,
    withdraw_id_filter="withdrawID",
    withdraw_params=_m(accountType="FUND"),
    withdraw_fee_inside=False,  # feeType 0 (default): the fee is charged on top
    transfer_client_id_param="transferId",
    transfer_client_id_format="uuid",
    transfer_lookup=("private_get_v5_asset_transfer_query_inter_transfer_list", "transferId"),
)

GATE = VenueProfile(
    ccxt_id="gate",
    wallets=_wallets("spot", "spot"),  # classic spot account; unified accounts not profiled
    ccxt_options=_m(**_SPOT_ONLY, fetchCurrencies=False),
    client_order_id_param="text",  # must start with "t-"; ccxt adds it to clientOrderId
    client_order_id_lookup_param="clientOrderId",
    order_paths=frozenset({"spot/orders", "spot/batch_orders"}),
    trades_cursor=TradesCursor.NONE,
    error_codes=_m(TOO_MANY_REQUESTS=RateLimited, BALANCE_NOT_ENOUGH=InsufficientFunds),
    withdraw_client_id_param="withdraw_order_id",
    withdraw_client_id_field="withdraw_order_id",
    withdraw_history_filter=None,
    withdraw_fee_inside=False,
)

MEXC = VenueProfile(
    ccxt_id="mexc",
    wallets=_wallets("spot", "spot"),
    ccxt_options=_m(**_SPOT_ONLY, fetchCurrencies=False),
    client_order_id_param="newClientOrderId",
    client_order_id_lookup_param="origClientOrderId",
    order_paths=frozenset({"order", "batchOrders"}),
    trades_cursor=TradesCursor.NONE,
    error_codes=_m(**{"429": RateLimited, "30004": InsufficientFunds, "-2011": OrderNotFound}),
    withdraw_client_id_param="withdrawOrderId",
    withdraw_client_id_field="withdrawOrderId",
    withdraw_history_filter=None,
    withdraw_fee_inside=True,
)

KUCOIN = VenueProfile(
    ccxt_id="kucoin",
    wallets=_wallets("main", "trade"),  # funding ("main") and trading ("trade") accounts
    ccxt_options=_m(fetchCurrencies=False),  # the kucoin class is spot only
    client_order_id_param="clientOid",
    client_order_id_lookup_param="clientOid",
    order_paths=frozenset({"orders", "hf/orders", "hf/orders/multi", "orders/multi"}),
    partial_answers=True,  # place answers {orderId} only
    trades_cursor=TradesCursor.NONE,
    error_codes=_m(**{"429000": RateLimited, "200004": InsufficientFunds}),
    withdraw_client_id_param=None,
    withdraw_fee_inside=False,
    transfer_client_id_param="clientOid",
    transfer_client_id_format="uuid",
    passphrase_required=True,
)

GENERIC = VenueProfile(
    ccxt_id="",
    wallets=_wallets("spot", "spot"),
    ccxt_options=_m(**_SPOT_ONLY),
    order_paths=frozenset({"order", "orders"}),
    partial_answers=True,
)

PROFILES: MappingProxyType[str, VenueProfile] = MappingProxyType(
    {p.ccxt_id: p for p in (BINANCE, OKX, BYBIT, GATE, MEXC, KUCOIN)}
)


def profile_for(ccxt_id: str) -> VenueProfile:
    return PROFILES.get(ccxt_id, GENERIC)
