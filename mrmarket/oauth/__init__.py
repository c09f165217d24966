"""Mixin OAuth: the client that turns an authorization code into a Mixin profile."""
