"""exchanges: models (filled by its issue)."""
