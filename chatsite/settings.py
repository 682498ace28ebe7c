"""Settings, read from the environment in this one place.

With nothing set the server runs on the embedded default: an SQLite file beside
manage.py and the in-memory channel layer (one process). DATABASE_URL selects
PostgreSQL and REDIS_URL selects channels-redis, so that several daphne processes
sharing them behave as one server. docs/configuration.md lists every variable.
"""

import json
import logging
import os
import warnings
from pathlib import Path
from typing import NoReturn
from urllib.parse import urlsplit

import dj_database_url
from dotenv import dotenv_values

BASE_DIR = Path(__file__).resolve().parent.parent


def fail(reason: str) -> NoReturn:
    """A setting the server cannot start with: one line on stderr, exit status 1.

    SystemExit, not ImproperlyConfigured: manage.py and daphne would print a
    traceback for an exception, and the reason would be lost at its bottom.
    """
    raise SystemExit(f"chatsite: configuration error: {reason}")


def read_env_file() -> dict[str, str]:
    """A developer's `.env` (written by `make install`); CHAT_ENV_FILE="" reads none."""
    path = os.environ.get("CHAT_ENV_FILE", str(BASE_DIR / ".env"))
    if not path or not Path(path).is_file():
        return {}
    try:
        values = dotenv_values(path)
    except (OSError, UnicodeDecodeError) as exc:
        fail(f"cannot read {path}: {exc}")
    return {key: value for key, value in values.items() if value is not None}


# The process's environment wins over the file: `DEBUG=0 make run` means it.
ENV = {**read_env_file(), **os.environ}


def env_str(name: str, default: str = "") -> str:
    return ENV.get(name, default)


def env_bool(name: str, default: bool = False) -> bool:
    value = env_str(name).strip().lower()
    if not value:
        return default
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off"}:
        return False
    fail(f"{name} must be 1/true/yes/on or 0/false/no/off, not {value!r}.")


def env_int(name: str, default: int) -> int:
    value = env_str(name).strip()
    if not value:
        return default
    try:
        return int(value)
    except ValueError:
        fail(f"{name} must be a whole number, not {value[:40]!r}.")


def env_float(name: str, default: float) -> float:
    value = env_str(name).strip()
    if not value:
        return default
    try:
        number = float(value)
    except ValueError:
        number = float("nan")
    if number != number or number in {float("inf"), float("-inf")}:
        fail(f"{name} must be a number, not {value[:40]!r}.")
    return number


def env_list(name: str, default: list[str]) -> list[str]:
    value = env_str(name).strip()
    if not value:
        return default
    return [item.strip() for item in value.split(",") if item.strip()]


DEBUG = env_bool("DEBUG")

SECRET_KEY = env_str("SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        fail(
            "SECRET_KEY must be set unless DEBUG is on "
            "(`make install` writes both to .env for development)."
        )
    SECRET_KEY = "insecure-development-key-do-not-use-in-production"  # noqa: S105

# Local addresses by default, so that a server started on a laptop answers.
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "channels",
    "rest_framework",
    "drf_spectacular",
    "accounts",
    "chat",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # A body over DATA_UPLOAD_MAX_MEMORY_SIZE: the JSON 413, DEBUG on or off.
    "chat.body_limit.BodyLimitMiddleware",
    # Static files (the pages' scripts and styles) also with DEBUG off, by
    # WhiteNoise's index without making the request path sync (chat.static_files).
    "chat.static_files.StaticFilesMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # The language: the session's choice (set_language), else Accept-Language.
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "chatsite.security.ContentSecurityPolicyMiddleware",
]

ROOT_URLCONF = "chatsite.urls"
ASGI_APPLICATION = "chatsite.asgi.application"

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

