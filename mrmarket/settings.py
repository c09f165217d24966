"""Settings, all from the environment. `.env.example` documents every variable.

Defaults are the embedded mode: SQLite under var/, Celery's filesystem broker under var/,
a file cache, generated development secrets. Production (`MRMARKET_ENV=production`) fails
fast on any missing secret.
"""

from __future__ import annotations

import hashlib
from datetime import timedelta
from pathlib import Path

import dj_database_url
import django_stubs_ext
from django.core.exceptions import ImproperlyConfigured

from mrmarket import secrets_policy
from mrmarket.env import dev_secret, env_bool, env_decimal, env_int, env_list, env_str

# Makes Django's generic classes subscriptable at runtime (`admin.ModelAdmin[Order]` as a base
# class), as mypy strict asks for (docs/architecture.md, "Types"). No other effect.
django_stubs_ext.monkeypatch()

BASE_DIR = Path(__file__).resolve().parent.parent
# Where the embedded mode keeps its database, broker folders, cache and generated secrets.
VAR_DIR = Path(env_str("MRMARKET_VAR_DIR", str(BASE_DIR / "var")))
VAR_DIR.mkdir(parents=True, exist_ok=True)

# "development" (default) or "production"; production requires every secret to be set.
MRMARKET_ENV = env_str("MRMARKET_ENV", "development")
PRODUCTION = MRMARKET_ENV == "production"

# Django's secret key; also signs admin JWTs unless ADMIN_JWT_SECRET is set.
SECRET_KEY = env_str("SECRET_KEY", required=PRODUCTION) or dev_secret(VAR_DIR / "secret_key")
# Debug pages; never on in production.
DEBUG = env_bool("DEBUG", default=not PRODUCTION) and not PRODUCTION
# Hosts this instance answers for.
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["*"] if not PRODUCTION else [])
# Origins allowed to POST to the console (behind a proxy on another origin).
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])
# Log level of the service's own loggers.
LOG_LEVEL = env_str("LOG_LEVEL", "INFO").upper()
# Log format: "json" (default) or "console" for humans.
LOG_FORMAT = env_str("LOG_FORMAT", "json")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_celery_beat",
    "mrmarket.apps.MrMarketConfig",
    "ledger",
    "exchanges",
    "exchanges.paper",
    "orders",
    "strategy",
    "campaigns",
    "reports",
    "realtime",
    "console",
]
# The fake custody (demo and tests) is a stand-in: production never installs it, whatever
# CUSTODY_BACKEND says (and the start-up checks below refuse CUSTODY_BACKEND=fake there).
if not PRODUCTION:
    INSTALLED_APPS.append("standins.custody")

MIDDLEWARE = [
    # CORS first: a browser preflight is answered before authentication can refuse it.
    "mrmarket.security.CorsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "mrmarket.security.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # JSON error bodies for unknown paths and unhandled errors, in debug too (CONTRACT).
    "mrmarket.errors.JsonErrorsMiddleware",
    "mrmarket.logging.RequestContextMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # 400 for raw exchange API key fields in any request but POST /admin/exchanges/keys.
    "mrmarket.raw_keys.RawApiKeyGuardMiddleware",
]

ROOT_URLCONF = "mrmarket.urls"
WSGI_APPLICATION = "mrmarket.wsgi.application"
AUTH_USER_MODEL = "mrmarket.User"
APPEND_SLASH = False

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# Database URL; default is a SQLite file under var/ (WAL, busy timeout, IMMEDIATE transactions).
DATABASE_URL = env_str("DATABASE_URL", f"sqlite:///{VAR_DIR / 'mrmarket.sqlite3'}")
_db = dj_database_url.parse(DATABASE_URL, conn_max_age=env_int("DB_CONN_MAX_AGE", 60))
if _db["ENGINE"] == "django.db.backends.sqlite3":
    # Django's SQLite backend with exact decimals (stored as text; see mrmarket.db.sqlite3).
    _db["ENGINE"] = "mrmarket.db.sqlite3"
    _db["OPTIONS"] = {
        # IMMEDIATE takes the write lock at BEGIN, so two writers queue instead of failing
        # with "database is locked" halfway through a transaction.
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=20000;",
    }
    _db["CONN_MAX_AGE"] = 0
DATABASES = {"default": _db}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
IS_POSTGRES = _db["ENGINE"].startswith("django.db.backends.postgresql")
IS_SQLITE = _db["ENGINE"] == "mrmarket.db.sqlite3"

