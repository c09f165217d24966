"""orders: services (filled by its issue)."""
