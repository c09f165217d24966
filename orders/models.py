"""orders: models (filled by its issue)."""
