"""The WebSocket connections this process serves, and their group memberships.

A process-local registry of open consumers, for the jobs that need to reach
every connection of the process:

- Shutdown (chat.realtime.shutdown) closes each of them with "server restarting".
- The heartbeat: every CHAT_HEARTBEAT_SECONDS after its hello, each connection
  sends the text `ping` and its user's count of connections is told it is still
  open (chat.ratelimit). One timer per process does it for all of them, in the
  order they are due, instead of a task asleep per socket.
- The keeper renews each connection's groups. channels-redis forgets a member
  `group_expiry` seconds after it was added, and a restarted Redis has forgotten
  them all, so every `CHAT_GROUP_REFRESH_SECONDS` (a quarter of the expiry) and
  at once when the layer works again after an outage, each connection adds itself
  to its groups again. After an outage each connection is also sent the messages
  it may have missed, messages and changes (`ChatConsumer.catch_up`), as a
  `sync` with `changes_after` would.
"""

import asyncio
import heapq
import itertools
import logging
from datetime import UTC, datetime
from typing import Protocol

from channels.db import database_sync_to_async
from django.conf import settings

from chat.models import MessageChange
from chat.selectors import last_id_created_before

from .clock import Clock, LoopClock
from .layer import RealtimeLayer
from .publishing import LayerSender

logger = logging.getLogger(__name__)

# How soon the keeper notices that the layer works again (chat.realtime.redis_layer).
RECOVERY_POLL_SECONDS = 0.5
# How long before an outage began a message may still have been waiting to be
# published (realtime.writer.Publisher): caught up as well.
OUTAGE_SLACK_SECONDS = 5.0
# Heartbeats due this close together go out in one turn of the timer.
HEARTBEAT_SLACK_SECONDS = 0.05


class Connection(Protocol):
    seen_id: int
    seen_change_id: int

    async def renew_groups(self) -> None: ...

    async def catch_up(self, *, after: int, after_change: int | None = None) -> None:
        """Send the messages after `after`, then the changes after
        `after_change` to the messages it had."""

    async def close_for_restart(self) -> None: ...

    async def heartbeat(self) -> None:
        """Send the `ping`; never waits on anything but the socket."""

    async def keep_counted(self) -> None:
        """Tell the user's count of connections that this one is still open."""


