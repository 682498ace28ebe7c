"""The security tests talk to real daphne processes: the end-to-end fixtures."""

import pytest
from django.conf import settings

from tests.conftest import REDIS_PREFIX
from tests.e2e.conftest import (  # noqa: F401 - fixtures, used by name
    alice,
    bob,
    carol,
    daphne_server,
    dave,
    live_server_log,
    lobby,
    make_person,
    start_daphne,
)


@pytest.fixture(autouse=True)
def _fresh_shared_limits():
    """With Redis, buckets outlive a test (one address for all): start empty."""
    if not settings.REDIS_URL:
        return
    import redis

    client = redis.Redis.from_url(settings.REDIS_URL)
    try:
        for pattern in (f"{REDIS_PREFIX}:rate:*", f"{REDIS_PREFIX}:conns:*"):
            keys = list(client.scan_iter(match=pattern, count=1000))
            if keys:
                client.delete(*keys)
    finally:
        client.close()
