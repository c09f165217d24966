"""Hummingbot's `history` metrics, exact: its own test vector and hand computations."""

from __future__ import annotations

from decimal import Decimal as D

from reports.performance import Trade, performance

BASE, QUOTE = "HBOT", "USDT"


def test_hummingbot_test_performance_metrics_vector() -> None:
    # hummingbot test/hummingbot/client/test_performance.py::test_performance_metrics:
    # BUY 10 @ 100, SELL 15 @ 120, current balances HBOT 100 / USDT 10000, the rate oracle
    # prices USDT-HBOT at 5 (so HBOT-USDT = 0.2), zero fees: trade_pnl == 799.
    # Hummingbot's start balances are current - traded volume: 105 HBOT and 9200 USDT.
    p = performance(
        base=BASE,
        quote=QUOTE,
        trades=[Trade("buy", D(100), D(10)), Trade("sell", D(120), D(15))],
        start_balances={BASE: D(105), QUOTE: D(9200)},
        cur_price=D("0.2"),
    )
    assert p.trade_pnl == D(799)
    assert (p.cur_base_bal, p.cur_quote_bal) == (D(100), D(10000))
    assert p.num_trades == 2 and p.total_pnl == D(799)


def test_volumes_averages_and_pnl_with_fees_by_hand() -> None:
    # given: start 1 BTC + 1000 USDT; buy 0.5 @ 100 (fee 0.05 USDT), sell 0.2 @ 110
    # (fee 0.0001 BTC), the mark ends at 105
    trades = [
        Trade("buy", D(100), D("0.5"), D("0.05"), QUOTE),
        Trade("sell", D(110), D("0.2"), D("0.0001"), BASE),
    ]
    p = performance(
        base=BASE,
        quote=QUOTE,
        trades=trades,
        start_balances={BASE: D(1), QUOTE: D(1000)},
        cur_price=D(105),
    )
    # then, by hand:
    assert (p.b_vol_base, p.s_vol_base, p.tot_vol_base) == (D("0.5"), D("-0.2"), D("0.3"))
    assert (p.b_vol_quote, p.s_vol_quote, p.tot_vol_quote) == (D(-50), D(22), D(-28))
    assert (p.avg_b_price, p.avg_s_price) == (D(100), D(110))
    assert p.avg_tot_price == D(72) / D("0.7")
    assert p.cur_base_bal == D("1.2999")  # 1 + 0.3 - 0.0001
    assert p.cur_quote_bal == D("971.95")  # 1000 - 28 - 0.05
    assert p.hold_value == D(1105)  # 1 * 105 + 1000
    assert p.cur_value == D("1.2999") * 105 + D("971.95")
    assert p.fee_in_quote == D("0.05") + D("0.0001") * 105
    # trade PnL is before fees: vol_base * price + vol_quote = 0.3 * 105 - 28
    assert p.trade_pnl == D("3.5")
    assert p.total_pnl == D("3.5") - p.fee_in_quote
    assert p.return_pct == p.total_pnl / D(1105)
    assert p.fees == {BASE: D("0.0001"), QUOTE: D("0.05")}


def test_a_maker_rebate_raises_pnl_and_a_third_asset_fee_needs_a_rate() -> None:
    trades = [
        Trade("buy", D(100), D(1), D("-0.01"), QUOTE),  # a rebate: the venue paid us
        Trade("sell", D(101), D(1), D("0.002"), "BNB"),
    ]
    priced = performance(
        base=BASE,
        quote=QUOTE,
        trades=trades,
        start_balances={QUOTE: D(200)},
        cur_price=D(100),
        fee_rates={"BNB": D(300)},
    )
    assert priced.trade_pnl == D(1)
    assert priced.fee_in_quote == D("-0.01") + D("0.6")
    assert priced.total_pnl == D(1) - D("0.59")
    assert priced.cur_quote_bal == D("201.01")  # the rebate is in the balance
    unpriced = performance(
        base=BASE, quote=QUOTE, trades=trades, start_balances={QUOTE: D(200)}, cur_price=D(100)
    )
    assert unpriced.fees_unpriced == ["BNB"]
    assert unpriced.fee_in_quote == D("-0.01")


def test_no_trades_gives_zeros_not_errors() -> None:
    p = performance(base=BASE, quote=QUOTE, trades=[], start_balances={QUOTE: D(5)}, cur_price=None)
    assert (p.num_trades, p.trade_pnl, p.total_pnl, p.return_pct) == (0, 0, 0, 0)
    assert p.hold_value == D(5)
