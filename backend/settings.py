"""Settings for the medical aid back office, read from the environment (see .env.example).

Production is a set of environment values, not a separate code path.
"""

import os
from email.utils import getaddresses
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured
from kombu import Exchange, Queue

from core.broker.probe import redis_answers

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
# Local convenience: .env fills in what the real environment does not set (the real environment wins).
environ.Env.read_env(BASE_DIR / ".env")
DATA_DIR = Path(env.str("DATA_DIR", default=str(BASE_DIR / "data")))  # SQLite file, e-mails, reports

DEBUG = env.bool("DJANGO_DEBUG", default=False)
SECRET_KEY = env.str("DJANGO_SECRET_KEY", default="")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("DJANGO_SECRET_KEY must be set when DJANGO_DEBUG is off")
    SECRET_KEY = "insecure-dev-only-key"  # development only, guarded by DEBUG
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["localhost", "127.0.0.1"] if DEBUG else [])

# --- HTTPS and cookies: secure by default in production (`manage.py check --deploy` is clean) --------
# Cookies only over HTTPS, and the CSRF cookie out of JavaScript's reach; development (DEBUG on) serves
# plain HTTP on 127.0.0.1, so there the defaults are off.
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=not DEBUG)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=not DEBUG)
CSRF_COOKIE_HTTPONLY = True
SESSION_COOKIE_HTTPONLY = True
# HSTS: browsers use HTTPS only for this long (seconds). Start low when first enabling HTTPS.
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 31_536_000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=not DEBUG)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=False)  # opt-in: hard to undo
# Opt-in: redirect plain HTTP to HTTPS here (off when a proxy or load balancer already does).
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=False)
# Opt-in, only behind a proxy that sets X-Forwarded-Proto and strips it from clients' requests.
if env.bool("SECURE_PROXY_SSL_HEADER", default=False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

INSTALLED_APPS = [
    "backend.dashboard.OperationsAdminConfig",  # django.contrib.admin with the operations dashboard as its home page
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_celery_beat",
    "django_celery_results",
    "core",
    "core.broker",
    "members",
    "providers",
    "claims",
    "notifications",
    "reports",
    # Audit trail of admin edits on plans, tariffs, providers, members and claims (issue 11). Chosen over
    # django-pghistory: it works on SQLite (the embedded default) as on PostgreSQL; pghistory needs
    # PostgreSQL triggers.
    "simple_history",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI and ReDoc as static files: /api/docs/ needs no CDN
    "core.metrics",  # /metrics: task counters written by the workers, read with the rest at scrape time
    "axes",  # last, as django-axes asks: login throttling for the admin and the API token endpoint
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "axes.middleware.AxesMiddleware",  # turns a lock-out into its 429 response
    "simple_history.middleware.HistoryRequestMiddleware",  # the admin user who made a change, on its history row
]
# History is an audit trail, not an undo: a revert would write a decided claim around the rules.
SIMPLE_HISTORY_REVERT_DISABLED = True

# --- Login throttling (django-axes): the admin login and POST /api/token/ ---------------------------
# After AXES_FAILURE_LIMIT wrong passwords for one username from one address, that pair is locked out
# for AXES_COOLOFF_HOURS (429 with a plain message); a staff user unlocks it earlier by deleting the
# "access attempts" row in the admin (or `manage.py axes_reset`). A success resets the count.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",  # first: refuses a locked-out login before any password check
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = env.float("AXES_COOLOFF_HOURS", default=1.0)  # hours
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]  # the pair: one address cannot lock out everyone
AXES_RESET_ON_SUCCESS = True
AXES_COOLOFF_MESSAGE = (
    "Too many failed logins for this account from this address: try again later, or ask an administrator to unlock it."
)

ROOT_URLCONF = "backend.urls"
WSGI_APPLICATION = "backend.wsgi.application"
ASGI_APPLICATION = "backend.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
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

# --- Database -----------------------------------------------------------------------------------
DATA_DIR.mkdir(parents=True, exist_ok=True)
DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{DATA_DIR / 'db.sqlite3'}")}
DATABASES["default"].setdefault("CONN_MAX_AGE", 60)
# A connection the server closed (a restart, a failover) is found before a request or task uses it
# and opened again; workers drop broken connections after every task too (backend/celery.py).
DATABASES["default"].setdefault("CONN_HEALTH_CHECKS", True)
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets readers run beside the one writer; IMMEDIATE takes the write lock at BEGIN, so two
    # writers queue on the busy timeout instead of failing with "database is locked" mid-transaction.
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 30,
    }
    # A file (worker processes must see it), one per test run (two runs must not share it).
    DATABASES["default"]["TEST"] = {"NAME": str(DATA_DIR / f"test_db_{os.getpid()}.sqlite3")}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-za"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