# --- Database -----------------------------------------------------------------
DATABASE_URL = env_str("DATABASE_URL").strip()
if DATABASE_URL:
    try:
        DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=0)}
    except Exception as exc:  # the library's errors vary with the scheme
        fail(f"DATABASE_URL cannot be used ({type(exc).__name__}: {exc}).")
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": BASE_DIR / "db.sqlite3",
        }
    }
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # daphne, manage.py commands and tests write to the same file from several
    # threads and processes: WAL lets readers go on while one writes, IMMEDIATE
    # takes the write lock up front (no upgrade deadlocks), and a writer waits
    # for the lock instead of failing at once.
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    # The tests share their database with the daphne processes they start, so
    # it must be a file (a per-run name lets several runs go on side by side).
    DATABASES["default"]["TEST"] = {
        "NAME": str(BASE_DIR / f".test-{os.getpid()}.sqlite3"),
    }
else:
    DATABASES["default"]["TEST"] = {
        "NAME": f"test_chat_{os.getpid()}",
    }
    if DATABASES["default"]["ENGINE"].endswith("postgresql"):
        # An unreachable server fails a query in seconds (an `unavailable`
        # error), not after the system's minutes of TCP retries.
        DATABASES["default"].setdefault("OPTIONS", {}).setdefault(
            "connect_timeout", env_int("CHAT_DATABASE_CONNECT_TIMEOUT", 5)
        )

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"

# --- Channel layer --------------------------------------------------------------
REDIS_URL = env_str("REDIS_URL").strip()
if REDIS_URL and urlsplit(REDIS_URL).scheme not in {"redis", "rediss", "unix"}:
    fail("REDIS_URL must be a redis://, rediss:// or unix:// URL.")
if REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "chat.realtime.redis_layer.RedisChannelLayer",
            "CONFIG": {
                "hosts": [
                    {
                        "address": REDIS_URL,
                        # redis-py 8 gives every socket a 5 s timeout, which ends
                        # the layer's blocking reads and closes idle WebSockets
                        # with 1011 (channels_redis#422): no read timeout.
                        "socket_timeout": None,
                        "socket_connect_timeout": 5,
                        "socket_keepalive": True,
                        "health_check_interval": 30,
                        # A bounded pool that waits for a free connection instead
                        # of failing with "Too many connections" under a burst.
                        "max_connections": env_int("CHAT_REDIS_MAX_CONNECTIONS", 200),
                    }
                ],
                "prefix": env_str("CHAT_REDIS_PREFIX", "chat"),
                "capacity": env_int("CHAT_CHANNEL_CAPACITY", 1000),
                "expiry": 60,
                "group_expiry": env_int("CHAT_GROUP_EXPIRY_SECONDS", 86400),
            },
        }
    }
else:
    CHANNEL_LAYERS = {
        "default": {
            # channels' own, with waiting receives made cheap
            # (chat.realtime.memory_layer).
            "BACKEND": "chat.realtime.memory_layer.InMemoryChannelLayer",
            "CONFIG": {
                "capacity": env_int("CHAT_CHANNEL_CAPACITY", 1000),
                "group_expiry": env_int("CHAT_GROUP_EXPIRY_SECONDS", 86400),
            },
        }
    }

# Redis Sentinel (docs/deploy.md): the Sentinels name the master; REDIS_URL then
# gives only the password and the database number.
REDIS_SENTINELS = env_list("REDIS_SENTINELS", [])


def env_number_in_url(text: str) -> int:
    if text and not text.isdigit():
        fail(f"REDIS_URL's database must be a number, not {text[:20]!r}.")
    return int(text or 0)


def sentinel_address(item: str) -> tuple[str, int]:
    host, _, port = item.rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        fail(f"REDIS_SENTINELS entries are host:port, not {item[:60]!r}.")
    return host, int(port)


if REDIS_URL and REDIS_SENTINELS:
    _redis = urlsplit(REDIS_URL)
    _host = CHANNEL_LAYERS["default"]["CONFIG"]["hosts"][0]
    del _host["address"]
    _host.update(
        sentinels=[sentinel_address(item) for item in REDIS_SENTINELS],
        master_name=env_str("REDIS_SENTINEL_MASTER", "mymaster"),
        password=_redis.password,
        db=env_number_in_url(_redis.path.strip("/")),
        sentinel_kwargs={"socket_connect_timeout": 5, "password": _redis.password},
    )

