"""The token bucket itself: burst, refusal with the wait, refill (local or Redis)."""

import asyncio
import time

import pytest
from django.conf import settings as django_settings

from chat.realtime.clock import ManualClock
from chatsite import ratelimit

pytestmark = pytest.mark.django_db


@pytest.fixture
def subject() -> str:
    """A bucket no other test or run touches."""
    return f"bucket-test-{time.monotonic_ns()}"


def test_bucket_gives_the_burst_then_the_wait(subject):
    """Five at once, then a wait of about one token's refill (0.5 s at 2/s)."""
    limit = ratelimit.Limit("test", burst=5, rate=2)
    assert [ratelimit.hit(limit, subject) for _ in range(5)] == [0] * 5
    wait = ratelimit.hit(limit, subject)
    assert 0.3 < wait <= 0.5


def test_bucket_refills_at_the_rate(subject, monkeypatch):
    """After the wait a token is back, and only one."""
    clock = ManualClock()
    monkeypatch.setattr(ratelimit.local_buckets, "clock", clock.now)
    limit = ratelimit.Limit("test", burst=2, rate=10)
    for _ in range(2):
        ratelimit.hit(limit, subject)
    assert ratelimit.hit(limit, subject) > 0
    if django_settings.REDIS_URL:
        time.sleep(0.15)  # Redis's own clock
    else:
        clock.time += 0.15
    assert ratelimit.hit(limit, subject) == 0
    assert ratelimit.hit(limit, subject) > 0


async def test_async_hits_draw_from_the_same_bucket(subject):
    """The consumer's ahit and the views' hit share one bucket."""
    limit = ratelimit.Limit("test", burst=3, rate=0.1)
    assert await ratelimit.ahit(limit, subject) == 0
    assert ratelimit.hit(limit, subject) == 0
    assert await ratelimit.ahit(limit, subject) == 0
    assert ratelimit.hit(limit, subject) > 5


def test_redis_down_lets_actions_through(subject, settings):
    """A limit must not take the chat down: Redis unreachable means no limit."""
    if not django_settings.REDIS_URL:
        pytest.skip("the Redis path runs where REDIS_URL is set")
    settings.REDIS_URL = "redis://127.0.0.1:9/0"
    ratelimit._sync_client = None
    try:
        limit = ratelimit.Limit("test", burst=1, rate=0.01)
        assert [ratelimit.hit(limit, subject) for _ in range(3)] == [0, 0, 0]
    finally:
        ratelimit._sync_client = None


async def test_the_consumer_takes_a_few_tokens_at_a_time_never_more(subject):
    """With Redis a frame takes a small lease from the shared bucket: HTTP (or
    another process) gets what is left, and nobody gets more than the burst."""
    if not django_settings.REDIS_URL:
        pytest.skip("leases are taken from Redis (REDIS_URL)")
    limit = ratelimit.Limit("test", burst=40, rate=4)  # leases of 2
    assert await ratelimit.ahit(limit, subject) == 0
    passed = 0
    while ratelimit.hit(limit, subject) == 0:
        passed += 1
    assert passed == 38
    assert await ratelimit.ahit(limit, subject) == 0  # the lease's second token
    assert await ratelimit.ahit(limit, subject) > 0


@pytest.mark.skipif(not django_settings.REDIS_URL, reason="the count lives in Redis")
async def test_a_burst_of_connections_opened_and_closed_is_counted_exactly(caplog):
    """Hundreds of sockets of one user opening, then closing at once (a process
    that stops): each is counted and counted off, none fails on Redis."""
    user_id = 10**9 + time.monotonic_ns() % 10**6
    channels = [f"burst.{i}" for i in range(300)]
    key = ratelimit._connections_key(user_id)
    limit = django_settings.CHAT_MAX_CONNECTIONS_PER_USER
    opened = await asyncio.gather(
        *(ratelimit.aconnection_opened(user_id, c) for c in channels)
    )
    assert sum(opened) == min(limit, len(channels))
    await asyncio.gather(*(ratelimit.aconnection_closed(user_id, c) for c in channels))
    assert await ratelimit._redis_async().zcard(key) == 0
    assert "Redis failed" not in caplog.text