STATIC_URL = "static/"
STATIC_ROOT = DATA_DIR / "static"

# --- HTTP API (claims/api/, members/api.py): nothing is readable anonymously --------------------
REST_FRAMEWORK = {
    # Token first: an anonymous request is told 401 with `WWW-Authenticate: Token` (session first gives 403).
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    # JSON only: the schema then offers no form encodings, which cannot carry a claim's nested lines (a
    # schema-valid form post was refused). POST /api/token/ keeps its own (form, multipart, JSON).
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    # One error body for every 400 and 422: {"detail": ..., "errors": {...}} (core/api_errors.py).
    "EXCEPTION_HANDLER": "core.api_errors.api_exception_handler",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Medical aid back office API",
    "DESCRIPTION": "Claim submission and status, bulk adjudication jobs, member benefit balances.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],  # drf-spectacular's default is AllowAny
    # Served from our own static files (drf-spectacular-sidecar), not jsDelivr: the docs work offline.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# --- Broker, results and cache: one decision, shared by every process (DESIGN.md) ----------------
# Production (DEBUG off) states the mode: REDIS_URL set means Redis is required (a process that cannot
# reach it retries and says so; it never falls back, so no two processes can disagree), REDIS_URL=
# (empty) or CELERY_BROKER_URL=django:// means the database. Only the embedded default (DEBUG on,
# `make run`) probes Redis at start-up, as the seed describes; the health check reports a split.
REDIS_URL = env.str("REDIS_URL", default="redis://127.0.0.1:6379/0")
if env.str("CELERY_BROKER_URL", default="").startswith("django://"):
    BACKEND_MODE = "database"
elif DEBUG:
    probe_timeout = env.float("REDIS_PROBE_TIMEOUT", default=0.5)
    BACKEND_MODE = "redis" if redis_answers(REDIS_URL, timeout=probe_timeout) else "database"
else:
    BACKEND_MODE = "redis" if REDIS_URL else "database"
REDIS_AVAILABLE = BACKEND_MODE == "redis"  # the name the rest of the code (and the tests) read

# The database cache's table; a migration (core 0003) creates it whatever cache is in use at the time.
DATABASE_CACHE_TABLE = "django_cache"
if REDIS_AVAILABLE:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            # A cache that hangs must not hang a task: the reference cache reads the database instead.
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 2},
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.db.DatabaseCache", "LOCATION": DATABASE_CACHE_TABLE}}

# Explicit URLs always win (an amqp:// RabbitMQ, say); otherwise Redis when it answered, else the database.
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="") or (REDIS_URL if REDIS_AVAILABLE else "django://")
CELERY_RESULT_BACKEND = env.str("CELERY_RESULT_BACKEND", default="") or (REDIS_URL if REDIS_AVAILABLE else "django-db")

CELERY_ACCEPT_CONTENT = ["json"]  # a pickled message is refused, never executed
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_RESULT_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = "UTC"
CELERY_ENABLE_UTC = True
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_RESULT_EXTENDED = True  # task name and arguments in the results admin
# Seconds a task result is kept. Redis: Celery stores each result with this TTL (SETEX), Redis expires it.
# django-db: the daily cleanup (core/hygiene.py) deletes older rows in batches; 0 keeps results for ever.
CELERY_RESULT_EXPIRES = env.int("CELERY_RESULT_EXPIRES", default=7 * 24 * 3600)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True

# Queues: one exchange per queue, routing key = queue name (Celery's own default shape).
TASK_QUEUE_NAMES = ("default", "cache", "reports", "monitoring")
CELERY_TASK_QUEUES = tuple(Queue(name, Exchange(name), routing_key=name) for name in TASK_QUEUE_NAMES)
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TASK_DEFAULT_EXCHANGE = "default"
CELERY_TASK_DEFAULT_ROUTING_KEY = "default"
CELERY_TASK_ROUTES = {
    "core.tasks.cache_warmup": {"queue": "cache"},
    "core.tasks.cleanup_expired_cache": {"queue": "cache"},
    "core.tasks.generate_daily_reports": {"queue": "reports"},
    "core.tasks.health_check": {"queue": "monitoring"},
    "celery.backend_cleanup": {"queue": "default"},
}
CELERY_TASK_QUEUE_MAX_PRIORITY = 9  # Redis/RabbitMQ priority support; django:// honours 0..9 natively
CELERY_TASK_DEFAULT_PRIORITY = 0

