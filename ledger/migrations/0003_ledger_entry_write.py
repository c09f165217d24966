"""PostgreSQL: the one-round-trip entry write, `ledger_entry_write` (reviewed SQL beside it).

SQLite has no stored functions; there `ledger/services.py` writes step by step.
"""

import importlib
from pathlib import Path

from django.db import migrations

SQL = (Path(__file__).with_suffix(".sql")).read_text()

REVERSE_SQL = """
DROP FUNCTION IF EXISTS ledger_entry_write(
    varchar, varchar, varchar, varchar, varchar, boolean, varchar, jsonb, timestamptz,
    varchar[], varchar[], numeric[], numeric[]
);
"""

# The module name starts with a digit, so it is imported by name.
PostgresRunSQL = importlib.import_module("ledger.migrations.0002_ledger_invariants").PostgresRunSQL


class Migration(migrations.Migration):
    dependencies = [("ledger", "0002_ledger_invariants")]

    # One statement batch: the plpgsql body must not be split.
    operations = [PostgresRunSQL(sql=[SQL], reverse_sql=[REVERSE_SQL])]
