#!/usr/bin/env bash
# `make run`: migrate, seed the demo, then the Procfile's processes under mrmarket/supervisor.py:
# a process that dies is restarted with backoff, the others keep running; Ctrl-C stops all.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -f .env ] && { set -a; . ./.env; set +a; }
PY=.venv/bin/python
# The coin pages read CoinGecko through the loopback stand-in the Procfile starts.
export COINGECKO_API_BASE=${COINGECKO_API_BASE:-http://127.0.0.1:${COINGECKO_STANDIN_PORT:-8010}/api/v3}
$PY manage.py migrate --noinput -v0
$PY manage.py collectstatic --noinput -v0
seed=$(LOG_LEVEL=WARNING $PY manage.py seed_demo)
host=${MRMARKET_HOST:-127.0.0.1}; port=${MRMARKET_PORT:-8000}
cat <<MSG

  Mr.Market is starting on the embedded default (${DATABASE_URL:-SQLite under var/}, broker ${CELERY_BROKER_URL:-${REDIS_URL:-filesystem://}}).

  console  : http://$host:$port/console/
  API docs : http://$host:$port/docs
  health   : http://$host:$port/health
  status   : http://$host:$port/health/system-status

$(echo "$seed" | sed 's/^/  /')

  Ctrl-C stops web, worker and beat (a process that dies is restarted).

MSG
exec $PY -m mrmarket.supervisor --procfile "${PROCFILE:-Procfile}" \
  --status-file "${MRMARKET_VAR_DIR:-var}/run/processes.json"
