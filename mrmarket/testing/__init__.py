"""Loopback stand-ins for the outside world (DESIGN §6) and their shared HTTP base."""