# --- Chat -------------------------------------------------------------------------
CHAT_HEARTBEAT_SECONDS = max(1, env_int("CHAT_HEARTBEAT_SECONDS", 25))
CHAT_MAX_BODY_LENGTH = 4000
CHAT_SYNC_DEFAULT_LIMIT = 100
CHAT_SYNC_MAX_LIMIT = 500
CHAT_LONG_POLL_MAX_SECONDS = 30
CHAT_TOKEN_TOUCH_SECONDS = 60
# On the in-memory layer, publish what other processes (manage.py) stored.
CHAT_RELAY_OTHER_PROCESSES = env_bool("CHAT_RELAY_OTHER_PROCESSES", True)

# --- Messages that change (issue 15) -----------------------------------------------
# A sender may edit a message for this long after sending it; 0: no limit.
CHAT_EDIT_WINDOW_SECONDS = env_int("CHAT_EDIT_WINDOW_SECONDS", 3600)
if CHAT_EDIT_WINDOW_SECONDS < 0:
    fail("CHAT_EDIT_WINDOW_SECONDS must be 0 (no limit) or more.")
# Changes (edits, deletions, reactions) are kept this long for `sync`'s
# `changes_after`; an older cursor is answered with `sync.reset`.
CHAT_CHANGE_RETENTION_DAYS = env_int("CHAT_CHANGE_RETENTION_DAYS", 30)
if not 1 <= CHAT_CHANGE_RETENTION_DAYS <= 36500:
    fail("CHAT_CHANGE_RETENTION_DAYS must be from 1 to 36500.")
# Distinct emoji one message may carry.
CHAT_MAX_REACTIONS_PER_MESSAGE = 20
# In a room of more than this many members, only its owners (and moderators)
# may mention @all or @room.
CHAT_MENTION_ALL_MAX_MEMBERS = 15

# --- Browser pages (issue 3) -------------------------------------------------------
# A connection relays `typing` to one conversation at most this often.
CHAT_TYPING_INTERVAL_SECONDS = env_float("CHAT_TYPING_INTERVAL_SECONDS", 2.0)

# --- Email and browser push for what was missed (issue 16) -----------------------
# A direct message or mention still unread this long after it was sent, to a
# user who was not online then, is emailed (chat.services.email_digest); 0: at
# the job's next round.
CHAT_EMAIL_DELAY_MINUTES = env_int("CHAT_EMAIL_DELAY_MINUTES", 10)
if CHAT_EMAIL_DELAY_MINUTES < 0:
    fail("CHAT_EMAIL_DELAY_MINUTES must be 0 or more.")
# How often each serving process runs a round of the notifications job (one
# process at a time does: chat.services.notifications).
CHAT_NOTIFY_INTERVAL_SECONDS = env_float("CHAT_NOTIFY_INTERVAL_SECONDS", 5.0)
if CHAT_NOTIFY_INTERVAL_SECONDS <= 0:
    fail("CHAT_NOTIFY_INTERVAL_SECONDS must be more than 0.")
# The address of the site in links that emails and pushes carry (no request
# to take it from): scheme, host and port, no path.
CHAT_SITE_URL = env_str("CHAT_SITE_URL", "http://localhost:8000").rstrip("/")
if urlsplit(CHAT_SITE_URL).scheme not in {"http", "https"}:
    fail("CHAT_SITE_URL must be an http:// or https:// URL.")
# --- Customer support (issue 19) ---------------------------------------------------
# An agent offered a new support conversation has this long to take it before
# it is offered to the next (chat.services.support_conversations).
SUPPORT_ACCEPT_SECONDS = env_int("SUPPORT_ACCEPT_SECONDS", 60)
if SUPPORT_ACCEPT_SECONDS < 1:
    fail("SUPPORT_ACCEPT_SECONDS must be 1 or more.")