# Redis URL for broker, cache and the shared rate limiter; empty means embedded mode.
REDIS_URL = env_str("REDIS_URL", "")
# Celery broker; default Redis when REDIS_URL is set, else the filesystem transport under var/.
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", REDIS_URL or "filesystem://")
_broker_dir = VAR_DIR / "broker"
CELERY_BROKER_TRANSPORT_OPTIONS: dict[str, object] = {}
if CELERY_BROKER_URL.startswith("filesystem://"):
    # Our atomic filesystem transport (write-then-rename; decision 0610), not kombu's own.
    CELERY_BROKER_TRANSPORT = "mrmarket.broker:Transport"
    for sub in ("queue", "processing", "rejected", "control"):
        (_broker_dir / sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "processing_folder": str(_broker_dir / "processing"),
        "rejected_folder": str(_broker_dir / "rejected"),
        "control_folder": str(_broker_dir / "control"),
        "processed_folder": str(_broker_dir / "processed"),
        "store_processed": False,
        # The filesystem transport takes one message per poll: at the default 1 s it falls
        # behind a 1 s strategy tick. 50 ms keeps up at negligible cost.
        "polling_interval": 0.05,
    }
elif CELERY_BROKER_URL.startswith("redis"):
    # Longer than the longest task time limit, so a late-acked task is not redelivered early.
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Hard and soft time limits (seconds) for every task unless a task sets its own.
CELERY_TASK_TIME_LIMIT = env_int("CELERY_TASK_TIME_LIMIT", 300)
CELERY_TASK_SOFT_TIME_LIMIT = env_int("CELERY_TASK_SOFT_TIME_LIMIT", 240)
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
CELERY_TIMEZONE = "UTC"
# django-celery-beat's database scheduler, plus beat's own heartbeat (mrmarket/heartbeats.py).
CELERY_BEAT_SCHEDULER = "mrmarket.heartbeats:Scheduler"
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
# Seconds between beat's own heartbeats; system status calls beat down after 2 missed periods.
BEAT_HEARTBEAT_SECONDS = env_int("BEAT_HEARTBEAT_SECONDS", 5)
# Seconds between each worker's own heartbeats; a worker is down after 2 missed periods.
WORKER_HEARTBEAT_SECONDS = env_int("WORKER_HEARTBEAT_SECONDS", 5)
# A task message waiting longer than this (seconds) means no worker is consuming: an issue.
HEALTH_QUEUE_MAX_WAIT_SECONDS = env_int("HEALTH_QUEUE_MAX_WAIT_SECONDS", 30)
CELERY_BEAT_SCHEDULE: dict[str, dict[str, object]] = {}
# On the embedded broker the strategy's time-critical tasks (the tick, the market-data
# refreshes, guard and runs it fans out, the account-sync fan-out, the intent sweep) have their own
# queue, which make run's `tick` process alone serves (the worker takes from it too), so
# the tick is never stuck behind slow work (decision 0610). Empty: one default queue (Redis
# deployments may opt in, with a worker consuming it).
STRATEGY_TICK_QUEUE = env_str(
    "STRATEGY_TICK_QUEUE", "tick" if CELERY_BROKER_URL.startswith("filesystem://") else ""
)
STRATEGY_TICK_QUEUE_TASKS = (
    "strategy_tick_task",
    "market_data_refresh_task",
    "strategy_guard_task",
    "strategy_sessions_run_task",
    "venue_accounts_sync_task",
    "strategy_sweep_task",
)
CELERY_TASK_ROUTES: dict[str, dict[str, str]] = (
    {name: {"queue": STRATEGY_TICK_QUEUE} for name in STRATEGY_TICK_QUEUE_TASKS}
    if STRATEGY_TICK_QUEUE
    else {}
)

# Cache (throttling, short-lived state): Redis when REDIS_URL is set, else files under var/.
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "mrmarket.cache.PooledRedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": env_str("CACHE_KEY_PREFIX", "mrmarket"),
        }
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(VAR_DIR / "cache"),
        }
    }

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
# Console dates and times: with seconds and UTC (mrmarket/formats/en/formats.py).
FORMAT_MODULE_PATH = ["mrmarket.formats"]
USE_I18N = False
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = DEBUG

SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if PRODUCTION else None
SESSION_COOKIE_SECURE = PRODUCTION
CSRF_COOKIE_SECURE = PRODUCTION
# Console sessions last this many seconds (an operator shift), not Django's two weeks.
SESSION_COOKIE_AGE = env_int("CONSOLE_SESSION_SECONDS", 8 * 3600)
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
# HSTS max-age in seconds on HTTPS responses (production default one year; 0 disables).
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 365 * 24 * 3600 if PRODUCTION else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", False)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# Content-Security-Policy sent on every response (production default; empty disables).
CONTENT_SECURITY_POLICY = env_str(
    "CONTENT_SECURITY_POLICY",
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'self'; "
    "form-action 'self'; frame-ancestors 'none'"
    if PRODUCTION
    else "",
)
# Browser origins allowed to call the API (the frontend, e.g. https://app.example); comma list.
CORS_ALLOWED_ORIGINS = env_list("CORS_ALLOWED_ORIGINS", [])
# Seconds a browser may cache a preflight answer.
CORS_PREFLIGHT_MAX_AGE = env_int("CORS_PREFLIGHT_MAX_AGE", 600)

