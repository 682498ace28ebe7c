"""Settings of the tutorial-style reference: Channels and our channel layer only."""

import os

# The same layer as our server's: in-memory, or channels-redis with REDIS_URL.
from chatsite.settings import CHANNEL_LAYERS  # noqa: F401

SECRET_KEY = os.environ.get("SECRET_KEY", "bench-reference-only")
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
INSTALLED_APPS = ["channels"]
DATABASES: dict = {}
ROOT_URLCONF = "bench.reference.tutorial"
USE_TZ = True
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": "WARNING"},
}
