"""A session's turn: claimed by the tick under a lease (`claim`), admitted and locked by
its run (`lease`, `locks`), released with its next due time (`lease`)."""
