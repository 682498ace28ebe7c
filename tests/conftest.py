"""Shared fixtures: factories, the engines under test, and a real daphne server.

`make test` runs the suite twice: on the embedded default (SQLite, in-memory
layer) and with DATABASE_URL and REDIS_URL set (PostgreSQL, Redis). Off CI a
missing service skips the second run with the reason; under CI it is an error.
"""

import itertools
import os
import socket
import uuid
from urllib.parse import urlsplit

import pytest
from django.conf import settings

from accounts.models import User
from accounts.tokens import create_token
from chat.realtime.runtime import Runtime, install
from chat.services.rooms import create_room

ON_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
USES_SERVICES = bool(settings.DATABASE_URL or settings.REDIS_URL)
PASSWORD = "correct horse battery staple"

# Each run gets its own key space in Redis, so that runs side by side (and the
# daphne processes they start) never hear each other's groups.
REDIS_PREFIX = f"test-{uuid.uuid4().hex[:8]}"
if settings.REDIS_URL:
    settings.CHANNEL_LAYERS["default"]["CONFIG"]["prefix"] = REDIS_PREFIX


def _reachable(url: str, default_port: int) -> str | None:
    """None if something listens at the URL's host and port, else the reason."""
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or default_port
    try:
        with socket.create_connection((host, port), timeout=2):
            return None
    except OSError as exc:
        return f"{parts.scheme} at {host}:{port} is not reachable ({exc})"


def pytest_collection_modifyitems(config, items):
    problems = []
    if settings.DATABASE_URL and settings.DATABASE_URL.startswith("postgres"):
        problems.append(_reachable(settings.DATABASE_URL, 5432))
    if settings.REDIS_URL:
        problems.append(_reachable(settings.REDIS_URL, 6379))
    problems = [p for p in problems if p]
    if not problems:
        return
    reason = "; ".join(problems)
    if ON_CI:
        raise pytest.UsageError(f"under CI the services must be up: {reason}")
    skip = pytest.mark.skip(reason=f"needs PostgreSQL and Redis: {reason}")
    for item in items:
        item.add_marker(skip)


@pytest.fixture(autouse=True)
async def runtime():
    """A fresh real-time runtime for each test, started on the test's loop and
    stopped after it (its threads' database connections closed with it)."""
    fresh = Runtime()
    previous = install(fresh)
    fresh.start()
    yield fresh
    await fresh.stop()
    install(previous)


@pytest.fixture
def no_runtime(runtime):
    """A process that serves no sockets (a manage.py command): no runtime."""
    install(None)
    yield
    install(runtime)


def pytest_report_header(config):
    engine = settings.DATABASES["default"]["ENGINE"].rsplit(".", 1)[-1]
    layer = settings.CHANNEL_LAYERS["default"]["BACKEND"].rsplit(".", 1)[-1]
    return f"chat engines: database={engine} channel layer={layer}"


_counter = itertools.count(1)


@pytest.fixture
def make_user(db):
    """Make an active user with the shared test password."""

    def make(username: str | None = None, **fields) -> User:
        username = username or f"user{next(_counter)}"
        return User.objects.create_user(username=username, password=PASSWORD, **fields)

    return make


@pytest.fixture
def make_token(db):
    """Make an API token for a user; returns the plaintext."""

    def make(user: User, **kwargs) -> str:
        return create_token(user=user, **kwargs)[1]

    return make


@pytest.fixture
def make_room(db):
    """Make a room owned by `owner`, with `members` added to it."""

    def make(slug: str | None = None, *, owner=None, private=False, members=()):
        from chat.models import Membership

        room = create_room(
            slug=slug or f"room-{next(_counter)}", owner=owner, is_private=private
        )
        for member in members:
            Membership.objects.get_or_create(user=member, conversation=room)
        return room

    return make


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    """Each test starts with full buckets (user ids come back after a rollback)."""
    from chatsite import ratelimit

    ratelimit.local_buckets.clear()
    ratelimit._local_connections.clear()
