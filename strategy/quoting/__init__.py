"""Pure quoting core of the strategy runtime: no database, no network, no clock.

- `pure_mm.build_quotes`: parameters + market data + balances -> desired quotes
- `diff.diff_quotes`: desired quotes + live orders -> cancels and places (refresh
  tolerance, max order age, hanging orders)
- `ids.client_order_id`: deterministic client order ids for intents
- `stp.filter_self_trades`: never place against our own resting orders
- `arbitrage.find_arbitrage`: two-venue VWAP arbitrage net of fees, within budgets
- `campaign.tighten_for_volume`: spreads tightened to pursue a daily volume target

See docs/strategy-quoting.md.
"""
