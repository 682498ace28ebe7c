"""The channels-redis layer: a pool that waits when full, a receive that waits
through a Redis outage, and a signal when Redis is back.

redis-py's default pool fails with "Too many connections" once its limit is
reached, which a burst of handshakes (each joins groups) does at a few hundred
sockets; a blocking pool makes the burst wait for a free connection instead.

channels-redis raises a connection error from `receive` when Redis goes away,
and channels' consumers die of it: every WebSocket of the process would close
with 1011. Here a receive waits and tries again instead. After a failure the
layer PINGs Redis until it answers, then sets `recovered`, so that the process
puts its connections back in their groups (a restarted Redis has forgotten
them) and sends them what they missed (chat.connections). It cannot wait for a
receive to work again: with the groups gone, nothing would ever arrive.
"""

import asyncio
import logging
import random

from channels_redis.core import RedisChannelLayer as BaseRedisChannelLayer
from redis import asyncio as aioredis
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)

# Errors that mean "Redis cannot be reached right now", not a bug of ours.
LAYER_ERRORS = (RedisError, OSError, asyncio.TimeoutError)


class RedisChannelLayer(BaseRedisChannelLayer):
    pool_timeout = 10
    retry_first_delay = 0.1
    retry_max_delay = 2.0

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.failing = False
        self.recovered = asyncio.Event()
        self.watcher: asyncio.Future | None = None

    def create_pool(self, index):
        host = dict(self.hosts[index])
        if "address" not in host:
            return super().create_pool(index)
        address = host.pop("address")
        host.setdefault("timeout", self.pool_timeout)
        return aioredis.BlockingConnectionPool.from_url(address, **host)

    async def receive(self, channel):
        """Wait for the next message, through Redis outages (never raises them)."""
        delay = self.retry_first_delay
        while True:
            try:
                return await super().receive(channel)
            except LAYER_ERRORS as exc:
                self.note_failure(exc)
                # Jitter: a process's consumers do not all come back at once.
                await asyncio.sleep(delay * (0.5 + random.random()))  # noqa: S311
                delay = min(delay * 2, self.retry_max_delay)

    def note_failure(self, exc: BaseException) -> None:
        """Redis failed: watch for it to answer again (a receive may wait long)."""
        if self.failing:
            return
        logger.warning("channel layer failed: %r; retrying", exc)
        self.failing = True
        self.watcher = asyncio.ensure_future(self.watch_until_back())

    async def watch_until_back(self) -> None:
        delay = self.retry_first_delay
        while True:
            await asyncio.sleep(delay)
            delay = min(delay * 2, self.retry_max_delay)
            try:
                for index in range(self.ring_size):
                    await self.connection(index).ping()
            except LAYER_ERRORS:
                continue
            logger.warning("channel layer answers again")
            self.failing = False
            self.recovered.set()
            return
