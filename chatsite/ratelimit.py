"""Token-bucket rate limits, per process or shared through Redis.

A bucket holds up to `burst` tokens and refills at `rate` tokens a second; each
action takes one. An empty bucket answers how many seconds until one is back.
Without REDIS_URL the buckets live in this process (one daphne: exact). With
REDIS_URL they live in Redis, updated by one Lua script (atomic, with Redis's
clock), so every process draws from the same bucket. No database query: a
limit is checked on every frame.

If Redis cannot be reached the action is allowed (and logged): a limit must not
take the chat down with it.
"""

import asyncio
import logging
import math
import threading
import time
import weakref
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from django.conf import settings

logger = logging.getLogger(__name__)

# Both scripts below: the bucket's tokens now (refilled since it was last
# written), then what they take, then the bucket written back with an expiry.
_REFILL = """
local burst = tonumber(ARGV[1])
local rate = tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(state[1])
local at = tonumber(state[2])
if tokens == nil or at == nil then
  tokens = burst
  at = now
end
tokens = math.min(burst, tokens + (now - at) * rate / 1000)
"""
_SAVE = """
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.ceil(burst * 1000 / rate) + 1000)
"""

# KEYS[1]: the bucket. ARGV: burst, rate per second. Returns the milliseconds to
# wait: 0 when a token was taken.
_SCRIPT = (
    _REFILL
    + """local wait = 0
if tokens >= 1 then
  tokens = tokens - 1
else
  wait = math.ceil((1 - tokens) * 1000 / rate)
end
"""
    + _SAVE
    + "return wait\n"
)


# The consumer's frames take their tokens a few at a time (a lease): KEYS[1] the
# bucket; ARGV: burst, rate per second, the most to take. Takes an eighth of the
# tokens there (at least one, at most ARGV[3]) and returns how many; or, when
# not even one is there, minus the milliseconds to wait.
_LEASE_SCRIPT = (
    _REFILL
    + """
local most = tonumber(ARGV[3])
local taken = 0
if tokens >= 1 then
  taken = math.max(1, math.min(most, math.floor(tokens / 8)))
  tokens = tokens - taken
else
  taken = -math.ceil((1 - tokens) * 1000 / rate)
end
"""
    + _SAVE
    + "return taken\n"
)

# A lease is used within this many seconds or dropped (its tokens are spent).
LEASE_SECONDS = 1.0


@dataclass(frozen=True)
class Limit:
    """A bucket's shape: `burst` actions at once, `rate` a second after that."""

    name: str
    burst: int
    rate: float


def user_limit() -> Limit:
    """Frames and API requests of one user (WebSocket and HTTP together)."""
    return Limit("user", settings.CHAT_RATE_BURST, settings.CHAT_RATE_PER_SECOND)


def auth_limit() -> Limit:
    """Sign-ups, log-ins and token requests from one client address."""
    return Limit(
        "auth", settings.CHAT_AUTH_RATE_BURST, settings.CHAT_AUTH_RATE_PER_MINUTE / 60
    )


def account_limit() -> Limit:
    """Log-ins and token requests naming one account, from any address."""
    return Limit(
        "account",
        settings.CHAT_AUTH_ACCOUNT_RATE_BURST,
        settings.CHAT_AUTH_ACCOUNT_RATE_PER_MINUTE / 60,
    )


