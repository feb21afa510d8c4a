"""Settings read from the environment; every variable is listed in the README.

With no environment at all the server runs on SQLite and a filesystem Celery broker,
so a bare machine can run the API, a worker and beat without any other server.
"""

from datetime import timedelta
from pathlib import Path

import environ
from kombu import Queue

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)
# What a server without other configuration keeps on disk: the SQLite database, the
# filesystem broker's queues, beat's schedule, uploaded and generated files.
VAR_DIR = Path(env.str("VAR_DIR", default=str(BASE_DIR / "var")))

DEBUG = env.bool("DEBUG", default=False)
# The default is for development only: with DEBUG off the server refuses to start on it
# (billing/secrets_check.py), and `manage.py check --deploy` says why.
SECRET_KEY = env.str("SECRET_KEY", default="dev-only-insecure-secret-key-change-me-in-production")
# Signs JWTs; required, and different from SECRET_KEY, with DEBUG off.
JWT_SIGNING_KEY = env.str("JWT_SIGNING_KEY", default="")
# The names this server answers to; a request naming another host is refused (400).
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
# Where customers and API callers reach this server: the base of every absolute link it
# hands out (billing/links.py), whatever Host header a request carries.
PUBLIC_URL = env.str("PUBLIC_URL", default="http://127.0.0.1:8000")
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "billing",
    "customers",
    "catalog",
    "organization",
    "invoices",
    "subscriptions",
    "payments",
    "procurement",
    "reminders",
    "bulks",
    "webhooks",
    "metering",
    # The project's own commands that read every app (manage.py monitor).
    "config",
]

MIDDLEWARE = [
    "billing.middleware.RequestIdMiddleware",
    "billing.middleware.BodySizeLimitMiddleware",
    "billing.middleware.ContentEncodingMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        # The admin's base_site.html (the product's name, the back office's styles).
        "DIRS": [BASE_DIR / "config" / "templates"],
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

DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'db.sqlite3'}"),
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL and immediate transactions let the web process, the worker and beat share the
    # file without "database is locked" errors.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"timeout": 30, "transaction_mode": "IMMEDIATE", "init_command": "PRAGMA journal_mode=WAL;"}
    )
# Keep connections open between requests and tasks instead of reconnecting every time.
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "billing.cache.ReusedClientRedisCache", "LOCATION": REDIS_URL}}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
# The hosted checkout speaks these (payments/locale); the API answers in English.
LANGUAGES = [("en", "English"), ("es", "Español")]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
# WhiteNoise serves static files (the admin's, the /docs/ viewer's) from the app itself,
# whatever runs it: runserver with DEBUG off and gunicorn serve none. Finders let it serve
# them straight from the apps, so `make run` needs no collectstatic; the Docker image
# collects them into STATIC_ROOT all the same.
WHITENOISE_USE_FINDERS = True
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # WhiteNoise warns on every start without it

