"""Price bands: Hummingbot's static price_ceiling/price_floor and its MovingPriceBand.

Static (`c_apply_price_band`): reference price >= ceiling -> no buys; <= floor -> no sells.

Moving (`moving_price_band.py`): every `price_band_refresh_time` the band is re-centred on
the current price, floor = (100 + price_floor_pct) / 100 * price and ceiling likewise
(here the pct values are fractions: floor = (1 + floor_pct) * price). The band is state
kept between ticks; `MovingBand` is an immutable value and `refreshed` returns the next one.
A band never set has set_time None and is set on the first tick, as Hummingbot's
`_set_time = 0` is always more than one refresh time before the clock.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any


@dataclass(frozen=True)
class MovingBand:
    floor: Decimal = Decimal(0)
    ceiling: Decimal = Decimal(0)
    set_at: datetime | None = None

    def refreshed(
        self,
        *,
        now: datetime,
        price: Decimal,
        floor_pct: Decimal,
        ceiling_pct: Decimal,
        refresh: timedelta,
    ) -> MovingBand:
        """Hummingbot's `check_and_update_price_band`: re-centred once `refresh` elapsed."""
        if self.set_at is not None and now < self.set_at + refresh:
            return self
        return MovingBand(
            floor=(1 + floor_pct) * price, ceiling=(1 + ceiling_pct) * price, set_at=now
        )

    def ceiling_exceeded(self, price: Decimal) -> bool:
        return price >= self.ceiling

    def floor_exceeded(self, price: Decimal) -> bool:
        return price <= self.floor

    def to_dict(self) -> dict[str, Any]:
        return {
            "floor": str(self.floor),
            "ceiling": str(self.ceiling),
            "set_at": self.set_at.isoformat() if self.set_at else None,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> MovingBand:
        if not data:
            return cls()
        set_at = data.get("set_at")
        return cls(
            floor=Decimal(data["floor"]),
            ceiling=Decimal(data["ceiling"]),
            set_at=datetime.fromisoformat(set_at) if set_at else None,
        )


def static_band_sides(
    *, price: Decimal, ceiling: Decimal | None, floor: Decimal | None
) -> tuple[bool, bool]:
    """(buys allowed, sells allowed) under the static band (`c_apply_price_band`)."""
    buys = ceiling is None or price < ceiling
    sells = floor is None or price > floor
    return buys, sells
