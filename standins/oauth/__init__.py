"""Mixin OAuth stand-in (`POST /oauth/token`, `GET /me`), on loopback."""