# Bodies are JSON and small; a larger one is refused with 413 before it is read.
REQUEST_BODY_MAX_BYTES = env.int("REQUEST_BODY_MAX_BYTES", default=1024 * 1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = REQUEST_BODY_MAX_BYTES

# How many proxies of this server's own stand in front of it, each appending the address
# it saw to X-Forwarded-For (billing/client_address.py). 0: the connection's address is
# the client's, and the header, which any client can write, is ignored.
NUM_PROXIES = env.int("NUM_PROXIES", default=0)

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "billing.auth.ApiTokenAuthentication",
        "billing.auth.JwtAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["billing.tenancy.IsWorkspaceMember"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_RENDERER_CLASSES": ["billing.api.renderers.JSONRenderer"],
    "DEFAULT_CONTENT_NEGOTIATION_CLASS": "billing.api.negotiation.ContentNegotiation",
    "DEFAULT_PAGINATION_CLASS": "billing.api.pagination.PageNumberPagination",
    "DEFAULT_FILTER_BACKENDS": [
        "billing.api.filters.FilterBackend",
        "billing.api.filters.MetadataFilterBackend",
        "billing.api.filters.SearchFilter",
        "billing.api.filters.OrderingFilter",
    ],
    "DEFAULT_THROTTLE_CLASSES": ["billing.api.throttling.TokenRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {"token": env.str("API_THROTTLE_RATE", default="1200/min")},
    # The project's throttles ask billing.client_address; DRF's own would ask this.
    "NUM_PROXIES": NUM_PROXIES,
    "DEFAULT_SCHEMA_CLASS": "billing.api.schema.AutoSchema",
    "EXCEPTION_HANDLER": "billing.api.errors.exception_handler",
    "COERCE_DECIMAL_TO_STRING": False,
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}

# How long a read may take an API key's user and workspaces from the cache instead of the
# database (billing/auth_cache.py); revoking the key forgets them at once. 0 turns it off.
API_KEY_CACHE_SECONDS = env.int("API_KEY_CACHE_SECONDS", default=5)

# Failed authentications (bad API keys, JWTs, passwords) one client address may make
# before it gets 429 for the rest of the window (billing/auth.py).
AUTH_FAILURE_RATE = env.str("AUTH_FAILURE_RATE", default="10/min")

# Attempts on the publishable (browser) routes per checkout key and per client address
# (payments/api/throttling.py): enough to retry a declined card, not to test cards.
PUBLISHABLE_KEY_RATE = env.str("PUBLISHABLE_KEY_RATE", default="10/hour")
PUBLISHABLE_ADDRESS_RATE = env.str("PUBLISHABLE_ADDRESS_RATE", default="60/hour")

SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": timedelta(minutes=env.int("JWT_ACCESS_MINUTES", default=15)),
    "REFRESH_TOKEN_LIFETIME": timedelta(days=env.int("JWT_REFRESH_DAYS", default=7)),
    "SIGNING_KEY": JWT_SIGNING_KEY or SECRET_KEY,
    "AUTH_HEADER_TYPES": ("Bearer",),
    "UPDATE_LAST_LOGIN": False,
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Billing API",
    "DESCRIPTION": (
        "Customers, catalog, invoices, payments, subscriptions, usage, procurement and "
        "webhooks. Authenticate with `Authorization: Token <key>` (or a Bearer JWT from "
        "`/auth/token/`) and name the workspace with `x-simple-workspace`."
    ),
    "VERSION": "0.1.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    # Choice sets used by several resources' `status` fields get stable, distinct names.
    "ENUM_NAME_OVERRIDES": {
        "CustomerStatusEnum": "customers.choices.CustomerStatus",
        "CatalogStatusEnum": "catalog.choices.CatalogStatus",
        "InvoiceStatusEnum": "invoices.choices.InvoiceStatus",
        "NoteStatusEnum": "invoices.choices.NoteStatus",
        "ReferenceReasonEnum": "invoices.choices.ReferenceReason",
        "DeliveryStatusEnum": "webhooks.choices.DeliveryStatus",
        "PaymentStatusEnum": "payments.choices.PaymentStatus",
        "SourceStatusEnum": "payments.choices.SourceStatus",
        "IntentStatusEnum": "payments.choices.IntentStatus",
        "PaymentLinkStateEnum": "payments.choices.PaymentLinkState",
        # Two sets named "biller status": a document's filing and the agency connection's.
        "BillerStatusEnum": "billing.choices.BillerStatus",
        "BillerConnectionStatusEnum": "organization.choices.BillerStatus",
    },
    "SCHEMA_PATH_PREFIX": "",
    "SERVE_AUTHENTICATION": [],
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    # The viewer's assets are served by this server, not fetched from a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
}

# A piece of work a beat sweep queued is not queued again for this long, unless a task
# took it up meanwhile (billing/sweeps.py): the bound on copies of it on the broker.
SWEEP_ENQUEUE_LEASE_SECONDS = env.int("SWEEP_ENQUEUE_LEASE_SECONDS", default=600)
# An event still unpublished this long after its commit lost its publish (the process died
# between commit and publish); younger ones are most likely being published by their request.
EVENT_PUBLISH_GRACE_SECONDS = env.int("EVENT_PUBLISH_GRACE_SECONDS", default=20)
# A finalized document still without its PDF this long after its render was queued lost
# that render (the broker was down, or the worker died holding it); beat renders it again.
PDF_RENDER_GRACE_SECONDS = env.int("PDF_RENDER_GRACE_SECONDS", default=300)
# A received Stripe event or an asked-for test-clock move still not taken up by a worker
# this long after its commit lost its message (the broker was down); beat takes it up.
QUEUED_WORK_GRACE_SECONDS = env.int("QUEUED_WORK_GRACE_SECONDS", default=20)

