"""Campaign launcher client (httpx): `GET /campaigns` (paginated) and `GET /campaigns/{chain}-{addr}`.

HuFi answers the listing as `{"has_more": bool, "results": [...]}` with snake_case fields.
The detail (`GET /campaigns/{chain}-{addr}`) adds the three oracle fee percentages, which
the listing lacks. `fund_amount` and `balance` are the escrow's amounts in the fund token's *base units* (an
integer string straight from the subgraph's `totalFundedAmount`); we keep the digits and
also divide by `10**fund_token_decimals` for the human amount. HuFi rejects `skip=0`
(`@IsPositive`), so the first page is asked without `skip`; `skip` is capped at 1000.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

import httpx
from eth_utils import to_checksum_address

from campaigns.hufi.errors import (
    HufiError,
    HufiFinalError,
    error_from_response,
    error_from_transport,
)

# HuFi validates `skip <= 1000` and `limit <= 1000`.
MAX_SKIP = 1000
MAX_LIMIT = 1000


@dataclass(frozen=True)
class HufiCampaign:
    chain_id: int
    address: str
    exchange_name: str
    symbol: str
    type: str
    start_date: datetime
    end_date: datetime
    fund_token: str
    fund_token_symbol: str
    fund_token_decimals: int
    fund_amount_base_units: int
    balance_base_units: int
    status: str
    daily_volume_target: Decimal | None
    manifest: dict[str, Any] = field(default_factory=dict)
    # Sum of the exchange, recording and reputation oracle fees in percent: only the detail
    # endpoint (`CampaignDataWithDetails`) carries them, so None from the listing.
    oracle_fee_percent: Decimal | None = None

    @property
    def fund_amount(self) -> Decimal:
        return scale(self.fund_amount_base_units, self.fund_token_decimals)

    @property
    def balance(self) -> Decimal:
        return scale(self.balance_base_units, self.fund_token_decimals)


def scale(base_units: int, decimals: int) -> Decimal:
    """Exact: a Decimal division by a power of ten only moves the exponent."""
    return Decimal(base_units).scaleb(-decimals)


def _base_units(value: Any, name: str) -> int:
    try:
        amount = Decimal(str(value))
    except InvalidOperation as exc:
        raise HufiFinalError(f"campaign {name} is not a number: {value!r}") from exc
    if amount != amount.to_integral_value() or amount < 0:
        raise HufiFinalError(f"campaign {name} is not a whole number of base units: {value!r}")
    return int(amount)


def _datetime(value: Any, name: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError as exc:
        raise HufiFinalError(f"campaign {name} is not ISO-8601: {value!r}") from exc
    if parsed.tzinfo is None:
        raise HufiFinalError(f"campaign {name} has no timezone: {value!r}")
    return parsed


FEE_FIELDS = (
    "exchange_oracle_fee_percent",
    "recording_oracle_fee_percent",
    "reputation_oracle_fee_percent",
)


def _fee_percent(raw: dict[str, Any]) -> Decimal | None:
    if not all(raw.get(name) not in (None, "") for name in FEE_FIELDS):
        return None
    try:
        # JSON numbers: str() first so a float never becomes Decimal noise.
        total = sum((Decimal(str(raw[name])) for name in FEE_FIELDS), Decimal(0))
    except InvalidOperation as exc:
        raise HufiFinalError(f"campaign oracle fees are not numbers: {exc!r}") from exc
    if not Decimal(0) <= total < Decimal(100):
        raise HufiFinalError(f"campaign oracle fees add up to {total}%")
    return total


def parse_campaign(raw: dict[str, Any]) -> HufiCampaign:
    """One launcher campaign into typed values; a malformed one raises `HufiFinalError`."""
    try:
        manifest = raw.get("manifest") or {}
        if isinstance(manifest, str):
            manifest = json.loads(manifest)
        details = raw.get("details") or {}
        symbol = raw.get("symbol") or raw.get("trading_pair") or manifest.get("pair") or ""
        target = (
            manifest.get("daily_volume_target")
            or details.get("daily_volume_target")
            or raw.get("daily_volume_target")
        )
        return HufiCampaign(
            chain_id=int(raw["chain_id"]),
            address=to_checksum_address(str(raw["address"])),
            exchange_name=str(raw["exchange_name"]).strip().lower(),
            symbol=str(symbol).strip().upper(),
            type=str(raw.get("type") or manifest.get("type") or "MARKET_MAKING"),
            start_date=_datetime(raw["start_date"], "start_date"),
            end_date=_datetime(raw["end_date"], "end_date"),
            fund_token=to_checksum_address(raw["fund_token"]) if raw.get("fund_token") else "",
            fund_token_symbol=str(raw.get("fund_token_symbol") or ""),
            fund_token_decimals=int(raw.get("fund_token_decimals", 18)),
            fund_amount_base_units=_base_units(raw.get("fund_amount", 0), "fund_amount"),
            balance_base_units=_base_units(raw.get("balance", 0), "balance"),
            status=str(raw.get("status") or "").lower(),
            # Manifest numbers are JSON numbers; str() first so a float never becomes Decimal noise.
            daily_volume_target=Decimal(str(target)) if target not in (None, "") else None,
            # The launcher answers the type's terms as `details`; older answers a manifest.
            manifest=(manifest or details) if isinstance(manifest, dict) else {},
            oracle_fee_percent=_fee_percent(raw),
        )
    except HufiError:
        raise
    except (KeyError, TypeError, ValueError, InvalidOperation) as exc:
        raise HufiFinalError(f"malformed campaign from the launcher: {exc!r}") from exc


class CampaignLauncherClient:
    def __init__(
        self,
        *,
        base_url: str,
        timeout: float = 5.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self._client = httpx.Client(base_url=base_url, timeout=timeout, transport=transport)

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> CampaignLauncherClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _get(self, path: str, params: dict[str, Any] | None = None) -> Any:
        what = f"GET {path}"
        try:
            response = self._client.get(path, params=params)
        except httpx.HTTPError as exc:
            raise error_from_transport(exc, what=what) from exc
        if response.status_code != 200:
            raise error_from_response(response, what=what)
        try:
            return response.json()
        except ValueError as exc:
            raise HufiFinalError(f"{what}: answer is not JSON") from exc

    def list_page(
        self, *, chain_id: int, status: str | None, limit: int, skip: int
    ) -> tuple[list[dict[str, Any]], bool]:
        params: dict[str, Any] = {"chain_id": chain_id, "limit": min(limit, MAX_LIMIT)}
        if status:
            params["status"] = status
        if skip:
            params["skip"] = skip
        body = self._get("/campaigns", params)
        if isinstance(body, list):  # tolerate a bare list: no `has_more`, page until short
            return body, len(body) >= limit
        if not isinstance(body, dict) or not isinstance(body.get("results"), list):
            raise HufiFinalError("GET /campaigns: answer has no results list")
        return body["results"], bool(body.get("has_more"))

    def iter_raw(
        self, *, chain_id: int, status: str | None = None, limit: int = 100
    ) -> Iterator[dict[str, Any]]:
        """Every campaign, page after page (skip += page size) until HuFi says no more."""
        skip = 0
        while True:
            results, has_more = self.list_page(
                chain_id=chain_id, status=status, limit=limit, skip=skip
            )
            yield from results
            skip += len(results)
            if not has_more or not results or skip > MAX_SKIP:
                return

    def list_campaigns(
        self, *, chain_id: int, status: str | None = None, limit: int = 100
    ) -> list[HufiCampaign]:
        return [
            parse_campaign(raw)
            for raw in self.iter_raw(chain_id=chain_id, status=status, limit=limit)
        ]

    def get_campaign(self, *, chain_id: int, address: str) -> HufiCampaign:
        body = self._get(f"/campaigns/{chain_id}-{address}")
        if not isinstance(body, dict):
            raise HufiFinalError("GET /campaigns/{id}: answer is not an object")
        return parse_campaign(body)
