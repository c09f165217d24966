-- ledger_entry_write: one new journal entry in one round trip (applied by 0003_ledger_entry_write.py).
-- Reviewed SQL. Called only by ledger/postgres.py, after ledger/services.py validated the
-- entry (amounts, one positive side per posting, >= 2 postings, balanced per asset, known
-- account codes) and computed its content hash. It follows the same steps, in the same lock
-- order, as the Python write path (services._entry_create_portable), which the ledger tests
-- run against PostgreSQL too (tests/ledger/conftest.py runs every ledger test through both).
--
-- 1. Claim the idempotency key: INSERT ... ON CONFLICT DO NOTHING. A concurrent writer of
--    the same key waits here until the first commits; then the outcome is 'exists' and the
--    caller compares the stored content (replay or IdempotencyConflict).
-- 2. One statement: insert the postings (account ids by (code, asset)), lock the touched
--    accounts FOR UPDATE in ascending id (global order: entry, then accounts by id; LockRows
--    sits above the Sort), and add the column deltas where every balance flag holds on the
--    new values (the same rules as the check constraints on ledger_account and as
--    services._flags_check). After a lock wait READ COMMITTED re-reads the row, so the
--    deltas apply to the latest committed balances.
-- 3. If an account does not exist yet, raise SQLSTATE LG002: the caller creates it (the code
--    alone determines its kind, flag and owners: ledger/codes.py) without holding any lock,
--    and calls again. If an account would break its flag, raise SQLSTATE LG001 (insufficient
--    funds), naming the first such account. Raising rolls the whole call back, entry and
--    postings included (the statement in autocommit, the caller's savepoint otherwise).
--
-- Plans: force_generic_plan (below) plans each statement once per connection.
--
-- The deferred constraint triggers of 0002 still check, at commit, that the entry has >= 2
-- postings and balances per asset; the check constraints still refuse any bad balance.

CREATE OR REPLACE FUNCTION ledger_entry_write(
    p_idempotency_key varchar,
    p_content_hash varchar,
    p_kind varchar,
    p_reference varchar,
    p_status varchar,
    p_two_phase boolean,
    p_description varchar,
    p_metadata jsonb,
    p_created_at timestamptz,
    p_codes varchar[],
    p_assets varchar[],
    p_debits numeric[],
    p_credits numeric[],
    OUT o_entry_id bigint,
    OUT o_outcome text
)
LANGUAGE plpgsql
-- Reuse one plan per statement: the custom plans PostgreSQL would otherwise re-plan for
-- the first calls (and whenever it judges them cheaper) are all the same index lookups.
SET plan_cache_mode = force_generic_plan
AS $$
DECLARE
    v_legs integer := coalesce(array_length(p_codes, 1), 0);
    v_posted integer;
    v_accounts integer;
    v_written integer;
    v_bad record;
BEGIN
    INSERT INTO ledger_journal_entry (idempotency_key, content_hash, kind, reference, status,
                                      two_phase, description, metadata, created_at)
    VALUES (p_idempotency_key, p_content_hash, p_kind, p_reference, p_status,
            p_two_phase, p_description, p_metadata, p_created_at)
    ON CONFLICT (idempotency_key) DO NOTHING
    RETURNING id INTO o_entry_id;
    IF o_entry_id IS NULL THEN
        o_outcome := 'exists';
        RETURN;
    END IF;

    WITH p AS (
        INSERT INTO ledger_posting (entry_id, account_id, debit, credit)
        SELECT o_entry_id, a.id, l.debit, l.credit
          FROM unnest(p_codes, p_assets, p_debits, p_credits) AS l(code, asset, debit, credit)
          JOIN ledger_account a ON a.code = l.code AND a.asset = l.asset
        RETURNING account_id, debit, credit
    ),
    d AS (
        SELECT p.account_id,
               sum(CASE WHEN p_two_phase THEN 0 ELSE p.debit END) AS dp,
               sum(CASE WHEN p_two_phase THEN 0 ELSE p.credit END) AS cp,
               sum(CASE WHEN p_two_phase THEN p.debit ELSE 0 END) AS dpend,
               sum(CASE WHEN p_two_phase THEN p.credit ELSE 0 END) AS cpend
          FROM p
         GROUP BY p.account_id
    ),
    l AS (
        SELECT a.id
          FROM ledger_account a
         WHERE a.id IN (SELECT d.account_id FROM d)
         ORDER BY a.id
           FOR UPDATE
    ),
    u AS (
        UPDATE ledger_account a
           SET debits_posted = a.debits_posted + d.dp,
               credits_posted = a.credits_posted + d.cp,
               debits_pending = a.debits_pending + d.dpend,
               credits_pending = a.credits_pending + d.cpend
          FROM l
          JOIN d ON d.account_id = l.id
         WHERE a.id = l.id
           AND (NOT a.debits_must_not_exceed_credits
                OR a.debits_posted + d.dp + a.debits_pending + d.dpend <= a.credits_posted + d.cp)
           AND (NOT a.credits_must_not_exceed_debits
                OR a.credits_posted + d.cp + a.credits_pending + d.cpend <= a.debits_posted + d.dp)
        RETURNING a.id
    )
    SELECT (SELECT count(*) FROM p), (SELECT count(*) FROM d), (SELECT count(*) FROM u)
      INTO v_posted, v_accounts, v_written;

    IF v_posted <> v_legs THEN
        RAISE EXCEPTION 'ledger: % of % accounts of entry % do not exist yet',
            v_legs - v_posted, v_legs, p_idempotency_key
            USING ERRCODE = 'LG002';
    END IF;
    IF v_written <> v_accounts THEN
        -- Name the first account (by id) that would break its flag; we hold its lock.
        SELECT a.code, a.asset, a.debits_must_not_exceed_credits AS debit_flag,
               a.debits_posted + d.dp + a.debits_pending + d.dpend - a.credits_posted - d.cp
                   AS debit_excess,
               a.credits_posted + d.cp + a.credits_pending + d.cpend - a.debits_posted - d.dp
                   AS credit_excess
          INTO v_bad
          FROM ledger_account a
          JOIN (SELECT p.account_id,
                       sum(CASE WHEN p_two_phase THEN 0 ELSE p.debit END) AS dp,
                       sum(CASE WHEN p_two_phase THEN 0 ELSE p.credit END) AS cp,
                       sum(CASE WHEN p_two_phase THEN p.debit ELSE 0 END) AS dpend,
                       sum(CASE WHEN p_two_phase THEN p.credit ELSE 0 END) AS cpend
                  FROM ledger_posting p
                 WHERE p.entry_id = o_entry_id
                 GROUP BY p.account_id) AS d ON d.account_id = a.id
         WHERE (a.debits_must_not_exceed_credits
                AND a.debits_posted + d.dp + a.debits_pending + d.dpend > a.credits_posted + d.cp)
            OR (a.credits_must_not_exceed_debits
                AND a.credits_posted + d.cp + a.credits_pending + d.cpend > a.debits_posted + d.dp)
         ORDER BY a.id
         LIMIT 1;
        RAISE EXCEPTION '%', CASE
                WHEN v_bad.debit_flag THEN format('%s lacks %s of asset %s.', v_bad.code,
                                                  v_bad.debit_excess, v_bad.asset)
                ELSE format('%s would send %s more of asset %s than it holds.', v_bad.code,
                            v_bad.credit_excess, v_bad.asset)
            END
            USING ERRCODE = 'LG001',
                  DETAIL = json_build_object('account', v_bad.code, 'asset', v_bad.asset)::text;
    END IF;
    o_outcome := 'created';
END;
$$;
