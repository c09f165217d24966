"""The live market socket: socket.io namespace `/market` served under ASGI beside Django.

See `realtime.hub` for the design (one shared upstream subscription per (venue, symbol,
kind), fed from the market-data cache, pushed to every subscriber) and `realtime.namespace`
for the events of CONTRACT "Market data socket".
"""
