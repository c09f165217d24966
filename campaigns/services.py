"""campaigns: services (filled by its issue)."""