# Email through Django's backend: the console (stdout) unless EMAIL_HOST is set,
# then SMTP; EMAIL_BACKEND names any other.
EMAIL_HOST = env_str("EMAIL_HOST", "")
EMAIL_BACKEND = env_str(
    "EMAIL_BACKEND",
    "django.core.mail.backends.smtp.EmailBackend"
    if EMAIL_HOST
    else "django.core.mail.backends.console.EmailBackend",
)
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS")
EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL")
if EMAIL_USE_TLS and EMAIL_USE_SSL:
    fail("EMAIL_USE_TLS and EMAIL_USE_SSL cannot both be on.")
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 10)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "chat@localhost")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
# Web Push: the VAPID key pair (`manage.py vapidkeys` prints new ones); without
# both, push is off and the account page offers no button.
CHAT_VAPID_PUBLIC_KEY = env_str("CHAT_VAPID_PUBLIC_KEY", "").strip()
CHAT_VAPID_PRIVATE_KEY = env_str("CHAT_VAPID_PRIVATE_KEY", "").strip()
# Who the push services may contact about our pushes (a mailto: or https: URL).
CHAT_VAPID_SUBJECT = env_str("CHAT_VAPID_SUBJECT", f"mailto:{DEFAULT_FROM_EMAIL}")
# A push not delivered within this long is dropped by the push service.
CHAT_PUSH_TTL_SECONDS = env_int("CHAT_PUSH_TTL_SECONDS", 3600)
if CHAT_PUSH_TTL_SECONDS < 0:
    fail("CHAT_PUSH_TTL_SECONDS must be 0 or more.")
# Browsers' push endpoints are https:// URLs; a test's own push service is not.
CHAT_PUSH_HTTP_ENDPOINTS = env_bool("CHAT_PUSH_HTTP_ENDPOINTS")
# --- Presence (issue 16; docs/protocol.md, "Presence") -----------------------------
# Off: no records, no `presence` frames, everyone shown offline (its cost made
# matrix.org turn it off; here it is a switch).
CHAT_PRESENCE_ENABLED = env_bool("CHAT_PRESENCE_ENABLED", True)
# A user whose last connection closed stays as they were this long (a reload).
CHAT_PRESENCE_GRACE_SECONDS = max(0.0, env_float("CHAT_PRESENCE_GRACE_SECONDS", 20))
# A connection's record lives this long unless its process renews it: a killed
# process's users are offline within it.
CHAT_PRESENCE_TTL_SECONDS = max(4.0, env_float("CHAT_PRESENCE_TTL_SECONDS", 60))
# At most one `presence` frame per user this often.
CHAT_PRESENCE_DEBOUNCE_SECONDS = max(
    0.0, env_float("CHAT_PRESENCE_DEBOUNCE_SECONDS", 10)
)
# The pages send `away` after this long without input.
CHAT_PRESENCE_AWAY_SECONDS = max(1.0, env_float("CHAT_PRESENCE_AWAY_SECONDS", 300))
# Online spans (was_online_at) are kept this many days.
CHAT_PRESENCE_SPAN_DAYS = max(1, env_int("CHAT_PRESENCE_SPAN_DAYS", 7))