# Idempotency keys are kept this long, then purged by beat.
IDEMPOTENCY_KEY_TTL = timedelta(hours=24)

# Celery: Redis when configured, otherwise a filesystem broker that needs no server.
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=REDIS_URL or "filesystem://")
# kombu's Redis transport waits for a TCP connection as long as the system does (minutes,
# against an address that drops packets) unless told otherwise, and a request publishes
# after its commit: it would hang that long where it should leave the work to a sweep.
REDIS_BROKER_TRANSPORT_OPTIONS: dict[str, object] = {"socket_connect_timeout": 3}
CELERY_BROKER_TRANSPORT_OPTIONS: dict[str, object] = dict(REDIS_BROKER_TRANSPORT_OPTIONS)
if CELERY_BROKER_URL.startswith("filesystem://"):
    _queue_dir = VAR_DIR / "broker"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_queue_dir),
        "data_folder_out": str(_queue_dir),
        "control_folder": str(VAR_DIR / "broker-control"),
        "store_processed": False,
        # Look for new messages every 0.1 s rather than every second: this broker is for
        # one machine, and a chain of tasks (beat → fan-out → delivery) waits once per hop.
        "polling_interval": 0.1,
    }
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
# Named queues, so one slow kind of work (PDFs, the tax agency) does not delay another
# (webhooks, billing cycles); a worker consumes all of them unless given `-Q`. `default`
# takes housekeeping and Celery's own tasks. Every project task is routed here by name.
CELERY_TASK_QUEUES = [
    Queue(name) for name in ("webhooks", "billing", "documents", "agency", "default")
]
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TASK_ROUTES = {
    "webhooks.tasks.publish_event": {"queue": "webhooks"},
    "webhooks.tasks.publish_events": {"queue": "webhooks"},
    "webhooks.tasks.send_delivery": {"queue": "webhooks"},
    "webhooks.tasks.send_due_deliveries": {"queue": "webhooks"},
    "subscriptions.tasks.run_billing_cycles": {"queue": "billing"},
    "subscriptions.tasks.bill_subscriptions": {"queue": "billing"},
    "subscriptions.tasks.resume_paused_subscriptions": {"queue": "billing"},
    "subscriptions.tasks.collect_due_periods": {"queue": "billing"},
    "subscriptions.tasks.collect_periods": {"queue": "billing"},
    "subscriptions.tasks.run_test_clock_job": {"queue": "billing"},
    "subscriptions.tasks.queue_unstarted_clock_jobs": {"queue": "billing"},
    "payments.tasks.expire_due_checkouts": {"queue": "billing"},
    "payments.tasks.process_stripe_event": {"queue": "billing"},
    "payments.tasks.process_received_stripe_events": {"queue": "billing"},
    "payments.tasks.sync_for_event": {"queue": "billing"},
    "invoices.tasks.render_document_pdf": {"queue": "documents"},
    "invoices.tasks.render_document_pdfs": {"queue": "documents"},
    "invoices.tasks.render_missing_pdfs": {"queue": "documents"},
    "invoices.tasks.process_tax_agency_queue": {"queue": "agency"},
    "invoices.tasks.process_tax_agency_document": {"queue": "agency"},
    "bulks.tasks.process_bulk": {"queue": "billing"},
    "reminders.tasks.send_due_reminders": {"queue": "billing"},
    "bulks.tasks.process_unfinished_bulks": {"queue": "billing"},
    "billing.tasks.purge_idempotency_keys": {"queue": "default"},
    "billing.tasks.publish_pending_events": {"queue": "default"},
    "subscriptions.tasks.publish_events": {"queue": "default"},
    "metering.tasks.ensure_event_partitions": {"queue": "default"},
}
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "billing.middleware.RequestIdLogFilter"}},
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s [%(request_id)s] %(name)s: %(message)s"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "plain",
            "filters": ["request_id"],
        },
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    # WeasyPrint logs every rendering step at INFO, the stripe library every request.
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        "weasyprint": {"level": "WARNING"},
        "stripe": {"level": "WARNING"},
    },
}

