-- Ledger invariants enforced by PostgreSQL itself (applied by 0002_ledger_invariants.py).
-- Reviewed SQL: keep in step with ledger/services.py, which mirrors these rules in Python
-- (the only check on SQLite) for friendlier errors.
--
-- 1. Every journal entry has >= 2 postings and, per asset, sum(debit) = sum(credit).
--    Deferred constraint triggers: checked at COMMIT (or SET CONSTRAINTS ... IMMEDIATE),
--    once the entry and all of its postings are in. One on the entry (catches an entry
--    inserted with too few or unbalanced postings), one on postings (catches a posting
--    added later to an existing entry).
-- 2. Postings are append-only; entries are never deleted, their money content never
--    changes, and their status only moves pending -> posted | voided, exactly once.
-- Errors use SQLSTATE 23514 (check_violation) so Django raises IntegrityError.

CREATE OR REPLACE FUNCTION ledger_entry_check_balanced(p_entry_id bigint) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    n_postings integer := 0;
    per_asset record;
    bad record;
    unbalanced boolean := false;
BEGIN
    -- The asset is looked up per posting by primary key (a scalar subquery) rather than by a
    -- join, so the plan stays an index lookup whatever the table statistics say.
    FOR per_asset IN
        SELECT s.asset, sum(s.debit) AS debits, sum(s.credit) AS credits, count(*) AS n
          FROM (SELECT (SELECT a.asset FROM ledger_account a WHERE a.id = p.account_id) AS asset,
                       p.debit, p.credit
                  FROM ledger_posting p
                 WHERE p.entry_id = p_entry_id) AS s
         GROUP BY s.asset
    LOOP
        n_postings := n_postings + per_asset.n;
        IF per_asset.debits <> per_asset.credits AND NOT unbalanced THEN
            bad := per_asset;
            unbalanced := true;
        END IF;
    END LOOP;
    IF n_postings < 2 THEN
        RAISE EXCEPTION 'ledger: entry % has % posting(s), needs at least 2', p_entry_id, n_postings
            USING ERRCODE = 'check_violation';
    END IF;
    IF unbalanced THEN
        RAISE EXCEPTION 'ledger: entry % is unbalanced for asset %: debits % <> credits %',
            p_entry_id, bad.asset, bad.debits, bad.credits
            USING ERRCODE = 'check_violation';
    END IF;
END;
$$;

CREATE OR REPLACE FUNCTION ledger_entry_balanced_trg() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM ledger_entry_check_balanced(NEW.id);
    RETURN NULL;
END;
$$;

CREATE OR REPLACE FUNCTION ledger_posting_balanced_trg() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM ledger_entry_check_balanced(NEW.entry_id);
    RETURN NULL;
END;
$$;

DROP TRIGGER IF EXISTS ledger_entry_balanced ON ledger_journal_entry;
CREATE CONSTRAINT TRIGGER ledger_entry_balanced
    AFTER INSERT ON ledger_journal_entry
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION ledger_entry_balanced_trg();

DROP TRIGGER IF EXISTS ledger_posting_balanced ON ledger_posting;
CREATE CONSTRAINT TRIGGER ledger_posting_balanced
    AFTER INSERT ON ledger_posting
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION ledger_posting_balanced_trg();

CREATE OR REPLACE FUNCTION ledger_posting_append_only_trg() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'ledger: postings are append-only (% of posting %)', TG_OP, OLD.id
        USING ERRCODE = 'check_violation';
END;
$$;

DROP TRIGGER IF EXISTS ledger_posting_append_only ON ledger_posting;
CREATE TRIGGER ledger_posting_append_only
    BEFORE UPDATE OR DELETE ON ledger_posting
    FOR EACH ROW EXECUTE FUNCTION ledger_posting_append_only_trg();

CREATE OR REPLACE FUNCTION ledger_entry_guard_trg() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'ledger: journal entry % cannot be deleted', OLD.id
            USING ERRCODE = 'check_violation';
    END IF;
    IF NEW.idempotency_key IS DISTINCT FROM OLD.idempotency_key
       OR NEW.content_hash IS DISTINCT FROM OLD.content_hash
       OR NEW.kind IS DISTINCT FROM OLD.kind
       OR NEW.reference IS DISTINCT FROM OLD.reference
       OR NEW.two_phase IS DISTINCT FROM OLD.two_phase
       OR NEW.created_at IS DISTINCT FROM OLD.created_at THEN
        RAISE EXCEPTION 'ledger: journal entry % content is immutable', OLD.id
            USING ERRCODE = 'check_violation';
    END IF;
    IF NEW.status IS DISTINCT FROM OLD.status
       AND NOT (OLD.status = 'pending' AND NEW.status IN ('posted', 'voided')) THEN
        RAISE EXCEPTION 'ledger: journal entry % cannot go from % to %', OLD.id, OLD.status, NEW.status
            USING ERRCODE = 'check_violation';
    END IF;
    IF OLD.status <> 'pending' AND NEW.resolution_key IS DISTINCT FROM OLD.resolution_key THEN
        RAISE EXCEPTION 'ledger: journal entry % is already resolved', OLD.id
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END;
$$;

DROP TRIGGER IF EXISTS ledger_entry_guard ON ledger_journal_entry;
CREATE TRIGGER ledger_entry_guard
    BEFORE UPDATE OR DELETE ON ledger_journal_entry
    FOR EACH ROW EXECUTE FUNCTION ledger_entry_guard_trg();