# "At least once" made safe (every task is idempotent): ack after the task ran, requeue if its
# process died, and reserve no more than the worker is about to run (fair to long tasks).
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = env.int("CELERY_WORKER_PREFETCH_MULTIPLIER", default=1)
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", default=300)
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=360)
# The longest hard limit any task declares (the bulk coordinator 300 s, a chunk 150 s, an e-mail
# batch 360 s); the Redis visibility timeout must exceed it. No task runs for long, so a task whose
# worker was killed comes back from Redis in minutes.
LONGEST_TASK_TIME_LIMIT = max(CELERY_TASK_TIME_LIMIT, env.int("CELERY_LONGEST_TASK_TIME_LIMIT", default=360))

_uses_django_broker = CELERY_BROKER_URL.startswith("django://")
CELERY_VISIBILITY_TIMEOUT = env.int(
    "CELERY_VISIBILITY_TIMEOUT", default=60 if _uses_django_broker else LONGEST_TASK_TIME_LIMIT + 60
)
if CELERY_BROKER_URL.startswith(("redis://", "rediss://")) and CELERY_VISIBILITY_TIMEOUT <= LONGEST_TASK_TIME_LIMIT:
    # Redis re-delivers an unacked message once this runs out, even while the task still runs.
    raise ImproperlyConfigured(
        f"CELERY_VISIBILITY_TIMEOUT ({CELERY_VISIBILITY_TIMEOUT}s) must exceed the longest task hard "
        f"time limit ({LONGEST_TASK_TIME_LIMIT}s) on Redis"
    )
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": CELERY_VISIBILITY_TIMEOUT,
    # Redis: look for abandoned unacked messages every third of the timeout (at most 10 s). kombu's
    # default scans only every 10 s x 10 calls = 100 s, far behind a short visibility timeout.
    "unacked_restore_interval": max(1, min(10, CELERY_VISIBILITY_TIMEOUT // 3)),
    "unacked_restore_throttle": 1,
}
CELERY_RESULT_BACKEND_TRANSPORT_OPTIONS = {"visibility_timeout": CELERY_VISIBILITY_TIMEOUT}

# django://: a message delivered this many times (its worker died each time, or it was rejected again
# and again) goes to the dead-letter table (admin: "Dead letters") instead of being delivered again.
CELERY_BROKER_MAX_DELIVERIES = env.int("CELERY_BROKER_MAX_DELIVERIES", default=10)

# Celery's Django fixup closes the database connection around every task unless this is set
# (CONN_MAX_AGE alone is ignored); measured ~4x slower ORM tasks without it (DESIGN.md).
CELERY_DB_REUSE_MAX = env.int("CELERY_DB_REUSE_MAX", default=1000)

# A worker's pool process is replaced after this many tasks, or after a task that left it above this many
# KiB resident, so a slow leak (or one huge bulk chunk's memory) does not stay with the worker for good.
# Read by every `celery worker` (start_celery runs the same command); 0 = never.
CELERY_WORKER_MAX_TASKS_PER_CHILD = env.int("CELERY_WORKER_MAX_TASKS_PER_CHILD", default=10_000) or None
CELERY_WORKER_MAX_MEMORY_PER_CHILD = env.int("CELERY_WORKER_MAX_MEMORY_PER_CHILD", default=512_000) or None

# --- Beat: exactly one sends (core/beat_lock.py) -----------------------------------------------------
# The beat lock's lease: the holder renews it every third, stops sending if it could not for two thirds;
# a standby takes over within the lease plus 5 s after the holder died, at once after a clean stop.
BEAT_LOCK_SECONDS = env.float("BEAT_LOCK_SECONDS", default=90)

# --- Logging: no personal data in any log line (CONVENTIONS.md §10) ------------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "[%(asctime)s: %(levelname)s/%(name)s] %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
}

# --- Claims ---------------------------------------------------------------------------------------
# A claim received more than this many days after its service date is rejected (CLAIM_WINDOW_EXPIRED).
CLAIM_WINDOW_DAYS = env.int("CLAIM_WINDOW_DAYS", default=120)
# How the claim window is judged: "days" (CLAIM_WINDOW_DAYS after the service date) or "regulation6" (by the
# last day of the fourth month after the month of service, as the Medical Schemes Act's regulation 6 sets it).
CLAIM_WINDOW_POLICY = env.str("CLAIM_WINDOW_POLICY", default="days")
if CLAIM_WINDOW_POLICY not in ("days", "regulation6"):
    raise ImproperlyConfigured(f"CLAIM_WINDOW_POLICY must be 'days' or 'regulation6', not {CLAIM_WINDOW_POLICY!r}")
