"""Parsed pure market-making parameters, memoised per distinct JSON, with their content
hash (the decision records' `params_hash`): one serialisation per run, not one per use."""

from __future__ import annotations

import json

from strategy.decisions import params_text_hash
from strategy.params import PureMarketMakingParams

_PARAMS: dict[str, tuple[PureMarketMakingParams, str]] = {}
_MAX_CACHED = 10_000  # distinct parameter sets; the memo is cleared past this


def pmm_params_and_digest(raw: dict[str, object]) -> tuple[PureMarketMakingParams, str]:
    """Parsed parameters (validation is not free; sessions share few distinct sets) and
    `strategy.decisions.params_hash(raw)`, from one serialisation of `raw`.
    Raises ValidationFailed like `PureMarketMakingParams.from_dto`."""
    key = json.dumps(raw, sort_keys=True)
    found = _PARAMS.get(key)
    if found is None:
        if len(_PARAMS) > _MAX_CACHED:
            _PARAMS.clear()
        params = PureMarketMakingParams.from_dto(raw)
        found = _PARAMS[key] = (params, params_text_hash(key))
    return found


def pmm_params(raw: dict[str, object]) -> PureMarketMakingParams:
    return pmm_params_and_digest(raw)[0]
