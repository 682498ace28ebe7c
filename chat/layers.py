"""The channels-redis layer: a pool that waits when full, a receive that waits
through a Redis outage, and a signal when Redis is back.

redis-py's default pool fails with "Too many connections" once its limit is
reached, which a burst of handshakes (each joins groups) does at a few hundred
sockets; a blocking pool makes the burst wait for a free connection instead.

channels-redis raises a connection error from `receive` when Redis goes away,
and channels' consumers die of it: every WebSocket of the process would close
with 1011. Here one reader task per process reads Redis (see `receive`) and
waits and tries again through an outage. After a failure the
layer PINGs Redis until it answers, then counts a recovery, so that the process
puts its connections back in their groups (a restarted Redis has forgotten
them) and sends them what they missed (chat.connections). It cannot wait for a
receive to work again: with the groups gone, nothing would ever arrive.
"""

import asyncio
import contextlib
import logging
import random
import sys
import time

from channels_redis.core import RedisChannelLayer as BaseRedisChannelLayer
from channels_redis.utils import create_pool
from redis import asyncio as aioredis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)

# Errors that mean "Redis cannot be reached right now", not a bug of ours.
LAYER_ERRORS = (RedisError, OSError, asyncio.TimeoutError)


def _daphne_loop() -> bool:
    """True in daphne's long-lived event loop (its Twisted reactor running)."""
    reactor = sys.modules.get("twisted.internet.reactor")
    return bool(
        reactor is not None
        and getattr(reactor, "running", False)
        and getattr(reactor, "_asyncioEventloop", None) is asyncio.get_running_loop()
    )


class RedisChannelLayer(BaseRedisChannelLayer):
    pool_timeout = 10
    retry_first_delay = 0.1
    retry_max_delay = 2.0
    silence_margin = 10.0
    ping_timeout = 2.0
    command_timeout = 2.5

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.failing = False
        # How many times Redis answered again after failing (chat.connections).
        self.recoveries = 0
        self.watcher: asyncio.Future | None = None
        self.readers: dict[asyncio.AbstractEventLoop, asyncio.Future] = {}
        self.waiting: dict[str, int] = {}  # channel -> receives waiting on it
        self.last_receive: dict[str, float] = {}

    def create_pool(self, index):
        host = dict(self.hosts[index])
        # A pooled connection from before a Redis restart (or a Sentinel
        # failover) fails once: the command is sent again on a new connection.
        host.setdefault("retry_on_error", [RedisConnectionError])
        if "address" not in host:
            return create_pool(host)  # Sentinel, or host and port
        address = host.pop("address")
        host.setdefault("timeout", self.pool_timeout)
        return aioredis.BlockingConnectionPool.from_url(address, **host)

    async def receive(self, channel):
        """The next message of `channel`, through Redis outages (never raises them).

        For this process's channels one reader task reads Redis and fills each
        channel's buffer; a receive only waits on its buffer. channels-redis
        lets every receive take a turn at reading Redis for all of them, and a
        receive cancelled during its read (a consumer ending as its client
        leaves) drops the message Redis had just handed over, for every
        connection of the process.
        """
        if "!" not in channel or not _daphne_loop():
            # Tests and scripts run short event loops one after another: a
            # reader would die with each (and could drop a message as it did).
            return await self._retrying(super().receive, channel)
        self.require_valid_channel_name(channel)
        self._ensure_reader(channel)
        buffer = self.receive_buffer[channel]
        self.waiting[channel] = self.waiting.get(channel, 0) + 1
        try:
            return await buffer.get()
        finally:
            self.waiting[channel] -= 1
            self.last_receive[channel] = time.monotonic()
            if not self.waiting[channel] and buffer.empty():
                # As channels-redis does: an empty buffer is made anew.
                self.receive_buffer.pop(channel, None)
                del self.waiting[channel]

    async def group_send(self, group, message):
        async with self._noting_failures():
            return await super().group_send(group, message)

    async def group_add(self, group, channel):
        async with self._noting_failures():
            return await super().group_add(group, channel)

    @contextlib.asynccontextmanager
    async def _noting_failures(self):
        """Bounded, and a failure starts the watch for Redis coming back (whose
        recovery re-adds the groups and catches connections up)."""
        try:
            async with asyncio.timeout(self.command_timeout):
                yield
        except LAYER_ERRORS as exc:
            self.note_failure(exc)
            raise

    async def _retrying(self, receive, *args):
        delay = self.retry_first_delay
        while True:
            try:
                return await receive(*args)
            except LAYER_ERRORS as exc:
                self.note_failure(exc)
                # Jitter: the processes do not all come back at once.
                await asyncio.sleep(delay * (0.5 + random.random()))  # noqa: S311
                delay = min(delay * 2, self.retry_max_delay)

    def _ensure_reader(self, channel: str) -> None:
        loop = asyncio.get_running_loop()
        reader = self.readers.get(loop)
        if reader is None or reader.done():
            for old in [old for old in self.readers if old.is_closed()]:
                del self.readers[old]
            real_channel = self.non_local_name(channel)
            logger.info("one task reads %s for this process", real_channel)
            self.readers[loop] = loop.create_task(self._read(real_channel))

    async def _read(self, real_channel: str) -> None:
        """Hand every message of this process's Redis channel to its buffers."""
        swept = time.monotonic()
        while True:
            names, message = await self._retrying(self._receive_one, real_channel)
            for name in names if isinstance(names, list) else [names]:
                self.receive_buffer[name].put_nowait(message)
            if time.monotonic() - swept > self.expiry:
                swept = time.monotonic()
                self._sweep(swept - self.expiry)

    async def _receive_one(self, real_channel: str):
        """receive_single, bounded: BZPOPMIN answers within `brpop_timeout` (5 s)
        even when idle, so a longer silence is a dead connection (a partition,
        or a Redis restarted behind it), which TCP alone notices only hours on."""
        async with asyncio.timeout(self.brpop_timeout + self.silence_margin):
            return await self.receive_single(real_channel)

    def _sweep(self, before: float) -> None:
        """Forget the buffers of channels nobody has received from in a while."""
        for name in list(self.receive_buffer):
            if not self.waiting.get(name) and self.last_receive.get(name, 0) < before:
                del self.receive_buffer[name]
                self.waiting.pop(name, None)
        for name, seen in list(self.last_receive.items()):
            if seen < before and name not in self.receive_buffer:
                del self.last_receive[name]

    def note_failure(self, exc: BaseException) -> None:
        """Redis failed: watch for it to answer again (a receive may wait long)."""
        watcher = self.watcher
        if (
            self.failing
            and watcher is not None
            and not watcher.done()
            and watcher.get_loop() is asyncio.get_running_loop()
        ):
            return  # already watching
        logger.warning("channel layer failed: %r; retrying", exc)
        self.failing = True
        self.watcher = asyncio.ensure_future(self.watch_until_back())

    async def watch_until_back(self) -> None:
        delay = self.retry_first_delay
        while True:
            await asyncio.sleep(delay)
            delay = min(delay * 2, self.retry_max_delay)
            try:
                async with asyncio.timeout(self.ping_timeout):
                    for index in range(self.ring_size):
                        await self.connection(index).ping()
            except LAYER_ERRORS:
                continue
            logger.warning("channel layer answers again")
            self.failing = False
            self.recoveries += 1
            return