# --- Security: limits and abuse (docs/security.md) ---------------------------------
# Per-user token bucket shared by WebSocket frames and HTTP API requests.
CHAT_RATE_BURST = max(1, env_int("CHAT_RATE_BURST", 60))
CHAT_RATE_PER_SECOND = max(0.01, env_float("CHAT_RATE_PER_SECOND", 10))
# Per client address: sign-ups, log-ins and token requests (spam, password
# guessing); generous, since a whole office may share one address.
CHAT_AUTH_RATE_BURST = max(1, env_int("CHAT_AUTH_RATE_BURST", 100))
CHAT_AUTH_RATE_PER_MINUTE = max(0.01, env_float("CHAT_AUTH_RATE_PER_MINUTE", 60))
# Per account (the username tried): log-ins and token requests, from anywhere.
CHAT_AUTH_ACCOUNT_RATE_BURST = max(1, env_int("CHAT_AUTH_ACCOUNT_RATE_BURST", 10))
CHAT_AUTH_ACCOUNT_RATE_PER_MINUTE = max(
    0.01, env_float("CHAT_AUTH_ACCOUNT_RATE_PER_MINUTE", 5)
)
CHAT_MAX_CONNECTIONS_PER_USER = max(1, env_int("CHAT_MAX_CONNECTIONS_PER_USER", 20))
# A client frame longer than this (characters) is refused with `too_long`.
CHAT_MAX_FRAME_LENGTH = 16384
# Bytes a connection may have waiting to be written to a client that does not
# read, before the server closes it (chat.realtime.guards).
CHAT_SEND_BUFFER_BYTES = max(65536, env_int("CHAT_SEND_BUFFER_BYTES", 1048576))
# Start daphne even with daphne/autobahn/Twisted versions chat.realtime.guards was
# not tested with (it patches their internals): off, the server refuses.
CHAT_ALLOW_UNTESTED_SERVER = env_bool("CHAT_ALLOW_UNTESTED_SERVER")
CHAT_TICKET_SECONDS = 30
# HTTP request bodies (the API's JSON, the pages' forms): a message is 4,000
# characters, so 64 KiB is plenty.
DATA_UPLOAD_MAX_MEMORY_SIZE = 65536

# Attachments (docs/configuration.md, "Files"). The files are stored through
# Django's storage API: the filesystem under MEDIA_ROOT unless
# CHAT_STORAGE_BACKEND names another (django-storages' S3, say), never served
# as static files: only chat.api.uploads answers for them, after its checks.
CHAT_UPLOAD_MAX_BYTES = env_int("CHAT_UPLOAD_MAX_BYTES", 10 * 1024 * 1024)
if CHAT_UPLOAD_MAX_BYTES < 1:
    fail("CHAT_UPLOAD_MAX_BYTES must be 1 or more.")
CHAT_UPLOAD_QUOTA_BYTES = env_int("CHAT_UPLOAD_QUOTA_BYTES", 1024 * 1024 * 1024)
CHAT_UPLOAD_PURGE_HOURS = env_int("CHAT_UPLOAD_PURGE_HOURS", 24)
if CHAT_UPLOAD_PURGE_HOURS < 0:
    fail("CHAT_UPLOAD_PURGE_HOURS must be 0 or more.")
CHAT_UPLOAD_TYPES = env_list(
    "CHAT_UPLOAD_TYPES",
    [
        "image/jpeg",
        "image/png",
        "image/gif",
        "image/webp",
        "application/pdf",
        "text/plain",
        "application/zip",
        "application/gzip",
        "application/x-7z-compressed",
        "application/x-tar",
        "application/msword",
        "application/vnd.ms-excel",
        "application/vnd.ms-powerpoint",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        "application/vnd.oasis.opendocument.text",
        "application/vnd.oasis.opendocument.spreadsheet",
        "application/vnd.oasis.opendocument.presentation",
    ],
)
CHAT_UPLOAD_MAX_FILES = 10
FILE_UPLOAD_HANDLERS = [
    "chat.upload_handlers.LimitedUploadHandler",
    "django.core.files.uploadhandler.MemoryFileUploadHandler",
    "django.core.files.uploadhandler.TemporaryFileUploadHandler",
]
# Images larger than this many pixels are refused (decompression bombs).
CHAT_UPLOAD_MAX_PIXELS = env_int("CHAT_UPLOAD_MAX_PIXELS", 40_000_000)
CHAT_UPLOAD_THUMBNAIL_SIZE = 400
# Behind nginx: the prefix of an `internal` location that serves MEDIA_ROOT
# (docs/deploy.md); the download is then an X-Accel-Redirect there.
CHAT_UPLOAD_ACCEL_REDIRECT = env_str("CHAT_UPLOAD_ACCEL_REDIRECT", "")
MEDIA_ROOT = env_str("CHAT_MEDIA_ROOT", str(BASE_DIR / "media"))
# Not served: MEDIA_URL is never routed (the downloads go through the API).
MEDIA_URL = "/media-not-served/"
STORAGES = {
    "default": {
        "BACKEND": env_str(
            "CHAT_STORAGE_BACKEND", "django.core.files.storage.FileSystemStorage"
        ),
        "OPTIONS": json.loads(env_str("CHAT_STORAGE_OPTIONS", "{}") or "{}"),
    },
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage",
    },
}

