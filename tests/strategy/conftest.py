"""Strategy test fixtures: each test starts without decoded market snapshots in memory."""

from __future__ import annotations

import pytest

from strategy import marketdata


@pytest.fixture(autouse=True)
def _no_local_snapshots() -> None:
    marketdata._LOCAL.clear()
