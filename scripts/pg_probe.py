"""Print a PostgreSQL URL for `make test` when a server is reachable, else nothing.

`make test` runs the PostgreSQL tests (the production ledger write among them) whenever
PostgreSQL answers on PGPROBE_HOST:PGPROBE_PORT (127.0.0.1:5432) as PGPROBE_USER (postgres),
on a database named after this checkout so parallel checkouts never share one (pytest-django
creates and drops `test_<name>`). Without a server the suite stays on SQLite.
"""

from __future__ import annotations

import hashlib
import os
import sys
from pathlib import Path

import psycopg


def main() -> int:
    host = os.environ.get("PGPROBE_HOST", "127.0.0.1")
    port = os.environ.get("PGPROBE_PORT", "5432")
    user = os.environ.get("PGPROBE_USER", "postgres")
    checkout = str(Path(__file__).resolve().parent.parent)
    name = "mrmarket_" + hashlib.sha256(checkout.encode()).hexdigest()[:10]
    try:
        psycopg.connect(
            host=host, port=port, user=user, dbname="postgres", connect_timeout=2
        ).close()
    except psycopg.Error:
        return 0
    sys.stdout.write(f"postgres://{user}@{host}:{port}/{name}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
