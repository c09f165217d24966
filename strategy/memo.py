"""A memo for the reads of one batch of runs (issue 20): the runs of a batch share the
tick's market snapshots and the venue accounts' cached balances, so each is read from the
cache (and decoded) once per batch instead of once per session. Outside `batch_memo()`
nothing is memoised."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, TypeVar

T = TypeVar("T")

_SCOPE: ContextVar[dict[Hashable, Any] | None] = ContextVar("strategy_batch_memo", default=None)


@contextmanager
def batch_memo() -> Iterator[None]:
    token = _SCOPE.set({})
    try:
        yield
    finally:
        _SCOPE.reset(token)


def memoized(key: Hashable, compute: Callable[[], T]) -> T:
    """`compute()` once per key inside `batch_memo()`; every call outside it."""
    scope = _SCOPE.get()
    if scope is None:
        return compute()
    if key not in scope:
        scope[key] = compute()
    result: T = scope[key]
    return result
