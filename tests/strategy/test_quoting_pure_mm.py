"""Golden cases of the pure market-making quote builder."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from exchanges.venues.base import OrderSide
from strategy.params import AmountChangeType, PriceSourceType, PureMarketMakingParams
from strategy.quoting.pure_mm import build_quotes, in_filled_order_delay, source_price
from strategy.quoting.skew import bid_ask_ratios, soften, total_order_size
from strategy.quoting.types import DesiredQuote
from tests.strategy.quoting_support import NOW, book, market, pmm

D = Decimal
BUY, SELL = OrderSide.BUY, OrderSide.SELL
RICH = D(10**9)  # a budget that never binds


def quotes(params: PureMarketMakingParams | None = None, **kw: Any) -> list[DesiredQuote]:
    args: dict[str, Any] = {
        "params": params or pmm(),
        "market": market(),
        "book": book(),  # bid 99.9 / ask 100.1 -> mid 100
        "last_price": D("100"),
        "reference_price": None,
        "base_balance": D(10),
        "quote_balance": D(1000),
        "budget_base": RICH,
        "budget_quote": RICH,
        "now": NOW,
        "last_fill_at": None,
    }
    args.update(kw)
    return build_quotes(**args)


def table(result: list[DesiredQuote]) -> list[tuple[str, int, str, str]]:
    return [(q.side.value, q.level, str(q.price), str(q.amount)) for q in result]


def test_one_level_around_the_mid() -> None:
    assert table(quotes()) == [("buy", 0, "99.00", "1.000"), ("sell", 0, "101.00", "1.000")]


def test_layers_with_fixed_amount_change() -> None:
    params = pmm(number_of_layers=3, amount_change_per_layer=D("0.5"))

    assert table(quotes(params)) == [
        ("buy", 0, "99.00", "1.000"),
        ("buy", 1, "98.00", "1.500"),
        ("buy", 2, "97.00", "2.000"),
        ("sell", 0, "101.00", "1.000"),
        ("sell", 1, "102.00", "1.500"),
        ("sell", 2, "103.00", "2.000"),
    ]


def test_layers_with_percentage_amount_change() -> None:
    params = pmm(
        number_of_layers=3,
        amount_change_per_layer=D("10"),
        amount_change_type=AmountChangeType.PERCENTAGE,
    )

    # 1, 1 x 1.1, 1 x 1.1^2 = 1.21
    assert table(quotes(params)) == [
        ("buy", 0, "99.00", "1.000"),
        ("buy", 1, "98.00", "1.100"),
        ("buy", 2, "97.00", "1.210"),
        ("sell", 0, "101.00", "1.000"),
        ("sell", 1, "102.00", "1.100"),
        ("sell", 2, "103.00", "1.210"),
    ]


def test_hummingbot_order_level_spread() -> None:
    params = pmm(number_of_layers=3, order_level_spread=D("0.005"))

    assert [q.price for q in quotes(params)] == [
        D("99.00"),
        D("98.50"),
        D("98.00"),
        D("101.00"),
        D("101.50"),
        D("102.00"),
    ]


def test_price_sources() -> None:
    the_book = book(bids=[("99.50", "1")], asks=[("100.50", "1")])

    def ref(source: PriceSourceType, **kw: Any) -> Decimal | None:
        return source_price(
            params=pmm(price_source_type=source, **kw),
            book=the_book,
            last_price=D("100.20"),
            reference_price=D("250"),
        )

    assert ref(PriceSourceType.MID_PRICE) == D("100.00")
    assert ref(PriceSourceType.BEST_BID) == D("99.50")
    assert ref(PriceSourceType.BEST_ASK) == D("100.50")
    assert ref(PriceSourceType.LAST_PRICE) == D("100.20")
    # An oracle venue replaces the source whatever its type.
    assert ref(PriceSourceType.BEST_BID, oracle_exchange_name="mexc") == D("250")


def test_external_price_source_drives_the_quotes() -> None:
    params = pmm(oracle_exchange_name="mexc")
    wide_book = book(bids=[("90", "5")], asks=[("110", "5")])

    result = quotes(params, book=wide_book, reference_price=D("100"))

    assert table(result) == [("buy", 0, "99.00", "1.000"), ("sell", 0, "101.00", "1.000")]


def test_no_price_no_quotes() -> None:
    assert quotes(pmm(oracle_exchange_name="mexc"), reference_price=None) == []
    assert quotes(book=book(asks=[])) == []  # mid needs both sides
    assert quotes(market=market(active=False)) == []


def test_a_price_type_without_a_value_falls_back_to_the_mid() -> None:
    # Hummingbot's get_price(): a NaN price (no last trade yet) becomes the mid price.
    params = pmm(price_source_type=PriceSourceType.LAST_PRICE)
    assert quotes(params, last_price=None) == quotes()
    assert quotes(params, last_price=None, book=book(asks=[])) == []


def test_rounding_floors_prices_and_amounts_as_hummingbot() -> None:
    params = pmm(bid_spread=D("0.001"), ask_spread=D("0.001"), order_amount=D("1.23456"))
    the_book = book(bids=[("100.00", "5")], asks=[("100.21", "5")])  # mid 100.105

    result = quotes(params, book=the_book)

    # Hummingbot's quantize_order_price floors both sides: (price // tick) * tick.
    # bid 100.105 x 0.999 = 100.004895 -> 100.00; ask 100.105 x 1.001 = 100.205105 -> 100.20
    assert table(result) == [("buy", 0, "100.00", "1.234"), ("sell", 0, "100.20", "1.234")]


def test_round_asks_up_is_an_opt_in() -> None:
    params = pmm(
        bid_spread=D("0.001"),
        ask_spread=D("0.001"),
        order_amount=D("1.23456"),
        round_asks_up=True,
    )
    the_book = book(bids=[("100.00", "5")], asks=[("100.21", "5")])

    # Mr.Market's rule: the ask rounds away from the market, 100.205105 -> 100.21.
    assert table(quotes(params, book=the_book)) == [
        ("buy", 0, "100.00", "1.234"),
        ("sell", 0, "100.21", "1.234"),
    ]


def test_ceiling_stops_buys_at_and_above_it() -> None:
    # Hummingbot's c_apply_price_band: reference price >= ceiling -> no buys.
    assert table(quotes(pmm(ceiling_price=D("100")))) == [("sell", 0, "101.00", "1.000")]
    assert table(quotes(pmm(ceiling_price=D("99")))) == [("sell", 0, "101.00", "1.000")]
    assert len(quotes(pmm(ceiling_price=D("100.01")))) == 2


def test_floor_stops_sells_at_and_below_it() -> None:
    assert table(quotes(pmm(floor_price=D("100")))) == [("buy", 0, "99.00", "1.000")]
    assert table(quotes(pmm(floor_price=D("105")))) == [("buy", 0, "99.00", "1.000")]
    assert len(quotes(pmm(floor_price=D("99.99")))) == 2


def test_inventory_skew_golden_case_from_the_issue() -> None:
    # base 10 at price 100, quote 3000, one level of size 1, target 50 %, multiplier 1:
    # Hummingbot doubles the bid and zeroes the ask.
    params = pmm(inventory_target_base_ratio=D("0.5"), inventory_range_multiplier=D(1))

    result = quotes(params, base_balance=D(10), quote_balance=D(3000))

    assert table(result) == [("buy", 0, "99.00", "2.000")]


def test_inventory_skew_ratio_values() -> None:
    size = total_order_size([D(1)])  # 2: one level on each side
    assert size == D(2)

    def ratios(base: str, quote: str) -> tuple[Decimal, Decimal]:
        r = bid_ask_ratios(
            base_amount=D(base),
            quote_amount=D(quote),
            price=D(100),
            target_base_ratio=D("0.5"),
            base_asset_range=size,
        )
        return r.bid, r.ask

    assert ratios("10", "3000") == (D(2), D(0))  # far below target
    assert ratios("20", "2000") == (D(1), D(1))  # on target
    assert ratios("19", "2100") == (D("1.5"), D("0.5"))  # halfway into the lower range
    assert ratios("21", "1900") == (D("0.5"), D("1.5"))  # halfway into the upper range
    assert ratios("30", "1000") == (D(0), D(2))  # far above target
    assert ratios("0", "0") == (D(0), D(0))  # nothing to quote with


def test_inventory_skew_factor_softens_hummingbot() -> None:
    params = pmm(inventory_target_base_ratio=D("0.5"), inventory_skew_factor=D("0.5"))

    result = quotes(params, base_balance=D(10), quote_balance=D(3000))

    assert table(result) == [("buy", 0, "99.00", "1.500"), ("sell", 0, "101.00", "0.500")]
    zero = soften(
        bid_ask_ratios(
            base_amount=D(0),
            quote_amount=D(0),
            price=D(1),
            target_base_ratio=D("0.5"),
            base_asset_range=D(1),
        ),
        D("0.5"),
    )
    assert (zero.bid, zero.ask) == (D(0), D(0))


def test_budget_trims_outer_levels_first() -> None:
    params = pmm(number_of_layers=3)

    result = quotes(params, budget_quote=D("150"), budget_base=D("1.5"))

    # buys: 1 @ 99 (99 spent), 51 left -> 51/98 = 0.520 @ 98, level 2 dropped
    # sells: 1, then the 0.5 left, level 2 dropped
    assert table(result) == [
        ("buy", 0, "99.00", "1.000"),
        ("buy", 1, "98.00", "0.520"),
        ("sell", 0, "101.00", "1.000"),
        ("sell", 1, "102.00", "0.500"),
    ]


def test_budget_counts_the_maker_fee_on_buys() -> None:
    result = quotes(market=market(maker_fee=D("0.01")), budget_quote=D("99"))

    # 99 / (99 x 1.01) = 0.9900.. -> 0.990
    assert table(result)[0] == ("buy", 0, "99.00", "0.990")


def test_budget_too_small_for_the_venue_minimum_quotes_nothing_on_that_side() -> None:
    result = quotes(market=market(min_notional=D("10")), budget_quote=D("5"), budget_base=D(0))
    assert result == []


def test_crossing_filter_drops_bids_at_or_above_the_best_ask() -> None:
    # Last price far above the book: bids built around it would take the asks.
    params = pmm(price_source_type=PriceSourceType.LAST_PRICE, number_of_layers=2)

    result = quotes(params, last_price=D("102"))

    # bids 100.98, 99.96: the first is >= best ask 100.1 and goes; asks 103.02, 104.04 stay
    assert table(result) == [
        ("buy", 1, "99.96", "1.000"),
        ("sell", 0, "103.02", "1.000"),
        ("sell", 1, "104.04", "1.000"),
    ]


def test_crossing_filter_drops_asks_at_or_below_the_best_bid() -> None:
    params = pmm(price_source_type=PriceSourceType.LAST_PRICE)

    result = quotes(params, last_price=D("98"))

    assert table(result) == [("buy", 0, "97.02", "1.000")]  # ask 98.98 <= best bid 99.9


def test_minimums_and_max_amount() -> None:
    assert quotes(market=market(min_amount=D("2"))) == []
    assert quotes(market=market(min_notional=D("100"))) == table_free(
        [("sell", 0, "101.00", "1.000")]
    )
    capped = quotes(pmm(order_amount=D("5")), market=market(max_amount=D("2.5")))
    assert [q.amount for q in capped] == [D("2.500"), D("2.500")]


def table_free(rows: list[tuple[str, int, str, str]]) -> list[DesiredQuote]:
    return [DesiredQuote(OrderSide(s), lvl, D(p), D(a)) for s, lvl, p, a in rows]


def test_filled_order_delay_holds_quotes_back() -> None:
    params = pmm(filled_order_delay_ms=60_000)
    recent: datetime = NOW - timedelta(seconds=30)
    old: datetime = NOW - timedelta(seconds=60)

    assert quotes(params, last_fill_at=recent) == []
    assert in_filled_order_delay(params=params, now=NOW, last_fill_at=recent) is True
    assert len(quotes(params, last_fill_at=old)) == 2
    assert in_filled_order_delay(params=params, now=NOW, last_fill_at=None) is False


def test_deterministic() -> None:
    params = pmm(number_of_layers=4, inventory_target_base_ratio=D("0.3"))
    assert quotes(params) == quotes(params)
