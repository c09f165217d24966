"""ledger: services (filled by its issue)."""
