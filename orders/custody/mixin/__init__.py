"""Mixin Safe API client: session-signed requests (auth), transport (http), the gateway (client)."""
