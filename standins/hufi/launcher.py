"""HuFi's campaign launcher server, on loopback (Hu-Fi/hufi `campaign-launcher/server`).

From `modules/campaigns/campaigns.controller.ts` and `campaigns.dto.ts`:
- `GET /campaigns?chain_id=&status=&limit=&skip=` → `{has_more, results}`; `limit` and
  `skip` must be positive (`@IsPositive`, so `skip=0` is a 400) and at most 1000; the page
  is read as `limit + 1` rows to set `has_more`. A row is `CampaignData`: amounts in the
  fund token's base units as strings, the type-specific targets under `details`.
- `GET /campaigns/{chain_id}-{address}` → `CampaignDataWithDetails`: the row plus the three
  oracle fee percentages and `reserved_funds` (only here: the listing has no fees); an
  unknown campaign is Nest's `NotFoundException` (404).
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from eth_utils import to_checksum_address

from mrmarket.testing.loopback import LoopbackRequest, LoopbackResponse
from standins.hufi.common import Clock, FaultyServer, iso, utc_now

# `GetCampaignsQueryDto`: limit is capped to correspond to skip's maximum.
MAX_LIMIT = 1000
MAX_SKIP = 1000


def campaign_payload(
    *,
    chain_id: int = 137,
    address: str | None = None,
    exchange_name: str = "mexc",
    symbol: str = "HMT/USDT",
    start_date: datetime | None = None,
    end_date: datetime | None = None,
    fund_amount: int = 1000 * 10**18,
    fund_token: str = "0x" + "1" * 40,
    fund_token_symbol: str = "HMT",
    fund_token_decimals: int = 18,
    balance: int | None = None,
    status: str = "active",
    daily_volume_target: float | int | str = 100000,
    type: str = "MARKET_MAKING",
    oracle_fees: tuple[str, str, str] = ("1", "1", "1"),
    now: datetime | None = None,
) -> dict[str, Any]:
    """A launcher campaign as HuFi answers it, with its fees (exchange, recording,
    reputation oracle, in percent) kept for the detail endpoint."""
    moment = now or utc_now()
    start = start_date or moment - timedelta(days=1)
    end = end_date or moment + timedelta(days=6)
    return {
        "chain_id": chain_id,
        "address": to_checksum_address(address or "0x" + secrets.token_hex(20)),
        "type": type,
        "exchange_name": exchange_name,
        "symbol": symbol,
        "details": {"daily_volume_target": daily_volume_target},
        "start_date": iso(start),
        "end_date": iso(end),
        "fund_amount": str(fund_amount),
        "fund_token": to_checksum_address(fund_token),
        "fund_token_symbol": fund_token_symbol,
        "fund_token_decimals": fund_token_decimals,
        "status": status,
        "launcher": to_checksum_address("0x" + "2" * 40),
        "exchange_oracle": to_checksum_address("0x" + "3" * 40),
        "recording_oracle": to_checksum_address("0x" + "4" * 40),
        "reputation_oracle": to_checksum_address("0x" + "5" * 40),
        "balance": str(fund_amount if balance is None else balance),
        "amount_paid": "0",
        "intermediate_results_url": None,
        "final_results_url": None,
        "created_at": int(start.timestamp() * 1000),
        "cancellation_requested_at": None,
        "finalized_at": None,
        # Not part of the listing: served by the detail endpoint only.
        "_fees": tuple(str(Decimal(f)) for f in oracle_fees),
    }


def _public(campaign: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in campaign.items() if not k.startswith("_")}


class CampaignLauncherEmulator(FaultyServer):
    def __init__(self, *, clock: Clock = utc_now) -> None:
        super().__init__(clock=clock)
        self.campaigns: list[dict[str, Any]] = []
        self.add_route("GET", "/campaigns", self._list)
        self.add_route("GET", "/campaigns/{key}", self._detail)

    def add_campaign(self, **kwargs: Any) -> dict[str, Any]:
        """Adds a campaign; the stored row is returned, so a test may spoil it in place."""
        campaign = campaign_payload(now=self.clock(), **kwargs)
        with self.lock:
            self.campaigns.append(campaign)
        return campaign

    def set_status(self, address: str, status: str) -> None:
        with self.lock:
            for campaign in self.campaigns:
                if campaign["address"].lower() == address.lower():
                    campaign["status"] = status

    def _list(self, request: LoopbackRequest) -> LoopbackResponse:
        errors = []
        try:
            chain_id = int(request.query["chain_id"])
        except (KeyError, ValueError):
            chain_id = 0
            errors.append("chainId must be one of the following values: 1, 137")
        try:
            limit = int(request.query.get("limit", "10"))
            skip = int(request.query["skip"]) if "skip" in request.query else 0
        except ValueError:
            return self.invalid(request, ["limit must be a number", "skip must be a number"])
        if not 0 < limit <= MAX_LIMIT:
            errors.append(f"limit must be a positive number not greater than {MAX_LIMIT}")
        if "skip" in request.query and not 0 < skip <= MAX_SKIP:
            errors.append(f"skip must be a positive number not greater than {MAX_SKIP}")
        if errors:
            return self.invalid(request, errors)
        status = request.query.get("status")
        with self.lock:
            rows = [
                _public(c)
                for c in self.campaigns
                if c["chain_id"] == chain_id and (not status or c["status"] == status)
            ]
        page = rows[skip : skip + limit + 1]
        return LoopbackResponse(200, {"has_more": len(page) > limit, "results": page[:limit]})

    def _detail(self, request: LoopbackRequest) -> LoopbackResponse:
        chain_id, _, address = request.params["key"].partition("-")
        with self.lock:
            for campaign in self.campaigns:
                if str(campaign["chain_id"]) == chain_id and (
                    campaign["address"].lower() == address.lower()
                ):
                    fees = campaign["_fees"]
                    return LoopbackResponse(
                        200,
                        {
                            **_public(campaign),
                            "exchange_oracle_fee_percent": float(fees[0]),
                            "recording_oracle_fee_percent": float(fees[1]),
                            "reputation_oracle_fee_percent": float(fees[2]),
                            "reserved_funds": "0",
                        },
                    )
        return LoopbackResponse(404, {"message": "Not Found", "status_code": 404})
