"""Mixin Safe API stand-in (MixinNetwork/mixin kernel rules, bot-api SDKs' protocol), on loopback."""
