"""The channels-redis layer: a pool that waits when full, a receive that waits
through a Redis outage, and a signal when Redis is back.

redis-py's default pool fails with "Too many connections" once its limit is
reached, which a burst of handshakes (each joins groups) does at a few hundred
sockets; a blocking pool makes the burst wait for a free connection instead.

channels-redis raises a connection error from `receive` when Redis goes away,
and channels' consumers die of it: every WebSocket of the process would close
with 1011. Here one reader task per event loop reads Redis (see `receive`) and
waits and tries again through an outage. After a failure the
layer PINGs Redis until it answers, then counts a recovery, so that the process
puts its connections back in their groups (a restarted Redis has forgotten
them) and sends them what they missed (chat.realtime.connections). It cannot wait for a
receive to work again: with the groups gone, nothing would ever arrive.
"""

import asyncio
import contextlib
import functools
import logging
import random
import time
import weakref
from collections import deque
from collections.abc import Callable

from channels_redis.core import ChannelLock
from channels_redis.core import RedisChannelLayer as BaseRedisChannelLayer
from channels_redis.utils import create_pool
from redis import asyncio as aioredis
from redis.driver_info import DriverInfo
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError

from .waiting import WaitingReceives

logger = logging.getLogger(__name__)

# Errors that mean "Redis cannot be reached right now", not a bug of ours.
LAYER_ERRORS = (RedisError, OSError, asyncio.TimeoutError)


@functools.cache
def driver_info() -> DriverInfo:
    """What our connections tell Redis about their client, worked out once.

    Left to itself redis-py looks its own version up in the installed packages'
    metadata (a walk of site-packages) for every new connection,
    and a burst of handshakes grows a pool by a hundred connections at once.
    """
    return DriverInfo()


