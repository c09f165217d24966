"""Entry building blocks: posting specs, amount and key validation, the per-asset balance
check and the content hash. Pure (no database): the write path calls these first."""

from __future__ import annotations

import decimal
import hashlib
import json
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from functools import wraps
from typing import Any, ParamSpec, TypeVar

from ledger import codes
from ledger.enums import EntryKind
from ledger.exceptions import InvalidAccount, InvalidAmount, UnbalancedEntry
from ledger.models import MONEY_CONTEXT, ZERO, money_context

# NUMERIC(38, 18): 18 decimals, so amounts must be below 10^20.
_QUANTUM = Decimal("1e-18")
_LIMIT = Decimal(10) ** 20
_CTX = MONEY_CONTEXT
_P = ParamSpec("_P")
_T = TypeVar("_T")


def money_arithmetic(func: Callable[_P, _T]) -> Callable[_P, _T]:
    """Run a write path under MONEY_CONTEXT: 60 digits, and Inexact raises rather than rounds."""

    @wraps(func)
    def wrapper(*args: _P.args, **kwargs: _P.kwargs) -> _T:
        with money_context():
            return func(*args, **kwargs)

    return wrapper


_KEY_MAX = 200
ENTRY_KINDS = frozenset(EntryKind.values)


@dataclass(frozen=True)
class PostingSpec:
    """One side of a new entry: `account` is an account code (see `ledger.codes`)."""

    account: str
    asset: str
    debit: Decimal = ZERO
    credit: Decimal = ZERO


def debit(account: str, asset: str, amount: Decimal) -> PostingSpec:
    return PostingSpec(account=account, asset=asset, debit=amount)


def credit(account: str, asset: str, amount: Decimal) -> PostingSpec:
    return PostingSpec(account=account, asset=asset, credit=amount)


@dataclass(frozen=True)
class Leg:
    spec: codes.AccountSpec
    asset: str
    debit: Decimal
    credit: Decimal

    @property
    def account_key(self) -> tuple[str, str]:
        return (self.spec.code, self.asset)


# --------------------------------------------------------------------------- validation


def amount_check(value: Any, *, what: str = "amount", allow_zero: bool = False) -> Decimal:
    """A money amount as an exact Decimal with at most 18 decimals; floats are refused."""
    if isinstance(value, bool) or not isinstance(value, Decimal | int | str):
        raise InvalidAmount(
            f"{what} must be a Decimal, int or decimal string, not {type(value).__name__}."
        )
    try:
        amount = Decimal(value)
    except decimal.InvalidOperation as exc:
        raise InvalidAmount(f"{what} is not a number: {value!r}.") from exc
    if not amount.is_finite():
        raise InvalidAmount(f"{what} must be finite.")
    if amount < 0 or (amount == 0 and not allow_zero):
        raise InvalidAmount(
            f"{what} must be {'non-negative' if allow_zero else 'positive'}, got {amount}."
        )
    if amount >= _LIMIT:
        raise InvalidAmount(f"{what} {amount} exceeds the ledger's 20 integer digits.")
    try:
        amount = amount.quantize(_QUANTUM, context=_CTX)
    except decimal.Inexact as exc:
        raise InvalidAmount(f"{what} {value} has more than 18 decimals.") from exc
    return amount


def key_check(key: str, what: str = "idempotency_key") -> str:
    if not isinstance(key, str) or not key or len(key) > _KEY_MAX:
        raise InvalidAccount(f"{what} must be a non-empty string of at most {_KEY_MAX} characters.")
    return key


def legs_validate(postings: Sequence[PostingSpec]) -> list[Leg]:
    """Normalise postings and check the entry balances per asset (mirrors the PG trigger)."""
    if len(postings) < 2:
        raise UnbalancedEntry("An entry needs at least two postings.")
    legs: list[Leg] = []
    sums: dict[str, list[Decimal]] = defaultdict(lambda: [ZERO, ZERO])
    for p in postings:
        spec = codes.account_spec(p.account)
        asset = codes.asset_key(p.asset)
        dr = amount_check(p.debit, what="debit", allow_zero=True)
        cr = amount_check(p.credit, what="credit", allow_zero=True)
        if (dr > 0) == (cr > 0):
            raise InvalidAmount("A posting has exactly one positive side: a debit or a credit.")
        legs.append(Leg(spec=spec, asset=asset, debit=dr, credit=cr))
        sums[asset][0] += dr
        sums[asset][1] += cr
    for asset, (dr_sum, cr_sum) in sums.items():
        if dr_sum != cr_sum:
            raise UnbalancedEntry(
                f"Debits {dr_sum} and credits {cr_sum} differ for asset {asset}.",
                payload={"asset": asset, "debits": str(dr_sum), "credits": str(cr_sum)},
            )
    return legs


def money_text(value: Decimal) -> str:
    return format(value.quantize(_QUANTUM, context=_CTX), "f")


def content_hash(*, kind: str, reference: str, two_phase: bool, legs: Iterable[Leg]) -> str:
    """Fingerprint of what an entry does to money; the postings are compared as a multiset."""
    rows = sorted(
        [leg.spec.code, leg.asset, money_text(leg.debit), money_text(leg.credit)] for leg in legs
    )
    body = json.dumps(
        {"kind": kind, "reference": reference, "two_phase": two_phase, "postings": rows},
        separators=(",", ":"),
    )
    return hashlib.sha256(body.encode()).hexdigest()
