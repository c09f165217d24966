"""Loopback venue emulators (Binance spot, OKX v5, Bybit v5) for tests, demos and benchmarks."""