# A pended claim (issue 13) waiting this many days for an assessor is a health finding (the queue is not kept up).
PENDED_REVIEW_DAYS = env.int("PENDED_REVIEW_DAYS", default=5)
# The scheme's time zone: the day a claim was received is the day there (TIME_ZONE stays UTC for storage).
SCHEME_TIME_ZONE = env.str("SCHEME_TIME_ZONE", default="Africa/Johannesburg")
# Claims per bulk-job chunk (whole families only, so a chunk may be a little larger). Measured in one
# process on PostgreSQL: 500 -> ~2,650 claims/s, 1,000 -> ~2,970, 2,000 -> ~3,270 (fixed costs per chunk).
BULK_CHUNK_SIZE = env.int("BULK_CHUNK_SIZE", default=2000)
# The coordinator (process_bulk_claims) decides chunks itself for at most this long, then returns; the
# chunks it published go on without it. Below its soft time limit (240 s).
BULK_COORDINATOR_SECONDS = env.float("BULK_COORDINATOR_SECONDS", default=60)
# sweep_bulk_jobs (every minute) publishes again the unfinished work of a running job with no progress
# for this long (a lost message, a killed worker, a broker that came back empty); above a chunk's
# hard time limit (150 s) would never resume a live chunk, and a live one is skipped anyway (it is locked).
BULK_JOB_STALL_SECONDS = env.int("BULK_JOB_STALL_SECONDS", default=120)
# ... and ends it as failed, with the reason, after this long without progress despite the resumes.
BULK_JOB_GIVE_UP_SECONDS = env.int("BULK_JOB_GIVE_UP_SECONDS", default=3600)

# --- Reports and the reference-data cache (reports/, core/cache.py) -------------------------------
# Comma-separated addresses the daily claims report is e-mailed to (with its CSV); empty = not e-mailed.
REPORT_RECIPIENTS = env.list("REPORT_RECIPIENTS", default=[])
# Seconds a warmed reference-data key lives: a day plus slack, so a missed warm-up falls back to the
# database rather than serving data older than two days.
REFERENCE_CACHE_TIMEOUT = env.int("REFERENCE_CACHE_TIMEOUT", default=26 * 3600)
# Expired database-cache rows deleted per statement by cleanup_expired_cache (short write locks).
CACHE_CLEANUP_BATCH_SIZE = env.int("CACHE_CLEANUP_BATCH_SIZE", default=5000)

# --- E-mail and notifications ------------------------------------------------------------------
# SMTP whenever EMAIL_HOST is set; otherwise the embedded default writes each e-mail (one file per
# SMTP-less "connection", i.e. per batch) under DATA_DIR/emails so a new user can read them.
EMAIL_HOST = env.str("EMAIL_HOST", default="")
if EMAIL_HOST:
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
else:
    EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
