"""Arbitrage between two venues: the run of one claimed session (`run`)."""
