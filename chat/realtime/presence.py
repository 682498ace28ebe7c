"""Presence, the runtime's part: this process's connections' records, their
renewal, and the one job that works out statuses and tells the others.

The domain's part (what a status is, what is stored, who is told) is
chat.services.presence. Here:

- Each open connection has a record (chat.services.presence.Record) in the
  store: Redis with REDIS_URL (one hash per user, read by every process), else
  this process's memory. The renewal writes every open connection's again
  every CHAT_PRESENCE_TTL_SECONDS / 4, living TTL / 2: a process that dies
  leaves records that run out, and its users go offline.
- A closed connection's record stays CHAT_PRESENCE_GRACE_SECONDS with its
  last status, then its user is looked at again.
- One task (`work`) takes the users whose records changed, reads their
  records in one round trip, stores the statuses that changed in one
  transaction, and publishes the frames due (at most one per
  CHAT_PRESENCE_DEBOUNCE_SECONDS per user; a later one is sent when due).
- The sweep looks every TTL / 4 at the users the database shows other than
  offline (or told other than they are): their records may have run out in a
  process that died.

Nothing of this runs on the message path: the consumer only hands over
`connected`, `changed` and `closed`, which return at once.

With CHAT_PRESENCE_ENABLED off the records are still kept and renewed (what
`has_open_page` reads: customer support's online agents, the missed-message
email), but no status is worked out, stored or told, and nothing is swept.
"""

import asyncio
import logging
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any, Protocol

from django.conf import settings

from chat.services import presence as domain
from chat.services.presence import Record

from .clock import Clock, LoopClock
from .db_thread import KeptConnectionThread

logger = logging.getLogger(__name__)

Wall = Callable[[], float]  # Unix seconds: records are compared across processes
STORE_TIMEOUT_SECONDS = 2.0


class RecordStore(Protocol):
    async def put(self, records: dict[str, tuple[int, Record]]) -> None:
        """Write each connection's (user id, record)."""

    async def read(self, user_ids: Iterable[int]) -> dict[int, dict[str, Record]]:
        """Every record of each user, by connection name."""

    async def remove(self, gone: dict[int, list[str]]) -> None:
        """Drop these users' records (run out)."""


class MemoryRecords:
    """The records in this process (no REDIS_URL: one process serves)."""

    def __init__(self) -> None:
        self.users: dict[int, dict[str, Record]] = {}

    async def put(self, records: dict[str, tuple[int, Record]]) -> None:
        for name, (user_id, record) in records.items():
            self.users.setdefault(user_id, {})[name] = record

    async def read(self, user_ids: Iterable[int]) -> dict[int, dict[str, Record]]:
        return {user_id: dict(self.users.get(user_id, {})) for user_id in user_ids}

    async def remove(self, gone: dict[int, list[str]]) -> None:
        for user_id, names in gone.items():
            records = self.users.get(user_id, {})
            for name in names:
                records.pop(name, None)
            if not records:
                self.users.pop(user_id, None)


