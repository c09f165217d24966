"""Deterministic client order ids.

Layout (lowercase alphanumeric, at most 28 characters, the gateway's limit):

    <prefix><side b|s><level 00-99><hash: 17 base36 chars>
    e.g. "mm" "b" "00" "k3v9q0x1c2m7a8z4d"  ->  22 characters with the default prefix

The hash is sha256 over (version, session id, generation, side, level, kind), so the id
is a function of the intent: a retry of the same intent re-derives the same id and the
venue's duplicate check (or our lookup by client order id) catches it. `generation` is the
session's quote generation (tick sequence); `kind` separates regular quotes ("q"), renewed
hanging orders ("h") and arbitrage legs ("a") of one generation. 17 base36 characters are
~88 bits: a collision among a billion ids has a probability around 1e-9.

Side and level stay readable so an operator (and the orphan sweeper) can tell what an order
was for. The prefix (setting STRATEGY_CLIENT_ORDER_PREFIX, default "mm") marks our orders: `is_ours` is how the tracker recognises an order of
ours that no session owns.
"""

from __future__ import annotations

import functools
import hashlib
import re
from dataclasses import dataclass

from exchanges.venues.base import OrderSide

DEFAULT_PREFIX = "mm"
MAX_LENGTH = 28  # the gateway protocol's limit on client order ids
HASH_LENGTH = 17
MAX_PREFIX_LENGTH = MAX_LENGTH - 1 - 2 - HASH_LENGTH  # 8
KINDS = frozenset({"q", "h", "a"})
_ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyz"
_PREFIX_RE = re.compile(r"^[a-z][a-z0-9]{0,7}$")
_VERSION = "v1"


@dataclass(frozen=True)
class ParsedClientOrderId:
    side: OrderSide
    level: int
    digest: str


def configured_prefix() -> str:
    """The deployment's prefix (setting STRATEGY_CLIENT_ORDER_PREFIX, default "mm")."""
    # deferred: the quoting core is pure and imports without Django; only this reads a setting.
    from django.conf import settings

    prefix = getattr(settings, "STRATEGY_CLIENT_ORDER_PREFIX", DEFAULT_PREFIX)
    _check_prefix(prefix)
    return str(prefix)


@functools.lru_cache(maxsize=64)
def _check_prefix(prefix: str) -> None:
    if not _PREFIX_RE.match(prefix):
        raise ValueError(
            f"client order id prefix must be 1-{MAX_PREFIX_LENGTH} lowercase letters/digits "
            f"starting with a letter, got {prefix!r}"
        )


_PAIRS = [a + b for a in _ALPHABET for b in _ALPHABET]  # every 2-digit base-36 string


def _base36(number: int, width: int) -> str:
    """The `width` lowest base-36 digits of `number` (two digits per division)."""
    number %= 36**width  # the same digits, from a small int instead of a 256-bit one
    chunks = []
    for _ in range(width // 2):
        number, pair = divmod(number, 1296)
        chunks.append(_PAIRS[pair])
    if width % 2:
        chunks.append(_ALPHABET[number % 36])
    return "".join(reversed(chunks))


def client_order_id(
    *,
    session_id: str | int,
    generation: int,
    side: OrderSide,
    level: int,
    kind: str = "q",
    prefix: str | None = None,
) -> str:
    """The id of one intent. Same arguments, same id; different arguments, different ids.

    `prefix` None means the configured one (`configured_prefix()`).
    """
    prefix = configured_prefix() if prefix is None else prefix
    _check_prefix(prefix)
    if not 0 <= level <= 99:
        raise ValueError(f"level must be in [0, 99], got {level}")
    if generation < 0:
        raise ValueError(f"generation must be >= 0, got {generation}")
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {sorted(KINDS)}, got {kind!r}")
    side = OrderSide(side)
    # Only session_id is free text; prefixing its length keeps the encoding injective even
    # if it contains the "|" separator.
    session = str(session_id)
    material = f"{_VERSION}|{len(session)}:{session}|{generation}|{side.value}|{level}|{kind}"
    digest = int.from_bytes(hashlib.sha256(material.encode()).digest(), "big")
    side_char = "b" if side == OrderSide.BUY else "s"
    return f"{prefix}{side_char}{level:02d}{_base36(digest, HASH_LENGTH)}"


def parse(client_order_id: str | None, *, prefix: str | None = None) -> ParsedClientOrderId | None:
    """Side and level encoded in one of our ids, or None when it is not one of ours."""
    prefix = configured_prefix() if prefix is None else prefix
    _check_prefix(prefix)
    if not client_order_id or len(client_order_id) != len(prefix) + 3 + HASH_LENGTH:
        return None
    if not client_order_id.startswith(prefix):
        return None
    rest = client_order_id[len(prefix) :]
    side_char, level, digest = rest[0], rest[1:3], rest[3:]
    if side_char not in "bs" or not level.isdigit():
        return None
    if any(char not in _ALPHABET for char in digest):
        return None
    return ParsedClientOrderId(
        side=OrderSide.BUY if side_char == "b" else OrderSide.SELL,
        level=int(level),
        digest=digest,
    )


def is_ours(client_order_id: str | None, *, prefix: str | None = None) -> bool:
    return parse(client_order_id, prefix=prefix) is not None
