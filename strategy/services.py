"""strategy: services (filled by its issue)."""
