#!/usr/bin/env bash
# `make fuzz`: schemathesis against the running app, over every operation of the served
# OpenAPI schema, once with a user token and once with an admin JWT. Fails on any 5xx or
# any response the schema does not describe (status, content type, body).
#
# A fresh, healthy embedded instance (SQLite + demo data under a temporary var/): gunicorn on
# 127.0.0.1:${FUZZ_PORT}, a Celery worker and beat (so /health/system-status has the evidence
# of a running service, not the honest 503 of a world with no worker), the loopback CoinGecko
# stand-in on ${FUZZ_PORT}+1 and the Mixin OAuth stand-in on ${FUZZ_PORT}+2 (an upstream that
# answers, so a 503 means our fault). Throttles (ours and our CoinGecko call budget) are
# raised so the run explores instead of collecting 429s and 503s. FUZZ_EXAMPLES bounds the
# examples per operation and phase (default 25); FUZZ_PHASES the phases; FUZZ_SEED the seed.
set -euo pipefail
SECONDS=0
cd "$(dirname "$0")/.."
PY=.venv/bin/python
PORT=${FUZZ_PORT:-8765}
CG_PORT=$((PORT + 1))
MIXIN_PORT=$((PORT + 2))
EXAMPLES=${FUZZ_EXAMPLES:-25}
PHASES=${FUZZ_PHASES:-examples,coverage,fuzzing}
# One worker thread: on CPython 3.11.7 two threads building hypothesis strategies at once can
# hit "SystemError: AST constructor recursion depth mismatch" (a CPython race, fixed later),
# which aborts a whole phase and leaves the run invalid.
WORKERS=${FUZZ_WORKERS:-1}
# A client waits as long as gunicorn lets a request run (--timeout 60): on this shared 2-core
# machine at load 15+, a write waiting on SQLite's single writer (worker, tick and beat write
# too) took over 30 s twice (GET /health, POST /admin/grow/exchange/add), a read timeout that
# is neither a 5xx nor a schema violation.
REQUEST_TIMEOUT=${FUZZ_REQUEST_TIMEOUT:-60}
WORK=$(mktemp -d /tmp/mrmarket-fuzz.XXXXXX)
export MRMARKET_VAR_DIR=$WORK/var DATABASE_URL=sqlite:///$WORK/fuzz.sqlite3
unset REDIS_URL CELERY_BROKER_URL
export THROTTLE_ANON=1000000/min THROTTLE_USER=1000000/min THROTTLE_LOGIN=1000000/min \
  THROTTLE_AUTH_FAILURE=1000000/min THROTTLE_OAUTH=1000000/min LOG_LEVEL=WARNING \
  DEBUG=false MIXIN_API_BASE=http://127.0.0.1:$MIXIN_PORT \
  MIXIN_APP_ID=11111111-1111-4111-8111-111111111111 MIXIN_OAUTH_CLIENT_SECRET=fuzz-oauth HUFI_RECORDING_ORACLE_URL=http://127.0.0.1:9 \
  HUFI_CAMPAIGN_LAUNCHER_URL=http://127.0.0.1:9 \
  COINGECKO_API_BASE=http://127.0.0.1:$CG_PORT/api/v3 COINGECKO_CALLS_PER_MINUTE=1000000
# Migrate, seed and issue the two tokens in one process (each Django start costs seconds of
# CPU here: ccxt and the apps' imports).
read -r USER_TOKEN ADMIN_JWT < <($PY manage.py shell -v 0 -c '
import io
from django.core.management import call_command
call_command("migrate", interactive=False, verbosity=0)
call_command("seed_demo", stdout=io.StringIO())
from mrmarket.models import User
from mrmarket.services import admin_jwt_issue, operator_ensure, user_token_issue
from mrmarket.management.commands.seed_demo import DEMO_USER_ID
print(user_token_issue(user=User.objects.get(pk=DEMO_USER_ID), label="fuzz")[0],
      admin_jwt_issue(user=operator_ensure())[0])' | tail -1)
# A failed preparation would leave no tokens and a run of 401s that looks green.
[[ "$USER_TOKEN" == mmu_* && -n "$ADMIN_JWT" ]] || { echo "fuzz: preparing the instance failed" >&2; exit 1; }
PIDS=()
trap 'for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true' EXIT
# No request-line limit: gunicorn's own 414 page is a proxy concern, not the API's.
# --preload: the app is imported once, then forked into the two workers.
.venv/bin/gunicorn mrmarket.wsgi -b "127.0.0.1:$PORT" -w 2 --preload --timeout 60 --limit-request-line 0 \
  --log-level warning > "$WORK/gunicorn.log" 2>&1 &
PIDS+=($!)
$PY -m standins.coingecko.server "$CG_PORT" > "$WORK/coingecko.log" 2>&1 &
PIDS+=($!)
$PY -m standins.oauth.emulator "$MIXIN_PORT" "$MIXIN_APP_ID" "$MIXIN_OAUTH_CLIENT_SECRET" \
  > "$WORK/mixin-oauth.log" 2>&1 &
PIDS+=($!)
# One worker for the default queue and the strategy tick's (make run splits them, decision 0610).
.venv/bin/celery -A mrmarket worker --loglevel WARNING --concurrency 1 --without-gossip \
  --without-mingle --queues "celery,${STRATEGY_TICK_QUEUE:-tick}" > "$WORK/worker.log" 2>&1 &
PIDS+=($!)
.venv/bin/celery -A mrmarket beat --loglevel WARNING \
  > "$WORK/beat.log" 2>&1 &
PIDS+=($!)
healthy=
for _ in $(seq 1 120); do
  if curl -fs "http://127.0.0.1:$PORT/health/system-status" > /dev/null; then healthy=1; break; fi
  sleep 1
done
if [ -z "$healthy" ]; then
  echo "the fuzz instance never became healthy:" >&2
  curl -s "http://127.0.0.1:$PORT/health/system-status" >&2 || true
  exit 1
fi
echo "== instance ready in ${SECONDS} s (migrate, demo seed, web, worker, beat, stand-ins)"
# The two runs go side by side, each in its own process (one thread each, see WORKERS).
fuzz_one() {
  local who=$1 token=$2
  # logout would revoke the token the rest of the run uses.
  .venv/bin/schemathesis run "http://127.0.0.1:$PORT/api/schema/" \
    -H "Authorization: Bearer $token" \
    --checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance \
    --exclude-path /auth/logout \
    --phases "$PHASES" \
    --max-examples "$EXAMPLES" --seed "${FUZZ_SEED:-19}" \
    --continue-on-failure --workers "$WORKERS" --request-timeout "$REQUEST_TIMEOUT" \
    --report junit --report-junit-path "$WORK/$who.xml" > "$WORK/$who.log" 2>&1
}
fuzz_one user "$USER_TOKEN" &
USER_RUN=$!
fuzz_one admin "$ADMIN_JWT" &
ADMIN_RUN=$!
status=0
wait $USER_RUN || status=1
wait $ADMIN_RUN || status=1
for who in user admin; do
  echo "== schemathesis with the $who token (max $EXAMPLES examples per operation, phases $PHASES)"
  cat "$WORK/$who.log"
done
echo "== fuzz done in ${SECONDS} s; reports and server logs: $WORK"
exit $status
