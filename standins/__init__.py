"""Loopback stand-ins for the outside world (venues, Mixin, HuFi, OAuth, CoinGecko).

Test and demo code only: production settings never import or install anything from here.
Each stand-in is built from the real service's own source and documents, awkward behaviours
included (see docs/decisions and each sub-package's docstring).
"""