REST_FRAMEWORK: dict[str, object] = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "mrmarket.authentication.BearerTokenAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "mrmarket.errors.exception_handler",
    "DEFAULT_THROTTLE_CLASSES": [
        "mrmarket.throttles.AnonRateThrottle",
        "mrmarket.throttles.UserRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        # Public, unauthenticated endpoints per client IP.
        "anon": env_str("THROTTLE_ANON", "300/min"),
        # Authenticated users.
        "user": env_str("THROTTLE_USER", "1200/min"),
        # Login attempts (POST /auth/login and /console/login/ together) per client address.
        "login": env_str("THROTTLE_LOGIN", "5/min"),
        # Failed bearer authentications per client address, then 429 until the window ends.
        "auth_failure": env_str("THROTTLE_AUTH_FAILURE", "30/min"),
        # GET /auth/oauth per client IP.
        "oauth": env_str("THROTTLE_OAUTH", "30/min"),
    },
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
# How many trusted proxies sit in front of us (0: throttle by REMOTE_ADDR, ignore X-Forwarded-For).
REST_FRAMEWORK["NUM_PROXIES"] = env_int("NUM_PROXIES", 0)

SPECTACULAR_SETTINGS = {
    "TITLE": "Mr.Market API",
    "DESCRIPTION": "Market-making service: orders, strategy, ledger, exchanges, HuFi campaigns.",
    "VERSION": "0.1.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SERVE_AUTHENTICATION": [],
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "mrmarket.schema.error_responses_hook",
    ],
}

# --- Auth -------------------------------------------------------------------------------
# The operator password for POST /auth/login (the client sends its sha256 hex). Generated
# for development; required in production.
ADMIN_PASSWORD = env_str("ADMIN_PASSWORD", required=PRODUCTION) or dev_secret(
    VAR_DIR / "admin_password", nbytes=12
)
# The staff account that admin JWTs are issued for (created by `seed_demo` / `ensure_operator`).
ADMIN_USERNAME = env_str("ADMIN_USERNAME", "admin")
# HMAC key for admin JWTs; defaults to SECRET_KEY.
ADMIN_JWT_SECRET = env_str("ADMIN_JWT_SECRET", "") or SECRET_KEY
# Admin JWT lifetime.
ADMIN_JWT_TTL = timedelta(seconds=env_int("ADMIN_JWT_TTL_SECONDS", 12 * 3600))
# User bearer token lifetime.
USER_TOKEN_TTL = timedelta(seconds=env_int("USER_TOKEN_TTL_SECONDS", 30 * 24 * 3600))
# Login policy (API and console alike, mrmarket.login_policy): this many failed logins for one
# account, or from one client address, within the window lock it for LOGIN_LOCKOUT_SECONDS.
LOGIN_LOCKOUT_FAILURES = env_int("LOGIN_LOCKOUT_FAILURES", 10)
LOGIN_FAILURE_WINDOW_SECONDS = env_int("LOGIN_FAILURE_WINDOW_SECONDS", 15 * 60)
LOGIN_LOCKOUT_SECONDS = env_int("LOGIN_LOCKOUT_SECONDS", 15 * 60)
# Rejected-request audit rows (401/403/429, refused logins) per client address and minute;
# past it the rejections are counted in the log, not the audit table.
AUDIT_REJECTED_PER_MINUTE = env_int("AUDIT_REJECTED_PER_MINUTE", 20)

# --- Mixin ------------------------------------------------------------------------------
# Base URL of Mixin's API (the OAuth and Safe API clients); tests point it at a loopback emulator.
MIXIN_API_BASE = env_str("MIXIN_API_BASE", "https://api.mixin.one")
# The bot's Mixin app id (client_id for OAuth), shown at GET /.
MIXIN_APP_ID = env_str("MIXIN_APP_ID", "00000000-0000-4000-8000-000000000000")
# OAuth client secret of the Mixin app.
MIXIN_OAUTH_CLIENT_SECRET = env_str("MIXIN_OAUTH_CLIENT_SECRET", required=PRODUCTION)
# Bot session: session id, server public key and session private key (Ed25519 seed, hex).
MIXIN_SESSION_ID = env_str("MIXIN_SESSION_ID", "")
MIXIN_SERVER_PUBLIC_KEY = env_str("MIXIN_SERVER_PUBLIC_KEY", "")
MIXIN_SESSION_PRIVATE_KEY = env_str("MIXIN_SESSION_PRIVATE_KEY", "")
# Safe spend private key (hex Ed25519 seed); Mixin custody transfers need it, without it they refuse.
MIXIN_SPEND_PRIVATE_KEY = env_str("MIXIN_SPEND_PRIVATE_KEY", "")
# HTTP timeout for Mixin calls, seconds.
MIXIN_HTTP_TIMEOUT = float(env_str("MIXIN_HTTP_TIMEOUT", "10"))

