#!/usr/bin/env bash
# `make fuzz`: schemathesis against the running app, over every operation of the served
# OpenAPI schema, once with a user token and once with an admin JWT. Fails on any 5xx or
# any response the schema does not describe (status, content type, body).
#
# A fresh embedded instance (SQLite + demo data under a temporary var/) is served by gunicorn
# on 127.0.0.1:${FUZZ_PORT}; throttles are raised so the run explores instead of collecting
# 429s. FUZZ_EXAMPLES bounds the examples per operation and phase (default 25).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
PORT=${FUZZ_PORT:-8765}
EXAMPLES=${FUZZ_EXAMPLES:-25}
WORK=$(mktemp -d /tmp/mrmarket-fuzz.XXXXXX)
export MRMARKET_VAR_DIR=$WORK/var DATABASE_URL=sqlite:///$WORK/fuzz.sqlite3
unset REDIS_URL CELERY_BROKER_URL
export THROTTLE_ANON=1000000/min THROTTLE_USER=1000000/min THROTTLE_LOGIN=1000000/min \
  THROTTLE_AUTH_FAILURE=1000000/min THROTTLE_OAUTH=1000000/min LOG_LEVEL=WARNING \
  DEBUG=false MIXIN_API_BASE=http://127.0.0.1:9 HUFI_RECORDING_ORACLE_URL=http://127.0.0.1:9 \
  HUFI_CAMPAIGN_LAUNCHER_URL=http://127.0.0.1:9
$PY manage.py migrate --noinput -v0
$PY manage.py seed_demo > /dev/null
read -r USER_TOKEN ADMIN_JWT < <($PY manage.py shell -v 0 -c '
from mrmarket.models import User
from mrmarket.services import admin_jwt_issue, operator_ensure, user_token_issue
from mrmarket.management.commands.seed_demo import DEMO_USER_ID
print(user_token_issue(user=User.objects.get(pk=DEMO_USER_ID), label="fuzz")[0],
      admin_jwt_issue(user=operator_ensure())[0])' | tail -1)
# No request-line limit: gunicorn's own 414 page is a proxy concern, not the API's.
.venv/bin/gunicorn mrmarket.wsgi -b "127.0.0.1:$PORT" -w 2 --timeout 60 --limit-request-line 0 \
  --log-level warning > "$WORK/gunicorn.log" 2>&1 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null; wait $SERVER 2>/dev/null || true' EXIT
for _ in $(seq 1 60); do
  curl -fs "http://127.0.0.1:$PORT/health/ping" > /dev/null && break
  sleep 1
done
status=0
for who in user admin; do
  token=$USER_TOKEN
  [ "$who" = admin ] && token=$ADMIN_JWT
  echo "== schemathesis with the $who token (max $EXAMPLES examples per operation)"
  # logout would revoke the token the rest of the run uses.
  .venv/bin/schemathesis run "http://127.0.0.1:$PORT/api/schema/" \
    -H "Authorization: Bearer $token" \
    --checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance \
    --exclude-path /auth/logout \
    --phases examples,coverage,fuzzing \
    --max-examples "$EXAMPLES" --seed "${FUZZ_SEED:-19}" \
    --continue-on-failure --workers 2 --request-timeout 30 \
    --report junit --report-junit-path "$WORK/$who.xml" || status=1
done
echo "reports and server log: $WORK"
exit $status
