"""Custody protocol helpers: request ids, cursors, the backend factory."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from django.core.exceptions import ImproperlyConfigured

from orders.custody import custody_gateway
from orders.custody.base import (
    CustodyGateway,
    cursor_rewind,
    format_timestamp,
    parse_timestamp,
    request_id_for,
)
from orders.custody.mixin.client import MixinSafeCustody


def test_request_id_is_deterministic_uuid5_and_unambiguous() -> None:
    a = request_id_for("refund", "snap-1")
    assert a == request_id_for("refund", "snap-1")
    assert uuid.UUID(a).version == 5
    assert a != request_id_for("refund", "snap-2")
    assert a != request_id_for("withdraw", "snap-1")
    assert request_id_for("a:b", "c") != request_id_for("a", "b:c")
    assert request_id_for("x", "a", "b") != request_id_for("x", "a/b")
    with pytest.raises(ValueError):
        request_id_for("refund")
    with pytest.raises(ValueError):
        request_id_for("", "x")


def test_timestamps_parse_mixin_nanoseconds_and_round_trip() -> None:
    moment = parse_timestamp("2024-03-05T06:07:08.123456789Z")
    assert moment == datetime(2024, 3, 5, 6, 7, 8, 123456, tzinfo=UTC)
    assert parse_timestamp("2024-03-05T06:07:08Z") == datetime(2024, 3, 5, 6, 7, 8, tzinfo=UTC)
    assert parse_timestamp("2024-03-05T08:07:08.5+02:00") == datetime(
        2024, 3, 5, 6, 7, 8, 500000, tzinfo=UTC
    )
    assert format_timestamp(moment) == "2024-03-05T06:07:08.123456Z"
    with pytest.raises(ValueError):
        parse_timestamp("2024-03-05T06:07:08")


def test_cursor_rewind_moves_back_once() -> None:
    assert cursor_rewind(None, seconds=60) is None
    assert (
        cursor_rewind("2024-03-05T06:07:08.123456789Z", seconds=60) == "2024-03-05T06:06:08.123456Z"
    )


def test_factory_builds_the_mixin_client_from_settings(settings) -> None:
    settings.CUSTODY_BACKEND = "mixin"
    settings.MIXIN_SESSION_ID = str(uuid.uuid4())
    settings.MIXIN_SESSION_PRIVATE_KEY = "11" * 32
    gateway = custody_gateway()
    assert isinstance(gateway, MixinSafeCustody) and isinstance(gateway, CustodyGateway)
    gateway.close()
    settings.MIXIN_SESSION_PRIVATE_KEY = ""
    with pytest.raises(ImproperlyConfigured):
        custody_gateway()
    settings.CUSTODY_BACKEND = "paper"
    with pytest.raises(ImproperlyConfigured):
        custody_gateway()
