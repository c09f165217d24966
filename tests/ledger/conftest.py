"""On PostgreSQL every ledger test runs twice: through the stored function `ledger_entry_write`
(the default write) and through the step-by-step Python write (the only one on SQLite).

So the property, concurrency, replay and domain tests hold both paths to the same rules,
and the two cannot drift apart silently (decision 0150).
"""

from __future__ import annotations

import pytest
from django.conf import settings

from ledger.services import write as ledger_write

WRITE_PATHS = ["function", "python"]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    pinned = any(
        "ledger_write_path" in str(mark.args[0])
        for mark in metafunc.definition.iter_markers("parametrize")
    )
    if "ledger_write_path" in metafunc.fixturenames and settings.IS_POSTGRES and not pinned:
        metafunc.parametrize("ledger_write_path", WRITE_PATHS, indirect=True)


@pytest.fixture(autouse=True)
def ledger_write_path(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    path: str = getattr(request, "param", "python")
    monkeypatch.setattr(ledger_write, "POSTGRES_FUNCTION", path == "function")
    return path