# --- Custody (orders/custody) ----------------------------------------------------------
# Which wallet the order lifecycle uses: "fake" (database-backed, demo/tests) or "mixin" (Safe API).
# Production accepts only "mixin" (checked at start, below); the default follows the environment.
CUSTODY_BACKEND = env_str("CUSTODY_BACKEND", "mixin" if PRODUCTION else "fake")
# Seconds a snapshot poll run rewinds its stored cursor, to catch snapshots that became visible late.
CUSTODY_SNAPSHOT_OVERLAP_SECONDS = env_int("CUSTODY_SNAPSHOT_OVERLAP_SECONDS", 60)
# Snapshots asked for per page (Mixin allows at most 500).
CUSTODY_SNAPSHOT_PAGE_LIMIT = env_int("CUSTODY_SNAPSHOT_PAGE_LIMIT", 100)
# Fake custody: seconds a send stays pending before it confirms (0 = immediately).
CUSTODY_FAKE_CONFIRM_SECONDS = env_int("CUSTODY_FAKE_CONFIRM_SECONDS", 0)
# Fake custody: withdrawal fee for assets without their own fee row, in the withdrawn asset.
CUSTODY_FAKE_WITHDRAWAL_FEE_DEFAULT = env_decimal("CUSTODY_FAKE_WITHDRAWAL_FEE_DEFAULT", "0")

# --- Market socket (socket.io /market, realtime/) -----------------------------------------
# How often a subscribed topic is fetched and pushed, ms (the market-data slot: 1 s).
MARKET_SOCKET_REFRESH_MS = env_int("MARKET_SOCKET_REFRESH_MS", 1000)
# Subscriptions one connection may hold at once.
MARKET_SOCKET_MAX_SUBSCRIPTIONS = env_int("MARKET_SOCKET_MAX_SUBSCRIPTIONS", 20)

# --- CoinGecko (the frontend's coin pages, through exchanges.coingecko) --------------------
# API base; `make run` points it at the loopback stand-in (standins/coingecko).
COINGECKO_API_BASE = env_str("COINGECKO_API_BASE", "https://api.coingecko.com/api/v3")
# Demo or Pro API key, sent as x-cg-demo-api-key / x-cg-pro-api-key (empty: keyless public API).
COINGECKO_API_KEY = env_str("COINGECKO_API_KEY", "")
COINGECKO_API_KEY_HEADER = env_str("COINGECKO_API_KEY_HEADER", "x-cg-demo-api-key")
# Calls per minute shared by every process (CoinGecko's public/demo plan allows about 30).
COINGECKO_CALLS_PER_MINUTE = env_int("COINGECKO_CALLS_PER_MINUTE", 30)
# How long answers are served from the cache, seconds (coin and markets; charts).
COINGECKO_CACHE_SECONDS = env_int("COINGECKO_CACHE_SECONDS", 60)
COINGECKO_CHART_CACHE_SECONDS = env_int("COINGECKO_CHART_CACHE_SECONDS", 300)

