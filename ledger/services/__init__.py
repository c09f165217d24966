"""Ledger writes: the generic double-entry core and the domain services other apps call.

Design (DESIGN §3-§4, docs/ledger.md):

* One write path. Every service builds a list of postings and calls `ledger_entry_create`
  (or `pending_resolve` for post/void). That path validates amounts and per-asset balance
  in Python, claims the idempotency key by inserting the entry (a unique column: "insert
  first, on conflict fetch and compare"), inserts the postings, then locks the touched
  accounts in id order, checks every balance flag on the new values and writes them.
  The account locks are taken last so they are held for the shortest time (hot accounts
  such as `custody:mixin` are the contention point).
* Two executions of the write. On PostgreSQL, after the Python validation, the stored
  function `ledger_entry_write` (ledger.postgres, decision 0150) does the claim, postings,
  locks and flag-checked update in one round trip; `_entry_create_portable` does the same
  steps one statement at a time with the flag check in Python (`_balances_apply`), and is
  the only write on SQLite. The ledger tests run both on PostgreSQL (`POSTGRES_FUNCTION`).
* Several entries in one transaction. Each entry locks its own accounts in id order, which
  is one global order only within the entry: a caller writing several entries in one
  transaction first calls `ledger_accounts_lock` with every account the group touches, so
  the whole group is locked in id order at once and two such transactions cannot deadlock.
* Composable transactions. The services open `transaction.atomic()` *without*
  `durable=True`: callers in other apps post ledger entries inside their own transaction
  (an order transition and its ledger entry commit together or not at all). Called outside
  any transaction, the block is the whole transaction; inside one, it is a savepoint, so a
  refused entry (insufficient funds) rolls back only itself and the caller decides.
* Idempotency. The key identifies the entry forever. Same key and same content (kind,
  reference, two-phase flag and the multiset of postings; not description/metadata) returns
  the stored entry without touching balances; different content raises
  `IdempotencyConflict` (409). Post and void carry their own key (`resolution_key`), so a
  replayed post is a no-op while a second, different post or a void after post is an error.
* Two-phase. A pending entry's postings count in `*_pending`; post moves them to
  `*_posted`, void removes them. Pending debits count against a liability's spendable
  balance (and pending credits against custody), never pending inflows.
* Exact on both databases: PostgreSQL has NUMERIC(38, 18); the embedded SQLite backend
  (`mrmarket.db.sqlite3`) stores decimals as text and sums them exactly, so no amount or
  balance is rounded on either.

The package, by responsibility:

* `entries`  — posting specs, amount and key validation, the per-asset balance check, the
  content hash (pure: no database);
* `accounts` — creating accounts, applying balance deltas under locks with the flag checks,
  locking up front every account of a group of entries (`ledger_accounts_lock`), rebuilding
  cached balances;
* `write`    — the write path: `ledger_entry_create` (stored function or step by step),
  transfers, post and void of pending entries;
* `moves`    — the domain moves other apps call (deposit, allocation, fills, fees, refunds,
  custody moves, rewards), each one entry through `write`.
"""

from ledger.services.accounts import account_ensure, ledger_accounts_lock, ledger_balances_rebuild
from ledger.services.entries import PostingSpec, amount_check, credit, debit
from ledger.services.moves import (
    custody_move_confirm,
    custody_move_fail,
    custody_move_start,
    deposit_credit,
    fee_pay,
    fill_settle,
    order_allocate,
    order_release,
    refund_confirm,
    refund_fail,
    refund_start,
    reward_credit,
    reward_receive,
    service_fee_take,
)
from ledger.services.write import (
    ledger_entry_create,
    ledger_pending_post,
    ledger_pending_void,
    ledger_transfer_create,
)

__all__ = [
    "PostingSpec",
    "account_ensure",
    "amount_check",
    "credit",
    "custody_move_confirm",
    "custody_move_fail",
    "custody_move_start",
    "debit",
    "deposit_credit",
    "fee_pay",
    "fill_settle",
    "ledger_accounts_lock",
    "ledger_balances_rebuild",
    "ledger_entry_create",
    "ledger_pending_post",
    "ledger_pending_void",
    "ledger_transfer_create",
    "order_allocate",
    "order_release",
    "refund_confirm",
    "refund_fail",
    "refund_start",
    "reward_credit",
    "reward_receive",
    "service_fee_take",
]
