# Mr.Market — the two commands are `make run` and `make test`. Both set themselves up.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PYTEST_ARGS ?=

.PHONY: setup run soak test test-under-load lint format lock bench bench-ledger bench-ratelimit bench-tick bench-socket chaos clean fuzz

$(STAMP): requirements.lock
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install -q --disable-pip-version-check "uv==0.13.9"
	@$(BIN)/uv pip install -q --python $(BIN)/python -r requirements.lock
	@touch $@

setup: $(STAMP)

## Run the service on the embedded default (SQLite, filesystem broker, paper venue, demo data).
run: setup
	@scripts/run.sh

## Soak: make run's processes on a scratch var/ with 20 running demo orders while busy loops keep
## every core busy, for SOAK_MINUTES; prints crashes, restarts, health flips and ledger_verify.
SOAK_MINUTES ?= 30
SOAK_PORT ?= 8001
SOAK_VAR_DIR ?= var/soak
soak: setup
	@rm -rf $(SOAK_VAR_DIR)
	@MRMARKET_VAR_DIR=$(abspath $(SOAK_VAR_DIR)) MRMARKET_PORT=$(SOAK_PORT) \
		$(BIN)/python manage.py soak --minutes $(SOAK_MINUTES)

## Run the test suite. PostgreSQL tests run whenever PostgreSQL answers on 127.0.0.1:5432
## (scripts/pg_probe.py: a database per checkout); otherwise SQLite. DATABASE_URL / REDIS_URL
## override (DATABASE_URL=sqlite:///var/test.sqlite3 forces SQLite).
test: setup
	@url="$${DATABASE_URL:-$$($(BIN)/python scripts/pg_probe.py)}"; \
		echo "make test: database $${url:-SQLite (no PostgreSQL reachable)}"; \
		DATABASE_URL="$$url" $(BIN)/pytest $(PYTEST_ARGS)

## `make test` RUNS times in a row (default 5) while busy loops keep every core busy; stops at
## the first red run and prints each run's time and load (logs in var/suite_under_load.N.log).
RUNS ?= 5
test-under-load: setup
	@mkdir -p var && RUNS=$(RUNS) scripts/suite_under_load.sh

## schemathesis over every operation with a user token and an admin JWT, against a fresh
## instance served on 127.0.0.1:$(FUZZ_PORT): 0 server errors, 0 schema violations expected.
FUZZ_PORT ?= 8765
FUZZ_EXAMPLES ?= 25
fuzz: setup
	@FUZZ_PORT=$(FUZZ_PORT) FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) scripts/fuzz.sh

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy .

format: setup
	$(BIN)/ruff check --fix .

## Re-resolve pinned dependencies from pyproject.toml into requirements.lock.
lock: setup
	$(BIN)/uv pip compile pyproject.toml --extra dev --python-version 3.11 \
		--prerelease=if-necessary-or-explicit -o requirements.lock

## Ledger benchmark: 8 concurrent writers, 20,000 transfers over 1,000 accounts, then ledger_verify.
## PostgreSQL only; the database is created if missing and migrated. Override BENCH_DATABASE_URL;
## BENCH_LEDGER_ARGS=--python-path measures the step-by-step write. DEBUG off, as in production.
BENCH_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/mrmarket_bench
BENCH_LEDGER_ARGS ?=
bench-ledger: setup
	@DEBUG=false DATABASE_URL=$(BENCH_DATABASE_URL) $(BIN)/python manage.py ledger_bench --prepare \
		--writers 8 --transfers 20000 --accounts 1000 $(BENCH_LEDGER_ARGS)

clean:
	rm -rf var/broker var/cache var/static

## Per dialect (Binance, OKX, Bybit emulators): 4 processes placing orders through the ccxt
## gateway against the emulator's 10 orders/s (SECONDS=5 for a quick run; DIALECTS=okx for
## one; REDIS_URL selects the Redis limiter backend).
SECONDS ?= 30
DIALECTS ?= binance okx bybit
bench-ratelimit: setup
	@for d in $(DIALECTS); do $(BIN)/python -m standins.venues.bench_ratelimit --dialect $$d --seconds $(SECONDS) || exit 1; done

## Strategy tick benchmark: 1,000 sessions (2 layers, 10 s refresh) over 20 paper pairs on
## PostgreSQL + Redis (database created if missing). Override BENCH_TICK_DATABASE_URL/REDIS_URL.
## Tick every 250 ms (STRATEGY_TICK_MS): lateness includes up to one tick of quantization.
BENCH_TICK_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/mrmarket_bench_tick
BENCH_TICK_REDIS_URL ?= redis://127.0.0.1:6379/0
BENCH_TICK_MS ?= 250
## BENCH_TICK_ARGS: e.g. "--sessions 2000", "--background-load" (one core kept busy).
BENCH_TICK_ARGS ?=
bench-tick: setup
	@DATABASE_URL=$(BENCH_TICK_DATABASE_URL) REDIS_URL=$(BENCH_TICK_REDIS_URL) \
		CACHE_KEY_PREFIX=benchtick $(BIN)/python manage.py strategy_bench_tick --prepare \
		--tick-ms $(BENCH_TICK_MS) $(BENCH_TICK_ARGS)

## Chaos run (docs/chaos.md): web, two workers and beat under SIGKILLs, duplicated messages and
## custody/venue faults, 60 orders of 6 users; then settle, exit all, audit every coin.
## PostgreSQL + Redis; the database (name must contain "chaos") is wiped. Bounded in time:
## CHAOS_SECONDS of chaos, then at most 300 s to settle. Non-zero exit on any failed check.
CHAOS_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/mrmarket_chaos
CHAOS_REDIS_URL ?= redis://127.0.0.1:6379/0
CHAOS_SECONDS ?= 150
CHAOS_ARGS ?=
chaos: setup
	@DATABASE_URL=$(CHAOS_DATABASE_URL) REDIS_URL=$(CHAOS_REDIS_URL) timeout 1200 \
		$(BIN)/python -m standins.chaos --seconds $(CHAOS_SECONDS) $(CHAOS_ARGS)

## Market socket benchmark: 200 socket.io clients on one paper order book for 15 s; prints venue
## fetches per market-data slot (one shared upstream subscription). SQLite under var/, Redis cache.
BENCH_SOCKET_DATABASE_URL ?= sqlite:///var/bench_socket.sqlite3
bench-socket: setup
	@DATABASE_URL=$(BENCH_SOCKET_DATABASE_URL) REDIS_URL=$(BENCH_TICK_REDIS_URL) \
		CACHE_KEY_PREFIX=benchsocket $(BIN)/python manage.py migrate -v0 && \
		DATABASE_URL=$(BENCH_SOCKET_DATABASE_URL) REDIS_URL=$(BENCH_TICK_REDIS_URL) \
		CACHE_KEY_PREFIX=benchsocket $(BIN)/python manage.py market_socket_bench --clients 200 --seconds 15