class RedisRecords:
    """The records in Redis: a hash per user, the field a connection's name.

    The hash expires CHAT_PRESENCE_TTL_SECONDS after its last write; each
    record carries its own expiry, which readers compare with the time.
    """

    def __init__(self, url: str) -> None:
        self.url = url
        self.client: Any = None

    def _client(self):
        if self.client is None:
            import redis.asyncio

            self.client = redis.asyncio.Redis.from_url(
                self.url,
                socket_connect_timeout=STORE_TIMEOUT_SECONDS,
                max_connections=8,
            )
        return self.client

    async def put(self, records: dict[str, tuple[int, Record]]) -> None:
        ttl = int(settings.CHAT_PRESENCE_TTL_SECONDS * 1000)
        pipe = self._client().pipeline(transaction=False)
        keys = set()
        for name, (user_id, record) in records.items():
            key = domain.records_key(user_id)
            pipe.hset(key, name, record.dump())
            keys.add(key)
        for key in keys:
            pipe.pexpire(key, ttl)
        async with asyncio.timeout(STORE_TIMEOUT_SECONDS):
            await pipe.execute()

    async def read(self, user_ids: Iterable[int]) -> dict[int, dict[str, Record]]:
        ids = list(user_ids)
        if not ids:
            return {}
        pipe = self._client().pipeline(transaction=False)
        for user_id in ids:
            pipe.hgetall(domain.records_key(user_id))
        async with asyncio.timeout(STORE_TIMEOUT_SECONDS):
            answers = await pipe.execute()
        out: dict[int, dict[str, Record]] = {}
        for user_id, fields in zip(ids, answers, strict=True):
            records = out[user_id] = {}
            for name, value in fields.items():
                record = Record.load(value)
                if record is not None:
                    records[name.decode() if isinstance(name, bytes) else name] = record
        return out

    async def remove(self, gone: dict[int, list[str]]) -> None:
        pipe = self._client().pipeline(transaction=False)
        for user_id, names in gone.items():
            pipe.hdel(domain.records_key(user_id), *names)
        async with asyncio.timeout(STORE_TIMEOUT_SECONDS):
            await pipe.execute()

    async def close(self) -> None:
        if self.client is not None:
            client, self.client = self.client, None
            await client.aclose()


def default_store() -> RecordStore:
    if settings.REDIS_URL:
        return RedisRecords(settings.REDIS_URL)
    return MemoryRecords()


