"""The project's settings, with what the tests need to start without set-up."""

import os

os.environ.setdefault("SECRET_KEY", "tests-only-secret-key")
# The tests never read a developer's .env: `env -u DATABASE_URL` means SQLite.
os.environ.setdefault("CHAT_ENV_FILE", "")

from chatsite.settings import *  # noqa: E402, F403

# In-process tests publish to their own layer directly; the daphne processes the
# end-to-end tests start keep the relay (chat.realtime.relay) on.
CHAT_RELAY_OTHER_PROCESSES = False

# Users are made by the hundred: a fast hasher first. The daphne processes the
# end-to-end tests start keep the real hashers, so a user who logs in through
# their pages gets a PBKDF2 hash (tests.e2e.conftest.make_person).
# Limits are tested where a test sets them (tests/security): elsewhere a suite
# that makes hundreds of requests from one address must not run into them.
CHAT_RATE_BURST = 1_000_000
CHAT_AUTH_RATE_BURST = 1_000_000
CHAT_AUTH_ACCOUNT_RATE_BURST = 1_000_000
CHAT_MAX_CONNECTIONS_PER_USER = 1000

PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.MD5PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]

# The notifications job (chat.realtime.notify) never runs a round of its own in
# a test: tests run rounds themselves (run_round); the daphne processes the
# end-to-end tests start keep the default or set their own.
CHAT_NOTIFY_INTERVAL_SECONDS = 3600.0
# Presence (issue 16) sends frames the other tests do not expect: the tests of
# presence turn it on (tests/chat/test_presence*.py and their e2e, browser and
# multi-process tests); so do the daphne processes those start.
CHAT_PRESENCE_ENABLED = False
