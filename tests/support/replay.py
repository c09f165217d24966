"""`manage.py replay --json` as the report tests read it."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.core.management import call_command


def replay_json(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict[str, Any]]:
    """Run `replay --json` with `args`; its exit code and its JSON output."""
    code = 0
    try:
        call_command("replay", "--json", *args)
    except SystemExit as exc:
        code = int(exc.code or 0)
    return code, json.loads(capsys.readouterr().out)