class _LocalBuckets:
    """The buckets of this process: {key: (tokens, time on `clock`)}."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.lock = threading.Lock()
        self.buckets: dict[str, tuple[float, float]] = {}
        self.clock = clock  # a test's clock moves when told

    def take(self, key: str, limit: Limit) -> float:
        now = self.clock()
        with self.lock:
            tokens, at = self.buckets.get(key, (limit.burst, now))
            tokens = min(limit.burst, tokens + (now - at) * limit.rate)
            wait = 0.0
            if tokens >= 1:
                tokens -= 1
            else:
                wait = (1 - tokens) / limit.rate
            self.buckets[key] = (tokens, now)
            if len(self.buckets) > 100_000:
                self._forget_full(now)
            return wait

    def _forget_full(self, now: float) -> None:
        """Drop buckets that have refilled: they hold no information."""
        for key, (tokens, at) in list(self.buckets.items()):
            if now - at > 3600 or tokens >= 1:
                del self.buckets[key]

    def clear(self) -> None:
        with self.lock:
            self.buckets.clear()


local_buckets = _LocalBuckets()
_sync_client = None
_async_clients: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def _key(limit: Limit, subject: str) -> str:
    prefix = settings.CHANNEL_LAYERS["default"].get("CONFIG", {}).get("prefix", "chat")
    return f"{prefix}:rate:{limit.name}:{subject}"


def _redis_sync():
    global _sync_client
    if _sync_client is None:
        import redis

        _sync_client = redis.Redis.from_url(
            settings.REDIS_URL, socket_timeout=2, socket_connect_timeout=2
        )
    return _sync_client


# How long a Redis command may take before the limit is left unchecked.
REDIS_TIMEOUT_SECONDS = 2


async def _bounded(command: Awaitable):
    """Await one command of the async client (`_redis_async`), bounded.

    Bounded here, not by redis-py's socket_timeout: with one, every command's
    send runs in a task of its own (asyncio.wait_for), a cost paid at every
    handshake.
    """
    async with asyncio.timeout(REDIS_TIMEOUT_SECONDS):
        return await command


def _redis_async():
    """One client per event loop: redis.asyncio clients are bound to theirs."""
    loop = asyncio.get_running_loop()
    client = _async_clients.get(loop)
    if client is None:
        import redis.asyncio
        from redis.driver_info import DriverInfo

        # A pool that waits (2 s at most) for a free connection: redis-py's
        # default one fails with "Too many connections" at 100 in use, as when
        # a thousand sockets close at once and each counts itself off.
        pool = redis.asyncio.BlockingConnectionPool.from_url(
            settings.REDIS_URL,
            max_connections=100,
            timeout=REDIS_TIMEOUT_SECONDS,
            socket_connect_timeout=REDIS_TIMEOUT_SECONDS,
            # Made here: left to itself redis-py reads its version from the
            # installed packages' metadata at every new connection.
            driver_info=DriverInfo(),
        )
        client = redis.asyncio.Redis(connection_pool=pool)
        _async_clients[loop] = client
    return client


def _seconds(wait) -> float:
    return int(wait) / 1000


def hit(limit: Limit, subject: str) -> float:
    """Take one token from `subject`'s bucket: 0, or the seconds to wait."""
    if not settings.REDIS_URL:
        return local_buckets.take(f"{limit.name}:{subject}", limit)
    try:
        wait = _redis_sync().eval(
            _SCRIPT, 1, _key(limit, subject), limit.burst, limit.rate
        )
    except Exception:
        logger.warning("rate limit not checked: Redis failed", exc_info=True)
        return 0.0
    return _seconds(wait)


# (limit name, subject) -> (tokens taken from Redis and not used yet, until when)
_leases: dict[tuple[str, str], tuple[int, float]] = {}


async def ahit(limit: Limit, subject: str) -> float:
    """hit() for async callers (the consumer): no thread, no database.

    With Redis the tokens are taken a few at a time (an eighth of what the
    bucket holds, at most what it refills in half a second) and used here, so
    a busy sender costs a Redis round trip every few frames, not every frame.
    The bucket stays shared: what one process holds, the others (and HTTP) do
    not get, so a limit holds across processes; it may refuse a little early,
    never late. A small bucket (or a nearly empty one) is taken one at a time.
    """
    if not settings.REDIS_URL:
        return local_buckets.take(f"{limit.name}:{subject}", limit)
    now = time.monotonic()
    key = (limit.name, subject)
    left, until = _leases.get(key, (0, 0.0))
    if left > 0 and now < until:
        _leases[key] = (left - 1, until)
        return 0.0
    most = max(1, math.ceil(limit.rate / 2))
    try:
        taken = await _bounded(
            _redis_async().eval(
                _LEASE_SCRIPT, 1, _key(limit, subject), limit.burst, limit.rate, most
            )
        )
    except Exception:
        logger.warning("rate limit not checked: Redis failed", exc_info=True)
        return 0.0
    taken = int(taken)
    if taken <= 0:
        _leases.pop(key, None)
        return -taken / 1000
    if taken > 1:
        _leases[key] = (taken - 1, now + LEASE_SECONDS)
        if len(_leases) > 100_000:
            _forget_old_leases(now)
    else:
        _leases.pop(key, None)
    return 0.0