EMAIL_FILE_PATH = env.str("EMAIL_FILE_PATH", default=str(DATA_DIR / "emails"))
EMAIL_PORT = env.int("EMAIL_PORT", default=25)
EMAIL_HOST_USER = env.str("EMAIL_HOST_USER", default="")
EMAIL_HOST_PASSWORD = env.str("EMAIL_HOST_PASSWORD", default="")
EMAIL_USE_TLS = env.bool("EMAIL_USE_TLS", default=False)
EMAIL_USE_SSL = env.bool("EMAIL_USE_SSL", default=False)
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=10)  # seconds; a hung server must not hang a worker
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Member services <claims@medaid.localhost>")
# Attempts per e-mail (transient failures: server down, 4xx) before it is marked failed.
NOTIFICATION_MAX_ATTEMPTS = env.int("NOTIFICATION_MAX_ATTEMPTS", default=6)
# Backoff: RETRY_BACKOFF x 2^(attempt-1) seconds, capped at RETRY_BACKOFF_MAX, with jitter.
NOTIFICATION_RETRY_BACKOFF = env.float("NOTIFICATION_RETRY_BACKOFF", default=30)
NOTIFICATION_RETRY_BACKOFF_MAX = env.float("NOTIFICATION_RETRY_BACKOFF_MAX", default=900)
# E-mails per batch task (one SMTP connection each).
NOTIFICATION_BATCH_SIZE = env.int("NOTIFICATION_BATCH_SIZE", default=200)
# SMTP connections a batch is sent over side by side (threads; one connection per 25 e-mails at most).
NOTIFICATION_SMTP_CONNECTIONS = env.int("NOTIFICATION_SMTP_CONNECTIONS", default=4)
# How long a sender holds a row; longer than the batch task's hard time limit (360 s).
NOTIFICATION_LEASE_SECONDS = env.int("NOTIFICATION_LEASE_SECONDS", default=420)
# requeue_overdue_notifications (beat, every minute) enqueues again a queued e-mail due this long when
# the default queue is empty (its message was lost: a failed publish, a broker that came back empty) ...
NOTIFICATION_RELAY_SECONDS = env.int("NOTIFICATION_RELAY_SECONDS", default=60)
# ... and one this long past due whatever the queue holds.
NOTIFICATION_OVERDUE_SECONDS = env.int("NOTIFICATION_OVERDUE_SECONDS", default=1800)
NOTIFICATION_MAX_SUBJECT_CHARS = env.int("NOTIFICATION_MAX_SUBJECT_CHARS", default=255)
NOTIFICATION_MAX_BODY_BYTES = env.int("NOTIFICATION_MAX_BODY_BYTES", default=256 * 1024)

# Days a sent, failed or rejected e-mail keeps its address, subject and body; the daily cleanup then
# blanks them (the row, its status, claim and idempotency key stay: counts, and "one e-mail per key, ever").
NOTIFICATION_RETENTION_DAYS = env.int("NOTIFICATION_RETENTION_DAYS", default=90)

# --- Data hygiene: the daily cleanup (core/hygiene.py, task cleanup_expired_cache at 03:00) -------
# Rows deleted or blanked per statement, each statement its own short transaction (short locks).
HYGIENE_BATCH_SIZE = env.int("HYGIENE_BATCH_SIZE", default=5000)
# Seconds the cleanup works before it stops and reports what is left (the next day goes on); below the
# task's soft time limit (300 s).
HYGIENE_TIME_BUDGET_SECONDS = env.float("HYGIENE_TIME_BUDGET_SECONDS", default=240)

# --- Health ---------------------------------------------------------------------------------------
HEALTH_MIN_FREE_DISK_MB = env.int("HEALTH_MIN_FREE_DISK_MB", default=500)
# Who is e-mailed when the health check turns unhealthy and when it recovers (through the notifications
# outbox): DJANGO_ADMINS="Ops <ops@example.com>,oncall@example.com" (names optional, comma-separated).
ADMINS = [
    (name or address, address) for name, address in getaddresses([env.str("DJANGO_ADMINS", default="")]) if address
]
# Days a stored health check run (admin: Health check runs) is kept; the daily cleanup prunes older ones.
HEALTH_RUN_RETENTION_DAYS = env.int("HEALTH_RUN_RETENTION_DAYS", default=30)
# Seconds without a stored run after which the next run tells the admins checks had stopped (beat, the
# monitoring worker or the database down, when no e-mail could go out): three 5-minute periods.
HEALTH_RUN_GAP_SECONDS = env.int("HEALTH_RUN_GAP_SECONDS", default=900)
# Seconds a periodic task may be late before the health check says beat is not running it; beat writes
# its last runs back every 3 minutes, so keep this well above 180.
HEALTH_BEAT_GRACE_SECONDS = env.int("HEALTH_BEAT_GRACE_SECONDS", default=600)
# Seconds the oldest ready message of a queue may wait before the health check reports the queue.
HEALTH_QUEUE_MAX_AGE_SECONDS = env.int("HEALTH_QUEUE_MAX_AGE_SECONDS", default=300)

# --- Metrics (/metrics, core/metrics/) -----------------------------------------------------------
# Prometheus scrapes with `Authorization: Bearer <METRICS_TOKEN>`; empty = only a logged-in staff user may read.
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")
# Seconds a health verdict computed for /metrics is kept in the cache (when no stored health run exists).
METRICS_HEALTH_CACHE_SECONDS = env.int("METRICS_HEALTH_CACHE_SECONDS", default=30)
# Seconds a worker process gathers its task counts before writing them to the database (one write per
# task name and state, however many tasks ran).
METRICS_FLUSH_SECONDS = env.float("METRICS_FLUSH_SECONDS", default=1.0)
