"""campaigns: selectors (filled by its issue)."""
