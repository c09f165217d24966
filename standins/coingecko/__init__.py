"""A loopback stand-in of CoinGecko's public API v3 (the endpoints Mr.Market's frontend needs).

Built from CoinGecko's API reference (docs.coingecko.com, "Coins" section): the paths, the
query parameters, the answer shapes and the awkward parts:

- `/coins/{id}`: the coin object (`id, symbol, name, web_slug, asset_platform_id,
  platforms, categories, description.en, links, image{thumb,small,large}, market_cap_rank,
  market_data{current_price{vs: n}, market_cap{}, total_volume{}, high_24h{}, low_24h{},
  price_change_24h, price_change_percentage_24h, circulating_supply, total_supply,
  max_supply, last_updated}, last_updated`); an unknown id is 404 `{"error": "coin not found"}`.
- `/coins/markets?vs_currency=&category=&order=market_cap_desc&per_page=(1..250)&page=`:
  a JSON array of market rows (`id, symbol, name, image, current_price, market_cap,
  market_cap_rank, fully_diluted_valuation, total_volume, high_24h, low_24h,
  price_change_24h, price_change_percentage_24h, market_cap_change_24h,
  market_cap_change_percentage_24h, circulating_supply, total_supply, max_supply, ath,
  ath_change_percentage, ath_date, atl, atl_change_percentage, atl_date, roi,
  last_updated`); a page past the end is `[]`; numbers are JSON numbers, not strings.
- `/coins/{id}/market_chart?vs_currency=&days=` and `/market_chart/range?vs_currency=&from=&to=`
  (UNIX seconds): `{prices, market_caps, total_volumes}`, each `[[ms, value], ...]`, with
  CoinGecko's automatic granularity: 5-minutely within 1 day, hourly from 1 to 90 days,
  daily (00:00 UTC) beyond; the last point of `market_chart` is "now".
- The public rate limit (about 30 calls a minute on the demo plan): past it, 429 with
  `{"status": {"error_code": 429, "error_message": "You've exceeded the Rate Limit..."}}`.
- An unknown `vs_currency` is 400 `{"error": "invalid vs_currency"}`.

Prices are a deterministic function of time (a base price with slow waves), so tests can
assert exact figures with an injected clock. Test and demo code only.
"""

from standins.coingecko.server import CoinGeckoStandIn

__all__ = ["CoinGeckoStandIn"]
