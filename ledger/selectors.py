"""ledger: selectors (filled by its issue)."""