# --- HuFi -------------------------------------------------------------------------------
# HuFi recording oracle and campaign launcher base URLs (shown at GET /).
HUFI_RECORDING_ORACLE_URL = env_str("HUFI_RECORDING_ORACLE_URL", "https://ro.hu.finance")
HUFI_CAMPAIGN_LAUNCHER_URL = env_str("HUFI_CAMPAIGN_LAUNCHER_URL", "https://cl.hu.finance")
# The service wallet's EVM private key (0x hex): signs the recording oracle login and receives
# rewards. Required in production; development derives one from a seed kept under var/.
HUFI_WALLET_PRIVATE_KEY = env_str("HUFI_WALLET_PRIVATE_KEY", required=PRODUCTION) or (
    "0x" + hashlib.sha256(dev_secret(VAR_DIR / "hufi_wallet_seed").encode()).hexdigest()
)
# Chain whose campaigns we sync and join and whose reward transfers we read (137 = Polygon).
HUFI_CHAIN_ID = env_int("HUFI_CHAIN_ID", 137)
# JSON-RPC endpoint of that chain; empty disables the on-chain payout scan.
HUFI_CHAIN_RPC_URL = env_str("HUFI_CHAIN_RPC_URL", "")
# Blocks a transfer must be buried under before we record it (reorg safety).
HUFI_CHAIN_CONFIRMATIONS = env_int("HUFI_CHAIN_CONFIRMATIONS", 30)
# First block the payout scan reads when it has no cursor yet (set it near the first join).
HUFI_CHAIN_SCAN_START_BLOCK = env_int("HUFI_CHAIN_SCAN_START_BLOCK", 0)
# Blocks per eth_getLogs call, and at most this many calls per scan run.
HUFI_CHAIN_SCAN_BLOCK_RANGE = env_int("HUFI_CHAIN_SCAN_BLOCK_RANGE", 2000)
HUFI_CHAIN_SCAN_MAX_RANGES = env_int("HUFI_CHAIN_SCAN_MAX_RANGES", 25)
# Per-request HTTP timeout (seconds) for both HuFi services; short so an outage fails fast.
HUFI_HTTP_TIMEOUT = float(env_str("HUFI_HTTP_TIMEOUT", "5"))
# Overall deadline (seconds) of one campaign join, retries included; trading never waits longer.
HUFI_JOIN_DEADLINE_SECONDS = float(env_str("HUFI_JOIN_DEADLINE_SECONDS", "10"))
# Refresh the oracle access token this many seconds before its JWT `exp`.
HUFI_TOKEN_REFRESH_MARGIN_SECONDS = env_int("HUFI_TOKEN_REFRESH_MARGIN_SECONDS", 60)
# Backoff (seconds) before asking HuFi again to join a campaign its oracle does not know yet
# (`not_available`; the oracle discovers campaigns every 10 minutes): doubles from the first
# value up to the second, until the campaign ends.
HUFI_JOIN_RETRY_BASE_SECONDS = env_int("HUFI_JOIN_RETRY_BASE_SECONDS", 300)
HUFI_JOIN_RETRY_MAX_SECONDS = env_int("HUFI_JOIN_RETRY_MAX_SECONDS", 3600)
# Page size of the campaign launcher listing (HuFi caps it at 1000).
HUFI_SYNC_PAGE_LIMIT = env_int("HUFI_SYNC_PAGE_LIMIT", 100)
# Beat periods (seconds): campaign sync (hourly) and the on-chain payout scan.
HUFI_SYNC_INTERVAL_SECONDS = env_int("HUFI_SYNC_INTERVAL_SECONDS", 3600)
HUFI_PAYOUT_SCAN_INTERVAL_SECONDS = env_int("HUFI_PAYOUT_SCAN_INTERVAL_SECONDS", 300)
CELERY_BEAT_SCHEDULE["campaign-sync"] = {
    "task": "campaign_sync_task",
    "schedule": float(HUFI_SYNC_INTERVAL_SECONDS),
    "options": {"expires": HUFI_SYNC_INTERVAL_SECONDS},
}
CELERY_BEAT_SCHEDULE["campaign-payouts-scan"] = {
    "task": "campaign_payouts_scan_task",
    "schedule": float(HUFI_PAYOUT_SCAN_INTERVAL_SECONDS),
    "options": {"expires": HUFI_PAYOUT_SCAN_INTERVAL_SECONDS},
}
# Beat period (seconds) of joining campaigns for running orders and refreshing score estimates.
HUFI_PARTICIPATIONS_SYNC_INTERVAL_SECONDS = env_int(
    "HUFI_PARTICIPATIONS_SYNC_INTERVAL_SECONDS", 300
)
# Beat period (seconds) of sharing recorded payouts with users (held ones are retried).
HUFI_PAYOUT_ALLOCATE_INTERVAL_SECONDS = env_int("HUFI_PAYOUT_ALLOCATE_INTERVAL_SECONDS", 300)
CELERY_BEAT_SCHEDULE["campaign-participations-sync"] = {
    "task": "campaign_participations_sync_task",
    "schedule": float(HUFI_PARTICIPATIONS_SYNC_INTERVAL_SECONDS),
    "options": {"expires": HUFI_PARTICIPATIONS_SYNC_INTERVAL_SECONDS},
}
CELERY_BEAT_SCHEDULE["campaign-payouts-allocate"] = {
    "task": "campaign_payouts_allocate_task",
    "schedule": float(HUFI_PAYOUT_ALLOCATE_INTERVAL_SECONDS),
    "options": {"expires": HUFI_PAYOUT_ALLOCATE_INTERVAL_SECONDS},
}
# Fund token → Mixin asset, comma list of `<token address or symbol>=<Mixin asset id>`;
# without an entry a token is booked as the one exchanges.Asset with its symbol, if unique.
HUFI_REWARD_ASSETS = env_list("HUFI_REWARD_ASSETS", [])
# Ledger custody account debited when a reward arrives (the wallet's tokens are swept there).
HUFI_REWARD_CUSTODY_ACCOUNT = env_str("HUFI_REWARD_CUSTODY_ACCOUNT", "custody:mixin")
# A payout is shared by the scores of its block's UTC day minus this many days.
HUFI_PAYOUT_SCORE_DAY_OFFSET = env_int("HUFI_PAYOUT_SCORE_DAY_OFFSET", 0)

# --- Fees -------------------------------------------------------------------------------
# Mr.Market's default market-making fee as a fraction (0.001 = 0.1 %), before operator overrides.
MARKET_MAKING_FEE_DEFAULT = env_decimal("MARKET_MAKING_FEE_DEFAULT", "0.001")

# A short identifier of this build, shown as app_hash at GET / (set by the Docker build).
APP_HASH = env_str("APP_HASH", "dev")

from mrmarket.logging import configure_logging  # noqa: E402

LOGGING_CONFIG = None
configure_logging(level=LOG_LEVEL, fmt=LOG_FORMAT)

