"""orders: selectors (filled by its issue)."""
