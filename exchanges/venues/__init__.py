"""Trading venues: the gateway protocol and its implementations (ccxt, paper)."""