# --- Strategy runtime -------------------------------------------------------------------
# Tick period of the strategy runtime in milliseconds (beat fires strategy_tick_task at this rate).
STRATEGY_TICK_MS = env_int("STRATEGY_TICK_MS", 1000)
# Prefix of our exchange client order ids (1-8 lowercase alnum); marks an order as ours.
STRATEGY_CLIENT_ORDER_PREFIX = env_str("STRATEGY_CLIENT_ORDER_PREFIX", "mm")
# Record intents without sending them to venues (rehearsals, benchmarks).
STRATEGY_DRY_RUN = env_bool("STRATEGY_DRY_RUN", False)
# Sessions per strategy_sessions_run_task message, and at most this many claimed per tick.
STRATEGY_TICK_BATCH_SIZE = env_int("STRATEGY_TICK_BATCH_SIZE", 25)
STRATEGY_TICK_MAX_CLAIM = env_int("STRATEGY_TICK_MAX_CLAIM", 5000)
# Backpressure: a tick claims only while fewer runs than this are in flight (claimed, not
# finished). Past it the workers are behind: due sessions wait unclaimed (oldest first)
# instead of piling up in the queue until their leases expire.
STRATEGY_TICK_MAX_IN_FLIGHT = env_int("STRATEGY_TICK_MAX_IN_FLIGHT", 200)
# A pure market-making run starting later than this after its due time is shed: skipped to
# its next slot instead of doing stale work (overload keeps lateness bounded; ms).
STRATEGY_MAX_LATENESS_MS = env_int("STRATEGY_MAX_LATENESS_MS", 2000)
# ...but a session that has not run for this many refresh periods runs however late (no
# session starves when every run is late; the cadence drops to one run per this many).
STRATEGY_SHED_MAX_PERIODS = env_int("STRATEGY_SHED_MAX_PERIODS", 3)
# Seconds a claimed session stays leased to its run; an expired lease is claimed again.
STRATEGY_LEASE_SECONDS = env_int("STRATEGY_LEASE_SECONDS", 30)
# A run whose slot's market-data refresh has not landed may use a snapshot this young (ms).
STRATEGY_MARKET_DATA_MAX_AGE_MS = env_int("STRATEGY_MARKET_DATA_MAX_AGE_MS", 3000)
# Days decision records (and the market snapshots they refer to) are kept for replay.
STRATEGY_DECISION_RETENTION_DAYS = env_int("STRATEGY_DECISION_RETENTION_DAYS", 7)
# Record each quoting decision's inputs and answer (replay --decisions, report marks).
STRATEGY_DECISION_RECORDS = env_bool("STRATEGY_DECISION_RECORDS", True)
# Executor gates: intents being sent at once, in total, per venue and per session.
STRATEGY_MAX_INFLIGHT_GLOBAL = env_int("STRATEGY_MAX_INFLIGHT_GLOBAL", 64)
STRATEGY_MAX_INFLIGHT_VENUE = env_int("STRATEGY_MAX_INFLIGHT_VENUE", 16)
STRATEGY_MAX_INFLIGHT_SESSION = env_int("STRATEGY_MAX_INFLIGHT_SESSION", 4)
# Attempts of one intent for retryable venue errors (backoff 1, 2, 4 ... s) before it fails.
STRATEGY_INTENT_MAX_ATTEMPTS = env_int("STRATEGY_INTENT_MAX_ATTEMPTS", 5)
# An intent still "sending" after this many seconds is presumed orphaned by a dead worker.
STRATEGY_INTENT_SENDING_TIMEOUT_SECONDS = env_int("STRATEGY_INTENT_SENDING_TIMEOUT_SECONDS", 30)
# The sweeper re-drives an overdue intent only when its execute message is not waiting in
# the queue (strategy.dispatch), and at the latest this many seconds after it was sent.
STRATEGY_INTENT_REDRIVE_SECONDS = env_int("STRATEGY_INTENT_REDRIVE_SECONDS", 600)
# A venue account has at most one sync waiting; a lost one is replaced after this long.
STRATEGY_SYNC_WAITING_SECONDS = env_int("STRATEGY_SYNC_WAITING_SECONDS", 60)
# Risk defaults per session: open orders, notional in quote units (empty: budget only),
# and how far (fraction) a new order's price may sit from the reference price.
STRATEGY_MAX_OPEN_ORDERS = env_int("STRATEGY_MAX_OPEN_ORDERS", 40)
STRATEGY_MAX_NOTIONAL = env_str("STRATEGY_MAX_NOTIONAL", "")
STRATEGY_MAX_PRICE_DEVIATION = env_decimal("STRATEGY_MAX_PRICE_DEVIATION", "0.05")
# Seconds between tracker polls (open orders, own trades) and executor sweeps (beat).
STRATEGY_SYNC_SECONDS = env_int("STRATEGY_SYNC_SECONDS", 2)
STRATEGY_SWEEP_SECONDS = env_int("STRATEGY_SWEEP_SECONDS", 5)
# Let non-staff users run DTO sessions on the house venue accounts (off: operators only).
STRATEGY_USER_SESSIONS_ENABLED = env_bool("STRATEGY_USER_SESSIONS_ENABLED", False)
CELERY_BEAT_SCHEDULE["strategy-tick"] = {
    "task": "strategy_tick_task",
    "schedule": STRATEGY_TICK_MS / 1000,
    "options": {"expires": max(STRATEGY_TICK_MS / 1000, 1.0)},
}
CELERY_BEAT_SCHEDULE["strategy-accounts-sync"] = {
    "task": "venue_accounts_sync_task",
    "schedule": float(STRATEGY_SYNC_SECONDS),
    "options": {"expires": STRATEGY_SYNC_SECONDS * 2},
}
CELERY_BEAT_SCHEDULE["strategy-sweep"] = {
    "task": "strategy_sweep_task",
    "schedule": float(STRATEGY_SWEEP_SECONDS),
    "options": {"expires": STRATEGY_SWEEP_SECONDS * 2},
}
CELERY_BEAT_SCHEDULE["strategy-decisions-prune"] = {
    "task": "strategy_decisions_prune_task",
    "schedule": 3600.0,
    "options": {"expires": 3600},
}

