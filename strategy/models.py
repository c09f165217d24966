"""strategy: models (filled by its issue)."""