# --- Several processes, failures (docs/deploy.md) ---------------------------------
# Each connection re-adds itself to its groups this often, so that the layer's
# group_expiry never ends live delivery, and at once after a layer outage.
CHAT_GROUP_REFRESH_SECONDS = CHANNEL_LAYERS["default"]["CONFIG"]["group_expiry"] / 4
# SIGTERM: keep listening this long (health 503), then wait this long at most
# for the WebSockets to close before exiting (chat.realtime.shutdown).
CHAT_SHUTDOWN_DELAY_SECONDS = env_int("CHAT_SHUTDOWN_DELAY_SECONDS", 0)
CHAT_SHUTDOWN_TIMEOUT_SECONDS = env_int("CHAT_SHUTDOWN_TIMEOUT_SECONDS", 5)
CHAT_HEALTH_TIMEOUT_SECONDS = 2
# The longest a publish or a group change may wait for the channel layer.
CHAT_LAYER_TIMEOUT_SECONDS = 3

# --- Auth, i18n, static -------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {
        "NAME": "django.contrib.auth.password_validation."
        "UserAttributeSimilarityValidator"
    },
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("zh-hans", "简体中文")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = BASE_DIR / "staticfiles"
# WhiteNoise serves the files where the finders find them, so that a checkout
# runs without `collectstatic` (files under STATIC_ROOT are served too).
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG
# ...so a missing STATIC_ROOT (no collectstatic run) is normal, not a warning.
warnings.filterwarnings("ignore", "No directory at", UserWarning)

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
# CHAT_HTTPS: the site is served over HTTPS (behind a TLS proxy that sets
# X-Forwarded-Proto). Cookies go over HTTPS only, HTTP is redirected, HSTS.
CHAT_HTTPS = env_bool("CHAT_HTTPS")
SESSION_COOKIE_SECURE = env_bool("SECURE_COOKIES") or CHAT_HTTPS
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
if CHAT_HTTPS:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = True
    SECURE_HSTS_SECONDS = env_int("CHAT_HSTS_SECONDS", 31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("CHAT_HSTS_INCLUDE_SUBDOMAINS", True)
# Preloading HSTS is a promise to browser vendors, made by hand, not a setting.
SILENCED_SYSTEM_CHECKS = ["security.W021"]
X_FRAME_OPTIONS = "DENY"

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.authentication.BearerTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_THROTTLE_CLASSES": ["chatsite.throttles.UserRateThrottle"],
    # JSON and form bodies only: twisted answers a malformed multipart body with
    # an empty 400 before Django sees it, and no endpoint takes files.
    "DEFAULT_PARSER_CLASSES": [
        "chat.api.parsers.JSONParser",
        "rest_framework.parsers.FormParser",
    ],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "chat.api.errors.exception_handler",
    "UNAUTHENTICATED_USER": None,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Chat server API",
    "DESCRIPTION": "Rooms, direct messages and a long-poll fallback. "
    "The WebSocket protocol is in docs/protocol.md.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
}

LOG_LEVEL = env_str("LOG_LEVEL", "INFO").strip().upper() or "INFO"
if not isinstance(logging.getLevelName(LOG_LEVEL), int):
    fail(f"LOG_LEVEL must be DEBUG, INFO, WARNING or ERROR, not {LOG_LEVEL[:20]!r}.")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        # Django's own console handler (DEBUG on) would print each record a
        # second time: its records go to the root's handler only.
        "django": {"handlers": [], "level": LOG_LEVEL, "propagate": True},
        "django.channels.server": {"level": "WARNING"},
    },
}
