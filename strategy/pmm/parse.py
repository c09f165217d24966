"""Parsed pure market-making parameters, memoised per distinct JSON."""

from __future__ import annotations

import json

from strategy.params import PureMarketMakingParams

_PARAMS: dict[str, PureMarketMakingParams] = {}
_MAX_CACHED = 10_000  # distinct parameter sets; the memo is cleared past this


def pmm_params(raw: dict[str, object]) -> PureMarketMakingParams:
    """Parsed parameters (validation is not free; sessions share few distinct sets).
    Raises ValidationFailed like `PureMarketMakingParams.from_dto`."""
    key = json.dumps(raw, sort_keys=True)
    params = _PARAMS.get(key)
    if params is None:
        if len(_PARAMS) > _MAX_CACHED:
            _PARAMS.clear()
        params = _PARAMS[key] = PureMarketMakingParams.from_dto(raw)
    return params
