"""strategy: selectors (filled by its issue)."""
