"""campaigns: models (filled by its issue)."""
