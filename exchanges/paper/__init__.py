"""The paper venue: a matching engine per pair with a seeded price feed, shared by every process."""
