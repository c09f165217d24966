from __future__ import annotations

import json
import logging

import structlog

from mrmarket.logging import configure_logging


def test_log_lines_are_json_with_bound_context_and_no_secrets(capsys) -> None:
    configure_logging(level="INFO", fmt="json")
    try:
        structlog.contextvars.bind_contextvars(trace_id="t-1", order_id="o-9")
        structlog.get_logger("mrmarket.test").info(
            "thing_happened", api_secret="hunter2", amount="1.5"
        )
    finally:
        structlog.contextvars.clear_contextvars()
    line = capsys.readouterr().err.strip().splitlines()[-1]
    event = json.loads(line)
    assert event["event"] == "thing_happened"
    assert event["trace_id"] == "t-1" and event["order_id"] == "o-9"
    assert event["api_secret"] == "********"
    assert "hunter2" not in line
    assert event["level"] == "info"
    logging.getLogger("mrmarket").handlers.clear()
