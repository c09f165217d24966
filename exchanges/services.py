"""exchanges: services (filled by its issue)."""