class LocalConnections:
    def __init__(
        self,
        layer: RealtimeLayer,
        sender: LayerSender | None = None,
        clock: Clock | None = None,
    ) -> None:
        self.layer = layer
        self.sender = sender  # republishes after an outage
        self.clock: Clock = clock or LoopClock()
        self.open: set[Connection] = set()
        self.keeper: asyncio.Task | None = None
        self.emptied: asyncio.Event | None = None
        # The heartbeat: (when due, order of arrival, connection), soonest first.
        self.due: list[tuple[float, int, Connection]] = []
        self.arrivals = itertools.count()
        self.beater: asyncio.Task | None = None
        # Connections pinged whose count is still to be renewed, in order (it
        # may wait on Redis: the pings never wait for it).
        self.to_keep: dict[Connection, None] = {}
        self.counter: asyncio.Task | None = None

    def add(self, connection: Connection) -> None:
        """Register an open connection: renewed, pinged and closed from now on."""
        self.open.add(connection)
        due = self.clock.now() + settings.CHAT_HEARTBEAT_SECONDS
        heapq.heappush(self.due, (due, next(self.arrivals), connection))
        if self.beater is None or self.beater.done():
            self.beater = asyncio.get_running_loop().create_task(self.beat())

    def discard(self, connection: Connection) -> None:
        """Forget a connection; its heartbeat entry is skipped when it comes due."""
        self.open.discard(connection)
        self.to_keep.pop(connection, None)
        if len(self.due) > 2 * len(self.open) + 64:
            # Mostly closed connections: do not hold them until they come due.
            self.due = [entry for entry in self.due if entry[2] in self.open]
            heapq.heapify(self.due)
        if not self.open and self.emptied is not None:
            self.emptied.set()

    async def wait_until_empty(self) -> None:
        while self.open:
            self.emptied = asyncio.Event()  # of the running loop
            await self.emptied.wait()

    def __len__(self) -> int:
        return len(self.open)

    def start(self) -> None:
        """Start renewing the groups (the runtime's start)."""
        self.keeper = asyncio.get_running_loop().create_task(self.keep())

    async def close(self) -> None:
        for task in (self.keeper, self.beater, self.counter):
            # (A sync test's asyncio.run may have started one on its own loop.)
            if task is not None and not task.get_loop().is_closed():
                task.cancel()

    async def beat(self) -> None:
        """Ping every connection as it comes due, until none is left."""
        clock = self.clock
        while self.due:
            wait = self.due[0][0] - clock.now()
            if wait > 0:
                await clock.sleep(wait)
            now = clock.now()
            interval = settings.CHAT_HEARTBEAT_SECONDS
            while self.due and self.due[0][0] <= now + HEARTBEAT_SLACK_SECONDS:
                _, order, connection = heapq.heappop(self.due)
                if connection not in self.open:
                    continue  # closed since: dropped here
                heapq.heappush(self.due, (now + interval, order, connection))
                try:
                    await connection.heartbeat()
                except Exception:
                    logger.warning("could not send a heartbeat", exc_info=True)
                self.to_keep[connection] = None
            if self.to_keep and (self.counter is None or self.counter.done()):
                loop = asyncio.get_running_loop()
                self.counter = loop.create_task(self._keep_counted())

    async def _keep_counted(self) -> None:
        while self.to_keep:
            connection = next(iter(self.to_keep))
            del self.to_keep[connection]
            try:
                await connection.keep_counted()
            except Exception:
                logger.warning("could not renew a connection's count", exc_info=True)

    async def keep(self) -> None:
        """Renew every connection's groups now and then, and after an outage."""
        layer, clock = self.layer, self.clock
        interval = settings.CHAT_GROUP_REFRESH_SECONDS
        next_refresh = clock.now() + interval
        recoveries = layer.recoveries
        while True:
            await clock.sleep(
                max(0.0, min(RECOVERY_POLL_SECONDS, next_refresh - clock.now()))
            )
            # Back, and not down again already (else: wait for the next).
            after_outage = layer.recoveries != recoveries and not layer.failing
            if after_outage or clock.now() >= next_refresh:
                next_refresh = clock.now() + interval
                if await self.renew_all(after_outage=after_outage) and (
                    not after_outage or await self._republish()
                ):
                    recoveries = layer.recoveries
                # else: the next turn tries again, half a second on

    async def _republish(self) -> bool:
        return self.sender is None or await self.sender.republish()

    async def renew_all(self, *, after_outage: bool = False) -> bool:
        """False if some connection could not be put back in its groups."""
        connections = list(self.open)
        # Where each catch-up starts: before live frames flow again, which
        # would move `seen_id` past messages that were never published.
        caught_up_to = {
            connection: (connection.seen_id, connection.seen_change_id)
            for connection in connections
        }
        renewed = True
        if after_outage:
            logger.warning(
                "channel layer back: renewing the groups of %d connections",
                len(connections),
            )
        failures = 0
        for connection in connections:
            try:
                await connection.renew_groups()
            except Exception as exc:
                failures += 1
                last_error = exc
        if failures:
            # One line for the lot: during an outage every connection fails.
            logger.warning(
                "could not renew the groups of %d of %d connections: %r",
                failures,
                len(connections),
                last_error,
            )
            renewed = False
        if not renewed and after_outage:
            return False  # not live yet: catching up now could miss more
        if not after_outage:
            return renewed
        # Live again for everyone first, then what each may have missed.
        floor = await _outage_floor(self.layer) if connections else None
        for connection in connections:
            after, after_change = caught_up_to[connection]
            if floor is not None:
                after, after_change = min(after, floor[0]), min(after_change, floor[1])
            try:
                await connection.catch_up(after=after, after_change=after_change)
            except Exception:
                logger.warning("could not catch a connection up", exc_info=True)
        return True


async def _outage_floor(layer: RealtimeLayer) -> tuple[int, int] | None:
    """No catch-up after an outage starts later than these ids (a message's,
    a change's).

    A connection's `seen_id` also moves with the messages of its own process,
    delivered here while the layer was down: it may stand past messages other
    processes published into the outage. So every catch-up goes back at least
    to the last message created before Redis may have gone (the outage as
    noticed, less how long it may have gone unnoticed, less the publisher's
    slack). Clients drop by id what they had already. The same holds for
    `seen_change_id` and the changes.
    """
    noticed = layer.failing_since
    if noticed is None:
        return None
    gone = noticed - layer.unnoticed_seconds - OUTAGE_SLACK_SECONDS
    moment = datetime.fromtimestamp(gone, tz=UTC)
    try:
        return await database_sync_to_async(_ids_created_before)(moment)
    except Exception:
        logger.warning("could not read where the outage began", exc_info=True)
        return None


def _ids_created_before(moment: datetime) -> tuple[int, int]:
    """The newest message id and change id created before `moment` (0: none)."""
    change = (
        MessageChange.objects.filter(created_at__lt=moment)
        .order_by("-created_at", "-id")
        .values_list("id", flat=True)
        .first()
    )
    return last_id_created_before(moment), change or 0
