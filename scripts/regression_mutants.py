"""Show that the custody regression tests of issue [1/11] fail without their fix.

Each mutant puts one defect seen in the operator's fault run back into the code (a textual
edit of the fixed line), runs the test written for it, and restores the file. A mutant whose
test still passes is a test that would not have caught the defect: the script exits 1.

    python scripts/regression_mutants.py            # all mutants (PostgreSQL via DATABASE_URL)
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Mutant:
    defect: str
    path: str
    fixed: str
    broken: str
    test: str


MUTANTS = [
    Mutant(
        "a rejected payment's refund (no order) is never driven",
        "orders/services/transfers.py",
        "            status__in=OPEN_TRANSFER_STATUSES,\n        )\n        .exclude(",
        "            status__in=OPEN_TRANSFER_STATUSES, order__isnull=False,\n        )\n"
        "        .exclude(",
        "tests/orders/test_custody_driver.py::test_a_rejected_payments_refund_is_sent_and_confirmed",
    ),
    Mutant(
        "a refund not yet sent counts as a drift (one stuck refund halts the service)",
        "orders/services/reconcile.py",
        "    low, high = posted - out, posted + into\n",
        "    low, high = posted - out, posted - out\n",
        "tests/orders/test_reconcile.py::test_a_refund_not_yet_sent_is_in_transit_not_a_drift",
    ),
    Mutant(
        "a retryable error on an exit's venue withdrawal is only ever looked up",
        "orders/services/transfers.py",
        "        elif transfer.status == T.PENDING:\n            _send(transfer)\n",
        "        elif transfer.status == T.PENDING and not transfer.attempts:\n"
        "            _send(transfer)\n",
        "tests/orders/test_custody_driver.py::"
        "test_a_retryable_error_on_an_exits_venue_withdrawal_does_not_strand_the_exit",
    ),
    Mutant(
        "a user's payment is matched as a venue withdrawal arriving",
        "orders/services/moves.py",
        "    if snapshot.opponent_id or snapshot.memo_hex or snapshot.amount <= 0:\n",
        "    if snapshot.amount <= 0:\n",
        "tests/orders/test_custody_driver.py::"
        "test_a_users_payment_is_never_taken_for_a_venue_withdrawal_arriving",
    ),
    Mutant(
        "a duplicated reconciliation run makes a drift lasting",
        "orders/services/reconcile.py",
        "        lasting = since is not None and now - since >= window\n",
        "        lasting = since is not None\n",
        "tests/orders/test_reconcile.py::test_a_drift_lasts_only_when_the_same_amount_is_off_over_the_window",
    ),
    Mutant(
        "expiry ignores a payment stored before the deadline but not processed",
        "orders/services/lifecycle.py",
        "    if not intake.intake_caught_up(moment=order.deadline_at):\n",
        "    if False:\n",
        "tests/orders/test_custody_driver.py::test_expiry_waits_for_intake_to_read_past_the_deadline",
    ),
    Mutant(
        "the sweeper queues every open transfer on every sweep",
        "orders/services/transfers.py",
        "            Q(next_attempt_at__lte=now) | Q(next_attempt_at__isnull=True),\n",
        "            Q(next_attempt_at__lte=now) | Q(next_attempt_at__isnull=True) | Q(pk__gt=0),\n",
        "tests/orders/test_custody_driver.py::test_the_sweeper_queues_only_what_is_due_and_not_already_queued",
    ),
]


def run(mutant: Mutant, tree: Path) -> tuple[bool, bool]:
    """(test passes on the fixed code, test fails on the mutant), in `tree` (a copy)."""
    path = tree / mutant.path
    original = path.read_text()
    if original.count(mutant.fixed) != 1:
        raise SystemExit(f"{mutant.path}: the fixed line is not there once: {mutant.fixed!r}")
    pytest = [
        sys.executable,
        "-m",
        "pytest",
        "-q",
        "-p",
        "no:randomly",
        "-x",
        "--reuse-db",
        mutant.test,
    ]
    env = {**os.environ}
    fixed_ok = subprocess.run(pytest, cwd=tree, env=env, capture_output=True).returncode == 0  # noqa: S603
    try:
        path.write_text(original.replace(mutant.fixed, mutant.broken))
        caught = subprocess.run(pytest, cwd=tree, env=env, capture_output=True).returncode != 0  # noqa: S603
    finally:
        path.write_text(original)
    return fixed_ok, caught


def _interrupted(signum: int, frame: object) -> None:
    raise SystemExit(f"interrupted by signal {signum}")  # runs the restoring `finally`


def main() -> int:
    # A mutant must never outlive the run: a kill (timeout, Ctrl-C) restores the file first.
    signal.signal(signal.SIGTERM, _interrupted)
    signal.signal(signal.SIGHUP, _interrupted)
    bad = 0
    # Mutants are applied to a copy of the checkout, never to the files other runs import.
    with tempfile.TemporaryDirectory(prefix="mutants-") as tmp:
        tree = Path(tmp) / "tree"
        shutil.copytree(
            ROOT, tree, ignore=shutil.ignore_patterns(".git", ".venv", "var", "__pycache__")
        )
        for mutant in MUTANTS:
            bad += _report(mutant, *run(mutant, tree))
    print(f"{len(MUTANTS) - bad}/{len(MUTANTS)} defects caught by their regression test")
    return 1 if bad else 0


def _report(mutant: Mutant, fixed_ok: bool, caught: bool) -> int:
    verdict = "caught" if fixed_ok and caught else "NOT CAUGHT" if fixed_ok else "FIX FAILS"
    print(f"{verdict:10}  {mutant.defect}\n            {mutant.test}", flush=True)
    return int(verdict != "caught")


if __name__ == "__main__":
    raise SystemExit(main())