class RedisChannelLayer(BaseRedisChannelLayer):
    process_local = False  # shared by every process (realtime.layer)
    pool_timeout = 10
    retry_first_delay = 0.1
    retry_max_delay = 2.0
    silence_margin = 10.0
    ping_timeout = 2.0
    command_timeout = 2.5

    def __init__(self, *args, **kwargs):
        self.clean_locks: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
        super().__init__(*args, **kwargs)
        self.failing = False
        # When the current (or last) outage was noticed, by the wall clock.
        self.failing_since: float | None = None
        # How many times Redis answered again after failing (chat.realtime.connections).
        self.recoveries = 0
        self.watcher: asyncio.Future | None = None
        self.readers: dict[asyncio.AbstractEventLoop, asyncio.Future] = {}
        self.waiting = WaitingReceives()
        # channel -> (when it came, message): read from Redis while no receive
        # of that channel was waiting.
        self.unclaimed: dict[str, deque[tuple[float, dict]]] = {}
        # channel -> the callback that takes its messages (`listen`).
        self.listeners: dict[str, Callable[[dict], None]] = {}

    @property
    def receive_clean_locks(self) -> ChannelLock:
        """channels-redis' per-channel cleanup locks, one set per event loop.

        Its lock is held from a read until the read's backup copy is deleted;
        a loop that ends meanwhile (tests run one loop after another) would
        leave it held, bound to that loop, and every later read would fail.
        """
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return self._loopless_clean_locks
        locks = self.clean_locks.get(loop)
        if locks is None:
            locks = self.clean_locks[loop] = ChannelLock()
        return locks

    @receive_clean_locks.setter
    def receive_clean_locks(self, locks: ChannelLock) -> None:
        self._loopless_clean_locks = locks  # channels-redis' own, made at init

    def create_pool(self, index):
        host = dict(self.hosts[index])
        # A pooled connection from before a Redis restart (or a Sentinel
        # failover) fails once: the command is sent again on a new connection.
        host.setdefault("retry_on_error", [RedisConnectionError])
        if "address" not in host:
            return create_pool(host)  # Sentinel, or host and port
        address = host.pop("address")
        host.setdefault("timeout", self.pool_timeout)
        host.setdefault("driver_info", driver_info())
        return aioredis.BlockingConnectionPool.from_url(address, **host)

    async def receive(self, channel):
        """The next message of `channel`, through Redis outages (never raises them).

        For this process's channels one reader task per event loop reads Redis
        and hands each message to the receive waiting on its channel (or keeps
        it for the next one); a receive waits on a future of its own.
        channels-redis lets every receive take a turn at reading Redis for all
        of them under one lock bound to one event loop: a receive cancelled
        during its read (a consumer ending as its client leaves) dropped the
        message Redis had just handed over, and a loop that ended during a read
        (tests run one loop after another) left the lock held for the next.
        """
        if "!" not in channel:
            return await self._retrying(super().receive, channel)
        self.require_valid_channel_name(channel)
        self._ensure_reader(channel)
        return await self.waiting.next_message(self.unclaimed, channel, self._hand_back)

    def listen(self, channel: str, callback: Callable[[dict], None]) -> None:
        """Hand each message of `channel` (one of this process's) to `callback`,
        in the running loop's reader as it comes, instead of keeping it for a
        receive."""
        self.require_valid_channel_name(channel)
        self._ensure_reader(channel)
        self.listeners[channel] = callback
        for _, message in self.unclaimed.pop(channel, ()):
            _call(callback, message)

    def unlisten(self, channel: str) -> None:
        self.listeners.pop(channel, None)

    async def ping(self) -> None:
        """A PING to each Redis of the ring."""
        for index in range(self.ring_size):
            await self.connection(index).ping()

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
        """Hand every message of this process's Redis channel to its receives."""
        swept = time.monotonic()
        while True:
            names, message = await self._retrying(self._receive_one, real_channel)
            for name in names if isinstance(names, list) else [names]:
                self._hand_over(name, message)
            if time.monotonic() - swept > self.expiry:
                swept = time.monotonic()
                self._sweep(swept - self.expiry)

    def _hand_back(self, channel: str, message: dict) -> None:
        self._hand_over(channel, message, first=True)

    def _hand_over(self, channel: str, message: dict, *, first: bool = False) -> None:
        """To the first receive waiting on `channel`, or kept for the next one
        (at most `capacity`, the oldest dropped, as channels-redis does); or to
        its listener."""
        listener = self.listeners.get(channel)
        if listener is not None:
            _call(listener, message)
            return
        if self.waiting.hand(channel, message):
            return
        kept = self.unclaimed.get(channel)
        if kept is None:
            kept = self.unclaimed[channel] = deque(maxlen=self.capacity)
        if first:
            kept.appendleft((time.monotonic(), message))
        else:
            kept.append((time.monotonic(), message))

    async def _receive_one(self, real_channel: str):
        """receive_single, bounded: BZPOPMIN answers within `brpop_timeout` (5 s)
        even when idle, so a longer silence is a dead connection (a partition,
        or a Redis restarted behind it), which TCP alone notices only hours on."""
        async with asyncio.timeout(self.brpop_timeout + self.silence_margin):
            return await self.receive_single(real_channel)

    def _sweep(self, before: float) -> None:
        """Forget messages kept since before `before` for channels nobody
        receives (a long poll that ended, a group's reader cancelled)."""
        for name, kept in list(self.unclaimed.items()):
            while kept and kept[0][0] < before:
                kept.popleft()
            if not kept:
                del self.unclaimed[name]

    @property
    def unnoticed_seconds(self) -> float:
        """How long Redis may have been gone before the layer noticed: a silent
        read ends after brpop_timeout + silence_margin, a send after
        command_timeout."""
        return self.brpop_timeout + self.silence_margin + self.command_timeout

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
        if not self.failing:
            self.failing_since = time.time()
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


def _call(callback: Callable[[dict], None], message: dict) -> None:
    """A listener's failure is its own: the reader and the others go on."""
    try:
        callback(message)
    except Exception:
        logger.exception("a channel listener failed")
