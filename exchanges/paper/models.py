"""Paper venue state (filled by the exchanges issue)."""
