"""The chaos run (`make chaos`): the service's processes under faults, then a settle and an
audit of every coin. Test tooling only; nothing here is imported by the product.

- `faults`: the fault plan (in Redis, shared by every process) and its injection at the
  custody and venue boundaries (the fake custody and the paper venue), plus duplicated
  task messages at the broker boundary.
- `launch`: a Celery worker or beat with the faults installed (`python -m standins.chaos.launch`).
- `run`: the driver: processes, users and orders over the REST API, kills and restarts, then
  settle, exit, checks (`python -m standins.chaos`).
- `checks`: the final figures and the pass/fail checks.
"""
