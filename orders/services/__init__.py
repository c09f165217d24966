"""Writes of the order lifecycle, one module per concern:

- `transitions` — the one way an order changes state (lock, check, apply, event, schedule);
- `intents` — `POST /user-orders/market-making/intent`: a new order and its memo;
- `intake` — custody snapshots in: stored once, credited to an order or refunded;
- `moves` — money out: refunds, withdrawals to the venue, venue → custody on exit;
- `lifecycle` — the step of each state, driven by `order_step_task` and the sweeper;
- `controls` — pause, resume, stop, exit, and the operator's fail.
"""
