"""A report bundle: the report, the facts it was computed from, and a SHA-256 over both.

`hash = sha256(canonical({"facts": ..., "report": ...}))` (`reports.canonical`). Anyone
holding the bundle recomputes the report from its facts and the hash from both; a
changed fact, a changed figure or a changed hash shows. The facts carry the venue trade ids
and the ledger entries' idempotency keys, so each can also be checked against the venue's
own trade history and our ledger.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from reports.canonical import content_hash, jsonable
from reports.facts import order_facts
from reports.report import report_from_facts

BUNDLE_VERSION = 1


def bundle_build(
    *, order_id: uuid.UUID | str, start: datetime | None, end: datetime
) -> dict[str, Any]:
    facts = jsonable(order_facts(order_id=order_id, start=start, end=end))
    report = jsonable(report_from_facts(facts))
    return {
        "version": BUNDLE_VERSION,
        "hash": content_hash({"facts": facts, "report": report}),
        "report": report,
        "facts": facts,
    }


def bundle_verify(bundle: dict[str, Any]) -> list[str]:
    """What does not hold in a bundle (empty: it checks out)."""
    problems: list[str] = []
    if bundle.get("version") != BUNDLE_VERSION:
        problems.append(f"unknown bundle version {bundle.get('version')!r}")
        return problems
    facts, report = bundle.get("facts"), bundle.get("report")
    if not isinstance(facts, dict) or not isinstance(report, dict):
        return ["facts and report must be objects"]
    try:
        recomputed = jsonable(report_from_facts(facts))
    except (KeyError, TypeError, ValueError, ArithmeticError) as exc:
        return [f"facts cannot be recomputed: {exc}"]
    for key in sorted(set(recomputed) | set(report)):
        if recomputed.get(key) != report.get(key):
            problems.append(f"report.{key} differs from its recomputation from the facts")
    digest = content_hash({"facts": facts, "report": report})
    if digest != bundle.get("hash"):
        problems.append(f"hash {bundle.get('hash')} != recomputed {digest}")
    return problems
