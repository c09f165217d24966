"""ledger: models (filled by its issue)."""
