"""PostgreSQL invariants of the ledger: the SQL is in 0002_ledger_invariants.sql (reviewed).

SQLite has no constraint triggers; there the same rules are enforced in ledger/services.py.
"""

from pathlib import Path

from django.db import migrations

SQL = (Path(__file__).with_suffix(".sql")).read_text()

REVERSE_SQL = """
DROP TRIGGER IF EXISTS ledger_entry_guard ON ledger_journal_entry;
DROP TRIGGER IF EXISTS ledger_posting_append_only ON ledger_posting;
DROP TRIGGER IF EXISTS ledger_posting_balanced ON ledger_posting;
DROP TRIGGER IF EXISTS ledger_entry_balanced ON ledger_journal_entry;
DROP FUNCTION IF EXISTS ledger_entry_guard_trg();
DROP FUNCTION IF EXISTS ledger_posting_append_only_trg();
DROP FUNCTION IF EXISTS ledger_posting_balanced_trg();
DROP FUNCTION IF EXISTS ledger_entry_balanced_trg();
DROP FUNCTION IF EXISTS ledger_entry_check_balanced(bigint);
"""


class PostgresRunSQL(migrations.RunSQL):
    """RunSQL that applies only on PostgreSQL (a no-op on SQLite)."""

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            super().database_forwards(app_label, schema_editor, from_state, to_state)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            super().database_backwards(app_label, schema_editor, from_state, to_state)


class Migration(migrations.Migration):
    dependencies = [("ledger", "0001_initial")]

    # One statement batch: the file holds plpgsql bodies a statement splitter must not cut.
    operations = [PostgresRunSQL(sql=[SQL], reverse_sql=[REVERSE_SQL])]