# --- Exchanges --------------------------------------------------------------------------
# libsodium Box private key (32 bytes, base64 or hex) opening sealed exchange API secrets; required in production.
EXCHANGE_KEYS_PRIVATE_KEY = env_str("EXCHANGE_KEYS_PRIVATE_KEY", required=PRODUCTION) or dev_secret(
    VAR_DIR / "exchange_keys_private_key", nbytes=32
)
# SecretBox key (32 bytes, base64 or hex) encrypting exchange secrets at rest; required in production.
FIELD_ENCRYPTION_KEY = env_str("FIELD_ENCRYPTION_KEY", required=PRODUCTION) or dev_secret(
    VAR_DIR / "field_encryption_key", nbytes=32
)
# Previous FIELD_ENCRYPTION_KEYs (comma list), still accepted for decryption during a key rotation.
FIELD_ENCRYPTION_OLD_KEYS = env_list("FIELD_ENCRYPTION_OLD_KEYS", [])
# --- Order lifecycle (DESIGN §2) --------------------------------------------------------
# An unpaid memo expires after this many seconds (the order is deleted).
ORDER_MEMO_TIMEOUT_SECONDS = env_int("ORDER_MEMO_TIMEOUT_SECONDS", 15 * 60)
# A partly paid order fails (and is refunded) this long after it entered payment_incomplete.
ORDER_PAYMENT_TIMEOUT_SECONDS = env_int("ORDER_PAYMENT_TIMEOUT_SECONDS", 10 * 60)
# A custody withdrawal to the venue must confirm within this many seconds.
ORDER_WITHDRAWAL_TIMEOUT_SECONDS = env_int("ORDER_WITHDRAWAL_TIMEOUT_SECONDS", 30 * 60)
# The venue must show the deposit within this many seconds of the withdrawal confirming.
ORDER_DEPOSIT_TIMEOUT_SECONDS = env_int("ORDER_DEPOSIT_TIMEOUT_SECONDS", 30 * 60)
# An exit should finish within this many seconds; past it the sweeper alerts and keeps trying.
ORDER_EXIT_TIMEOUT_SECONDS = env_int("ORDER_EXIT_TIMEOUT_SECONDS", 60 * 60)
# Seconds between polls of a step that waits on the outside world (custody, venue).
ORDER_STEP_POLL_SECONDS = env_int("ORDER_STEP_POLL_SECONDS", 5)
# Seconds a running step holds its order before another worker may take it over.
ORDER_STEP_LEASE_SECONDS = env_int("ORDER_STEP_LEASE_SECONDS", 120)
# Seconds a paid order may be held in payment_complete (custody drift) before it is refunded.
ORDER_HOLD_TIMEOUT_SECONDS = env_int("ORDER_HOLD_TIMEOUT_SECONDS", 30 * 60)
# Refunds of one asset of one order that may fail definitely before an operator must act.
ORDER_REFUND_MAX_ROUNDS = env_int("ORDER_REFUND_MAX_ROUNDS", 3)
# Custody transfers: first retry delay (doubling per attempt without progress) and its cap.
CUSTODY_TRANSFER_RETRY_BASE_SECONDS = env_int("CUSTODY_TRANSFER_RETRY_BASE_SECONDS", 5)
CUSTODY_TRANSFER_RETRY_MAX_SECONDS = env_int("CUSTODY_TRANSFER_RETRY_MAX_SECONDS", 300)
# A custody transfer still open this long after it was created is an issue for an operator.
CUSTODY_TRANSFER_TIMEOUT_SECONDS = env_int("CUSTODY_TRANSFER_TIMEOUT_SECONDS", 60 * 60)
# Seconds a queued task (sweeper) holds its row before the sweeper may queue it again.
ORDER_QUEUE_LEASE_SECONDS = env_int("ORDER_QUEUE_LEASE_SECONDS", 60)
# Intake that has not reached the end of the snapshot list for this long is an issue.
CUSTODY_INTAKE_STALE_SECONDS = env_int("CUSTODY_INTAKE_STALE_SECONDS", 120)
# Queue the withdrawal to the venue when a payment completes (flag 1 of 2).
ORDER_WITHDRAW_ON_PAYMENT = env_bool("ORDER_WITHDRAW_ON_PAYMENT", True)
# Actually send withdrawals to venues (flag 2 of 2); off: a paid order is refunded with the reason.
ORDER_WITHDRAW_SEND = env_bool("ORDER_WITHDRAW_SEND", True)
# Relative tolerance when a venue deposit is matched by network and amount (no tx hash).
ORDER_DEPOSIT_MATCH_TOLERANCE = env_decimal("ORDER_DEPOSIT_MATCH_TOLERANCE", "0.001")
# Join a matching HuFi campaign between deposit_confirmed and created.
ORDER_JOIN_CAMPAIGNS = env_bool("ORDER_JOIN_CAMPAIGNS", True)
# Seconds between snapshot polls and sweeper runs (beat).
ORDER_INTAKE_POLL_SECONDS = env_int("ORDER_INTAKE_POLL_SECONDS", 5)
ORDER_SWEEP_SECONDS = env_int("ORDER_SWEEP_SECONDS", 10)
# Default strategy parameters for an order whose intent names none (camelCase DTO keys).
ORDER_DEFAULT_BID_SPREAD = env_str("ORDER_DEFAULT_BID_SPREAD", "0.002")
ORDER_DEFAULT_ASK_SPREAD = env_str("ORDER_DEFAULT_ASK_SPREAD", "0.002")
ORDER_DEFAULT_LAYERS = env_int("ORDER_DEFAULT_LAYERS", 2)
ORDER_DEFAULT_REFRESH_MS = env_int("ORDER_DEFAULT_REFRESH_MS", 10_000)
# Default per-level order size, in USD at the asset registry's price.
ORDER_DEFAULT_ORDER_VALUE_USD = env_decimal("ORDER_DEFAULT_ORDER_VALUE_USD", "20")
CELERY_BEAT_SCHEDULE["custody-snapshots-poll"] = {
    "task": "custody_snapshots_poll_task",
    "schedule": float(ORDER_INTAKE_POLL_SECONDS),
    "options": {"expires": ORDER_INTAKE_POLL_SECONDS * 2},
}
CELERY_BEAT_SCHEDULE["orders-sweep"] = {
    "task": "orders_sweep_task",
    "schedule": float(ORDER_SWEEP_SECONDS),
    "options": {"expires": ORDER_SWEEP_SECONDS * 2},
}
if CUSTODY_BACKEND == "fake":
    # The demo's stand-in for the blockchain between fake custody and the paper venue.
    CELERY_BEAT_SCHEDULE["fake-chain-relay"] = {
        "task": "fake_chain_relay_task",
        "schedule": 3.0,
        "options": {"expires": 6},
    }
