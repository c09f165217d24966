"""`mrmarket.pg.array_literal`: what PostgreSQL reads back is exactly what was sent, for
every kind of value the tick's batch writes carry (and hostile text)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mrmarket.pg import array_literal, server_cursor

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]


def _roundtrip(values: Sequence[object], kind: str) -> list[object]:
    with server_cursor() as cursor:
        cursor.execute(f"SELECT unnest(%s::{kind}[])", [array_literal(values)])
        return [r[0] for r in cursor.fetchall()]


def test_text_with_every_special_character_comes_back_as_sent() -> None:
    values = ['a"b', "c\\d", "{x}", "1,2", " padded ", "", "NULL", "null", "é/ü", "\n\t", None]
    assert _roundtrip(values, "text") == values


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.none(),
            st.text(
                alphabet=st.characters(blacklist_characters="\x00", blacklist_categories=["Cs"])
            ),
        )
    )
)
def test_any_text_comes_back_as_sent(values: list[str | None]) -> None:
    assert _roundtrip(list(values), "text") == values


def test_numbers_bools_and_times_keep_their_exact_values() -> None:
    assert _roundtrip(
        [Decimal("0.000000000000000001"), Decimal("-12345678901234567890.5"), None], "numeric"
    ) == [
        Decimal("0.000000000000000001"),
        Decimal("-12345678901234567890.5"),
        None,
    ]
    assert _roundtrip([0, -1, 2**62, None], "bigint") == [0, -1, 2**62, None]
    assert _roundtrip([True, False, None], "boolean") == [True, False, None]
    at = datetime(2026, 12, 3, 18, 0, 0, 123456, tzinfo=UTC)
    other = datetime(2026, 12, 3, 20, 30, tzinfo=timezone(timedelta(hours=2, minutes=30)))
    back = _roundtrip([at, other, None], "timestamptz")
    assert back[0] == at and back[1] == other and back[2] is None


def test_json_documents_are_stored_as_jsonb() -> None:
    docs = [{"a": 'x"y', "b": [1, "2"]}, {"k": "\\"}, None]
    back = _roundtrip([None if d is None else json.dumps(d) for d in docs], "jsonb")
    # Django's connection hands jsonb back as text (it decodes JSON itself).
    assert [None if b is None else json.loads(str(b)) for b in back] == docs


def test_a_naive_datetime_is_refused() -> None:
    with pytest.raises(ValueError, match="naive"):
        array_literal([datetime(2026, 1, 1)])  # noqa: DTZ001 - the case under test