class PresenceKeeper:
    """This process's records and the presence job (a part of the Runtime)."""

    def __init__(
        self,
        clock: Clock | None = None,
        store: RecordStore | None = None,
        wall: Wall = time.time,
    ) -> None:
        self.clock: Clock = clock or LoopClock()
        self.store: RecordStore = store if store is not None else default_store()
        self.wall = wall
        # Open connections here: name -> (user id, status).
        self.open: dict[str, tuple[int, str]] = {}
        # Records to write, users to look at, users to tell: the job's input.
        self.to_put: dict[str, tuple[int, Record]] = {}
        self.dirty: set[int] = set()
        self.to_tell: set[int] = set()
        # The status this process last stored for each user: no database
        # work when a connection's news changes nothing. Only with the records
        # in memory (one process): with Redis another process may have stored
        # another status since, so the database is asked each time.
        self.known: dict[int, str] = {}
        self.trust_known = isinstance(self.store, MemoryRecords)
        self.worker: asyncio.Task | None = None
        self.timers: set[asyncio.Task] = set()
        self.tasks: list[asyncio.Task] = []
        # Counts for the benchmark and the logs.
        self.frames_published = 0
        self.db_calls = 0  # database calls under way
        # Closed with its runtime: a socket that ends later starts nothing.
        self.stopped = False
        # The job's own database thread, with a connection it keeps: a storm
        # of reconnects then neither queues ahead of the members' `sync` on
        # the shared thread of database_sync_to_async nor opens a connection
        # for each batch (the presence benchmark on PostgreSQL showed both).
        self.database = KeptConnectionThread("chat-presence")

    @property
    def enabled(self) -> bool:
        return settings.CHAT_PRESENCE_ENABLED

    def start(self) -> None:
        self.stopped = False
        loop = asyncio.get_running_loop()
        self.tasks.append(loop.create_task(self.renew_periodically()))
        if self.enabled:
            self.tasks.append(loop.create_task(self.sweep_periodically()))
        if isinstance(self.store, MemoryRecords):
            domain.use_open_here(self.open_here)

    async def close(self) -> None:
        self.stopped = True
        for task in [*self.tasks, *self.timers, self.worker]:
            if task is not None and not task.get_loop().is_closed():
                task.cancel()
        # A cancelled call's thread goes on: wait for it, so that nothing
        # writes to the database once the runtime has stopped.
        for _ in range(500):
            if not self.db_calls:
                break
            await asyncio.sleep(0.01)
        self.tasks, self.timers, self.worker = [], set(), None
        await self.database.close()
        if isinstance(self.store, MemoryRecords):
            domain.use_open_here(None)
        if isinstance(self.store, RedisRecords):
            try:
                await self.store.close()
            except Exception:
                logger.warning("could not close the presence client", exc_info=True)

    # --- what the connections hand over (each returns at once) ------------------

    def connected(self, name: str, user_id: int) -> None:
        """A connection said hello: online until it says otherwise."""
        self.open[name] = (user_id, domain.ONLINE)
        self._put(name, user_id, domain.ONLINE, open_=True)

    def changed(self, name: str, status: str) -> None:
        """The connection's client sent `presence` (online or away)."""
        entry = self.open.get(name)
        if entry is None or entry[1] == status:
            return
        self.open[name] = (entry[0], status)
        self._put(name, entry[0], status, open_=True)

    def closed(self, name: str) -> None:
        """The connection ended: its record stays its grace, then is looked at."""
        entry = self.open.pop(name, None)
        if entry is None:
            return
        user_id, status = entry
        grace = settings.CHAT_PRESENCE_GRACE_SECONDS
        self._put(name, user_id, status, open_=False, lives=grace)
        self.later(grace + 0.01, lambda: self._look_at([user_id]))

    def open_here(self, user_id: int) -> bool:
        return any(uid == user_id for uid, _ in self.open.values())

    def _put(
        self, name: str, user_id: int, status: str, *, open_: bool, lives=None
    ) -> None:
        if lives is None:
            lives = settings.CHAT_PRESENCE_TTL_SECONDS / 2
        self.to_put[name] = (user_id, Record(status, self.wall() + lives, open_))
        if self.enabled:
            self._look_at([user_id])
        else:
            self._kick()  # records only: written, nothing worked out

    def _look_at(self, user_ids: Iterable[int], *, again: bool = False) -> None:
        for user_id in user_ids:
            self.dirty.add(user_id)
            if again:
                self.known.pop(user_id, None)
        self._kick()

    def _tell(self, user_ids: Iterable[int]) -> None:
        self.to_tell.update(user_ids)
        self._kick()

    def _kick(self) -> None:
        if self.stopped:
            return
        if self.worker is None or self.worker.done():
            self.worker = asyncio.get_running_loop().create_task(self.work())

    def later(self, delay: float, then: Callable[[], None]) -> None:
        """Run `then` in `delay` seconds of the runtime's clock."""
        if self.stopped:
            return

        async def wait_then() -> None:
            await self.clock.sleep(delay)
            then()

        task = asyncio.get_running_loop().create_task(wait_then())
        self.timers.add(task)
        task.add_done_callback(self.timers.discard)

    # --- the job ------------------------------------------------------------------

    async def work(self) -> None:
        """Until nothing is left: write the records, work out the statuses,
        store the changes, publish what is due."""
        while self.to_put or self.dirty or self.to_tell:
            to_put, self.to_put = self.to_put, {}
            dirty, self.dirty = self.dirty, set()
            to_tell, self.to_tell = self.to_tell, set()
            try:
                await self._work(to_put, dirty, to_tell)
            except Exception:
                # The sweep looks at them again (the records are renewed).
                logger.warning("presence: could not update", exc_info=True)
                await self.clock.sleep(1.0)

    async def _work(
        self, to_put: dict[str, tuple[int, Record]], dirty: set[int], to_tell: set[int]
    ) -> None:
        if to_put:
            await self.store.put(to_put)
        if dirty and not self.enabled:
            # Records only: drop the ones run out, work out nothing.
            await self._remove_expired(dirty)
        elif dirty:
            records = await self.store.read(dirty)
            now = self.wall()
            statuses: dict[int, str] = {}
            left_at: dict[int, datetime] = {}
            gone: dict[int, list[str]] = {}
            for user_id, mine in records.items():
                status = domain.status_of(mine.values(), now)
                if not self.trust_known or self.known.get(user_id) != status:
                    statuses[user_id] = status
                    until = domain.online_until(mine.values(), now)
                    if status != domain.ONLINE and until is not None:
                        left_at[user_id] = datetime.fromtimestamp(until, tz=UTC)
                expired = [name for name, r in mine.items() if r.expires <= now]
                if expired:
                    gone[user_id] = expired
            if statuses:
                # Repeatable: the statuses are compared before being stored.
                changed = await self._in_thread(
                    domain.record_statuses, statuses, self._now(), left_at, retry=True
                )
                self.known.update(statuses)
                to_tell.update(changed)
            if gone:
                await self.store.remove(gone)
        if to_tell and self.enabled:
            announcements, waits = await self._in_thread(
                domain.take_announcements,
                to_tell,
                self._now(),
                settings.CHAT_PRESENCE_DEBOUNCE_SECONDS,
            )
            for announcement in announcements:
                await announcement.publish()
                self.frames_published += 1
            for user_id, wait in waits.items():
                self.later(wait + 0.01, _bound(self._tell, [user_id]))

    async def _remove_expired(self, user_ids: set[int]) -> None:
        now = self.wall()
        gone = {
            user_id: expired
            for user_id, mine in (await self.store.read(user_ids)).items()
            if (expired := [name for name, r in mine.items() if r.expires <= now])
        }
        if gone:
            await self.store.remove(gone)

    async def _in_thread(self, function: Callable, *args, retry: bool = False) -> Any:
        """`function(*args)` on the job's database thread; `retry` if it may
        run twice (after a lost connection)."""
        # Counted here, on the loop, not in the thread: settled() must see a
        # call from the moment it is asked for, before the thread picks it up.
        self.db_calls += 1
        try:
            return await self.database.run(function, *args, retry=retry)
        finally:
            self.db_calls -= 1

    def _now(self) -> datetime:
        return datetime.fromtimestamp(self.wall(), tz=UTC)

    # --- renewal and sweep --------------------------------------------------------

    async def renew_periodically(self) -> None:
        while True:
            await self.clock.sleep(settings.CHAT_PRESENCE_TTL_SECONDS / 4)
            self.renew()

    def renew(self) -> None:
        """Write every open connection's record again, living TTL / 2."""
        lives = settings.CHAT_PRESENCE_TTL_SECONDS / 2
        expires = self.wall() + lives
        for name, (user_id, status) in self.open.items():
            self.to_put[name] = (user_id, Record(status, expires, True))
        if self.to_put:
            self._kick()

    async def sweep_periodically(self) -> None:
        pruned_at = 0.0
        while True:
            try:
                await self.sweep()
                if self.clock.now() - pruned_at > 3600:
                    pruned_at = self.clock.now()
                    await self._in_thread(domain.prune_spans, self._now(), retry=True)
            except Exception:
                logger.warning("presence: the sweep failed", exc_info=True)
            await self.clock.sleep(settings.CHAT_PRESENCE_TTL_SECONDS / 4)

    async def sweep(self) -> None:
        """Look again at everyone not shown offline, or not told as they are."""
        user_ids = await self._in_thread(domain.users_to_check, retry=True)
        if user_ids:
            self._look_at(user_ids, again=True)
            self._tell(user_ids)

    async def settled(self) -> None:
        """Wait until the job has nothing left (tests, the benchmark)."""
        while self.db_calls or (self.worker is not None and not self.worker.done()):
            if self.worker is not None and not self.worker.done():
                await asyncio.shield(self.worker)
            else:
                await asyncio.sleep(0.005)  # a sweep's read


def _bound(function: Callable[[list[int]], None], user_ids: list[int]):
    return lambda: function(user_ids)
