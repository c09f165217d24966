from __future__ import annotations

import re

import pytest

from exchanges.venues.base import OrderSide
from strategy.quoting.ids import (
    MAX_LENGTH,
    ParsedClientOrderId,
    client_order_id,
    is_ours,
    parse,
)

BUY, SELL = OrderSide.BUY, OrderSide.SELL
ALNUM = re.compile(r"^[a-z0-9]+$")


def test_layout_length_and_charset() -> None:
    cid = client_order_id(session_id=42, generation=7, side=BUY, level=3)

    assert len(cid) == 22
    assert cid.startswith("mmb03")
    assert ALNUM.match(cid)


def test_longest_prefix_fits_the_gateway_limit() -> None:
    cid = client_order_id(session_id="s", generation=0, side=SELL, level=99, prefix="abcdefgh")
    assert len(cid) == MAX_LENGTH == 28
    assert ALNUM.match(cid)


def test_same_intent_same_id() -> None:
    first = client_order_id(session_id="sess-1", generation=12, side=SELL, level=0)
    retry = client_order_id(session_id="sess-1", generation=12, side=SELL, level=0)
    assert first == retry


def test_every_input_changes_the_id() -> None:
    base = {"session_id": "sess-1", "generation": 12, "side": SELL, "level": 0}
    ids = {
        client_order_id(**base),  # type: ignore[arg-type]
        client_order_id(**{**base, "session_id": "sess-2"}),  # type: ignore[arg-type]
        client_order_id(**{**base, "generation": 13}),  # type: ignore[arg-type]
        client_order_id(**{**base, "side": BUY}),  # type: ignore[arg-type]
        client_order_id(**{**base, "level": 1}),  # type: ignore[arg-type]
        client_order_id(**{**base, "kind": "h"}),  # type: ignore[arg-type]
    }
    assert len(ids) == 6


def test_unique_over_many_intents() -> None:
    ids = {
        client_order_id(session_id=session, generation=generation, side=side, level=level)
        for session in range(50)
        for generation in range(40)
        for side in (BUY, SELL)
        for level in range(5)
    }
    assert len(ids) == 50 * 40 * 2 * 5


def test_session_ids_with_separators_do_not_collide() -> None:
    a = client_order_id(session_id="1|2", generation=3, side=BUY, level=0)
    b = client_order_id(session_id="1", generation=23, side=BUY, level=0)
    assert a != b


def test_parse_and_is_ours() -> None:
    cid = client_order_id(session_id=9, generation=1, side=SELL, level=12, prefix="mrm")

    parsed = parse(cid, prefix="mrm")

    assert parsed == ParsedClientOrderId(side=SELL, level=12, digest=cid[6:])
    assert is_ours(cid, prefix="mrm")
    assert not is_ours(cid)  # default prefix "mm" does not claim an "mrm" id


@pytest.mark.parametrize(
    "foreign",
    [
        None,
        "",
        "x-abc",
        "mmb00" + "A" * 17,  # uppercase is not ours
        "mmx00" + "a" * 17,  # bad side
        "mmbx0" + "a" * 17,  # bad level
        "mmb00" + "a" * 16,  # too short
        "mmb00" + "a" * 18,  # too long
        "web_1234567890123456789012",
    ],
)
def test_foreign_ids_are_not_ours(foreign: str | None) -> None:
    assert not is_ours(foreign)


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        ({"prefix": "MM"}, "prefix"),
        ({"prefix": "abcdefghi"}, "prefix"),
        ({"prefix": "1m"}, "prefix"),
        ({"level": 100}, "level"),
        ({"generation": -1}, "generation"),
        ({"kind": "z"}, "kind"),
    ],
)
def test_invalid_arguments(kw: dict, message: str) -> None:
    args = {"session_id": 1, "generation": 0, "side": BUY, "level": 0, **kw}
    with pytest.raises(ValueError, match=message):
        client_order_id(**args)


def test_prefix_comes_from_the_setting_by_default(settings) -> None:  # type: ignore[no-untyped-def]
    settings.STRATEGY_CLIENT_ORDER_PREFIX = "mrmkt"

    cid = client_order_id(session_id=1, generation=0, side=BUY, level=0)

    assert cid.startswith("mrmktb00")
    assert is_ours(cid)
    assert not is_ours(client_order_id(session_id=1, generation=0, side=BUY, level=0, prefix="mm"))


def test_a_bad_prefix_setting_fails_loudly(settings) -> None:  # type: ignore[no-untyped-def]
    settings.STRATEGY_CLIENT_ORDER_PREFIX = "MM-"
    with pytest.raises(ValueError, match="prefix"):
        client_order_id(session_id=1, generation=0, side=BUY, level=0)