def _forget_old_leases(now: float) -> None:
    for key, (_, until) in list(_leases.items()):
        if until <= now:
            del _leases[key]


def retry_after_header(wait: float) -> str:
    """Retry-After is whole seconds, at least 1."""
    return str(max(1, math.ceil(wait)))


# --- connections per user ---------------------------------------------------------
# Redis: a sorted set per user of its connections' channel names, scored by when
# each stops counting unless refreshed (at every heartbeat): a process that dies
# leaves no connection counted for long.

_local_connections: dict[int, set[str]] = {}


def _connections_key(user_id: int) -> str:
    prefix = settings.CHANNEL_LAYERS["default"].get("CONFIG", {}).get("prefix", "chat")
    return f"{prefix}:conns:{user_id}"


def _connection_ttl() -> float:
    return 3 * settings.CHAT_HEARTBEAT_SECONDS + 10


# KEYS[1]: the user's connections. ARGV: now, when the new one stops counting,
# its channel, the limit, the key's expiry in seconds. One round trip (it runs at
# every handshake): drops the lapsed, adds the new one, and takes it out again
# if that makes one too many. Returns 1 if it counts, 0 if refused.
_OPEN_SCRIPT = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[3])
redis.call('EXPIRE', KEYS[1], ARGV[5])
if redis.call('ZCARD', KEYS[1]) > tonumber(ARGV[4]) then
  redis.call('ZREM', KEYS[1], ARGV[3])
  return 0
end
return 1
"""


async def aconnection_opened(user_id: int, channel: str) -> bool:
    """Count a new connection of the user; False if that is one too many."""
    limit = settings.CHAT_MAX_CONNECTIONS_PER_USER
    if not settings.REDIS_URL:
        mine = _local_connections.setdefault(user_id, set())
        if len(mine) >= limit:
            return False
        mine.add(channel)
        return True
    key, now = _connections_key(user_id), time.time()
    ttl = _connection_ttl()
    try:
        counted = await _bounded(
            _redis_async().eval(
                _OPEN_SCRIPT, 1, key, now, now + ttl, channel, limit, math.ceil(ttl)
            )
        )
    except Exception:
        logger.warning("connection limit not checked: Redis failed", exc_info=True)
        return True
    return bool(int(counted))


async def aconnection_alive(user_id: int, channel: str) -> None:
    """Keep counting an open connection (called at each heartbeat)."""
    if not settings.REDIS_URL:
        return
    key = _connections_key(user_id)
    try:
        await _bounded(
            _redis_async().zadd(key, {channel: time.time() + _connection_ttl()})
        )
        await _bounded(_redis_async().expire(key, math.ceil(_connection_ttl())))
    except Exception:
        logger.warning("connection not refreshed: Redis failed", exc_info=True)


async def aconnection_closed(user_id: int, channel: str) -> None:
    if not settings.REDIS_URL:
        mine = _local_connections.get(user_id)
        if mine is not None:
            mine.discard(channel)
            if not mine:
                del _local_connections[user_id]
        return
    try:
        await _bounded(_redis_async().zrem(_connections_key(user_id), channel))
    except Exception:
        logger.warning("connection not uncounted: Redis failed", exc_info=True)
