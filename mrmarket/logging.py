"""structlog JSON logging with a trace id bound per request and per Celery task (DESIGN §8).

Logs are events: a constant event name plus bound context, e.g.
`log.info("order_transitioned", order_id=..., to_state=...)`.
"""

from __future__ import annotations

import logging
import logging.config
import re
import uuid
from collections.abc import Callable
from typing import Any

import structlog
from django.http import HttpRequest, HttpResponse

_TRACE_ID_RE = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")

# Keys never written to a log line whatever a caller binds (secrets must not leak).
_REDACTED_KEYS = {
    "api_secret",
    "apiSecret",
    "api_key",
    "apiKey",
    "secret",
    "password",
    "private_key",
    "token",
    "access_token",
    "refresh_token",
    "authorization",
}


def _redact(_: Any, __: str, event_dict: dict[str, Any]) -> dict[str, Any]:
    for key in list(event_dict):
        if key in _REDACTED_KEYS:
            event_dict[key] = "********"
    return event_dict


def configure_logging(*, level: str = "INFO", fmt: str = "json") -> None:
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        _redact,
    ]
    renderer: Any = (
        structlog.dev.ConsoleRenderer(colors=False)
        if fmt == "console"
        else structlog.processors.JSONRenderer()
    )
    logging.config.dictConfig(
        {
            "version": 1,
            "disable_existing_loggers": False,
            "formatters": {
                "structured": {
                    "()": structlog.stdlib.ProcessorFormatter,
                    "processors": [
                        structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                        structlog.processors.format_exc_info,
                        renderer,
                    ],
                    "foreign_pre_chain": shared,
                }
            },
            "handlers": {"default": {"class": "logging.StreamHandler", "formatter": "structured"}},
            "root": {"handlers": ["default"], "level": "WARNING"},
            "loggers": {
                name: {"level": level, "propagate": True}
                for name in (
                    "mrmarket",
                    "ledger",
                    "exchanges",
                    "orders",
                    "strategy",
                    "campaigns",
                    "celery",
                    "django.request",
                )
            },
        }
    )
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )


def new_trace_id() -> str:
    return uuid.uuid4().hex


def clean_trace_id(value: str | None) -> str:
    """A caller-supplied trace id if it is safe to log, else a fresh one."""
    if value and _TRACE_ID_RE.match(value):
        return value
    return new_trace_id()


class RequestContextMiddleware:
    """Binds a trace id (from X-Request-Id or fresh) for the request and echoes it back."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        trace_id = clean_trace_id(request.headers.get("X-Request-Id"))
        request.trace_id = trace_id  # type: ignore[attr-defined]  # our own attribute on HttpRequest
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(trace_id=trace_id, path=request.path)
        try:
            response = self.get_response(request)
        finally:
            structlog.contextvars.clear_contextvars()
        response["X-Request-Id"] = trace_id
        return response


def current_trace_id() -> str | None:
    return structlog.contextvars.get_contextvars().get("trace_id")