if not DEBUG:
    SESSION_COOKIE_HTTPONLY = True
    X_FRAME_OPTIONS = "DENY"

# Celery tasks that receive every committed domain event (the outbox's consumers).
EVENT_PUBLISHERS = ["webhooks.tasks.publish_event", "payments.tasks.sync_for_event"]
# Outgoing webhooks: private, loopback and link-local targets are refused unless allowed
# (local development and tests set this).
WEBHOOKS_ALLOW_PRIVATE_URLS = env.bool("WEBHOOKS_ALLOW_PRIVATE_URLS", default=DEBUG)
WEBHOOK_TIMEOUT_SECONDS = env.float("WEBHOOK_TIMEOUT_SECONDS", default=10.0)
# How long one delivery attempt may hold a delivery before another worker may retry it.
WEBHOOK_DELIVERY_LEASE_SECONDS = env.int("WEBHOOK_DELIVERY_LEASE_SECONDS", default=60)
# How long a worker creating a bulk's item holds it before another may take it up: the
# item of a worker that died is taken again (and its attempt counted) once this is over.
BULK_ITEM_LEASE_SECONDS = env.int("BULK_ITEM_LEASE_SECONDS", default=120)

# Stripe: unset in production (the library's own address); the tests point it at a fake.
STRIPE_API_BASE = env.str("STRIPE_API_BASE", default="")
STRIPE_TIMEOUT_SECONDS = env.float("STRIPE_TIMEOUT_SECONDS", default=20.0)
STRIPE_MAX_NETWORK_RETRIES = env.int("STRIPE_MAX_NETWORK_RETRIES", default=2)
# How old a signed inbound Stripe event may be (Stripe's own default).
STRIPE_WEBHOOK_TOLERANCE_SECONDS = env.int("STRIPE_WEBHOOK_TOLERANCE_SECONDS", default=300)

# Uploaded and generated files (document PDFs). Signed links to them expire.
MEDIA_ROOT = env.path("MEDIA_ROOT", default=VAR_DIR / "media")
MEDIA_URL = "media/"
DOCUMENT_LINK_MAX_AGE_SECONDS = env.int("DOCUMENT_LINK_MAX_AGE_SECONDS", default=3600)
# Fewer folios than this left in a type's loaded CAFs raises `folio_range.low` once per range.
FOLIOS_LOW_THRESHOLD = env.int("FOLIOS_LOW_THRESHOLD", default=10)

# Documents sent to customers. The console backend prints them; production sets SMTP
# (django.core.mail.backends.smtp.EmailBackend and the EMAIL_HOST… variables).
EMAIL_BACKEND = env.str("EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="billing@localhost")
EMAIL_HOST = env.str("EMAIL_HOST", default="localhost")
EMAIL_PORT = env.int("EMAIL_PORT", default=25)
EMAIL_HOST_USER = env.str("EMAIL_HOST_USER", default="")
EMAIL_HOST_PASSWORD = env.str("EMAIL_HOST_PASSWORD", default="")
EMAIL_USE_TLS = env.bool("EMAIL_USE_TLS", default=False)
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=10)

# Tax agency backends by workspace country ({"CL": "dotted.path.Backend", "*": …}); every
# country uses the built-in sandbox agency unless listed here.
TAX_AGENCY_BACKENDS: dict[str, str] = {}
# How long one submit or poll holds a document before another worker may take it over.
TAX_AGENCY_LEASE_SECONDS = env.int("TAX_AGENCY_LEASE_SECONDS", default=120)
# Called with a document the tax agency rejected (named, so invoices never import the
# apps that react): a subscription's invoice puts the subscription in needs-attention.
TAX_AGENCY_FAILURE_HOOKS = ["subscriptions.services.subscription_tax_agency_failed"]

# Usage events: "postgres" (the application's database) or "clickhouse" (CLICKHOUSE_URL,
# e.g. http://default:@127.0.0.1:8123/billing).
EVENTS_BACKEND = env.str("EVENTS_BACKEND", default="postgres")
CLICKHOUSE_URL = env.str("CLICKHOUSE_URL", default="")
# Events stamped further ahead than this (seconds) are refused: a wrong clock or unit.
EVENTS_MAX_FUTURE_SECONDS = env.int("EVENTS_MAX_FUTURE_SECONDS", default=24 * 3600)