# Seconds between reconciliations of custody accounts with the wallet and the venues.
RECONCILE_SECONDS = env_int("RECONCILE_SECONDS", 300)
# A drift is lasting (issue, venue halt) once the same amount is off in every run over this long.
RECONCILE_LASTING_SECONDS = env_int("RECONCILE_LASTING_SECONDS", 2 * RECONCILE_SECONDS)
# Release a venue halt reconciliation set as soon as a run finds that venue in balance (audited).
RECONCILE_AUTO_RELEASE = env_bool("RECONCILE_AUTO_RELEASE", True)
CELERY_BEAT_SCHEDULE["custody-reconcile"] = {
    "task": "custody_reconcile_task",
    "schedule": float(RECONCILE_SECONDS),
    "options": {"expires": RECONCILE_SECONDS},
}

# --- Start-up checks (mrmarket.secrets_policy) -------------------------------------------
# Key formats are checked in every environment; production also refuses weak secrets, the
# fake custody and a Mixin custody without its keys, so a bad deploy stops here, not at a 500.
_secrets = {
    "SECRET_KEY": SECRET_KEY,
    "ADMIN_JWT_SECRET": env_str("ADMIN_JWT_SECRET", ""),
    "ADMIN_PASSWORD": ADMIN_PASSWORD,
    "CUSTODY_BACKEND": CUSTODY_BACKEND,
    "EXCHANGE_KEYS_PRIVATE_KEY": EXCHANGE_KEYS_PRIVATE_KEY,
    "FIELD_ENCRYPTION_KEY": FIELD_ENCRYPTION_KEY,
    "HUFI_WALLET_PRIVATE_KEY": HUFI_WALLET_PRIVATE_KEY,
    "MIXIN_SESSION_ID": MIXIN_SESSION_ID,
    "MIXIN_SESSION_PRIVATE_KEY": MIXIN_SESSION_PRIVATE_KEY,
    "MIXIN_SPEND_PRIVATE_KEY": MIXIN_SPEND_PRIVATE_KEY,
    "MIXIN_SERVER_PUBLIC_KEY": MIXIN_SERVER_PUBLIC_KEY,
}
try:
    secrets_policy.key_formats_check(_secrets, FIELD_ENCRYPTION_OLD_KEYS)
    if PRODUCTION:
        secrets_policy.production_check(_secrets)
except secrets_policy.WeakSecret as _exc:
    raise ImproperlyConfigured(str(_exc)) from None
del _secrets
