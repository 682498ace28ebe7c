"""The WebSocket connections this process serves, and their group memberships.

A process-local registry of open consumers, for two jobs that need to reach
every connection of the process:

- Shutdown (chat.shutdown) closes each of them with "server restarting".
- The keeper renews each connection's groups. channels-redis forgets a member
  `group_expiry` seconds after it was added, and a restarted Redis has forgotten
  them all, so every `CHAT_GROUP_REFRESH_SECONDS` (a quarter of the expiry) and
  at once when the layer works again after an outage, each connection adds itself
  to its groups again. After an outage each connection is also sent the messages
  it may have missed (`ChatConsumer.catch_up`), as a `sync` would.
"""

import asyncio
import logging
from typing import Protocol

from channels.layers import get_channel_layer
from django.conf import settings

from . import events

logger = logging.getLogger(__name__)

# How soon the keeper notices that the layer works again (chat.layers).
RECOVERY_POLL_SECONDS = 0.5


class Connection(Protocol):
    seen_id: int

    async def renew_groups(self) -> None: ...

    async def catch_up(self, *, after: int) -> None: ...

    async def close_for_restart(self) -> None: ...


class LocalConnections:
    def __init__(self) -> None:
        self.open: set[Connection] = set()
        self.keeper: asyncio.Task | None = None
        self.emptied: asyncio.Event | None = None

    def add(self, connection: Connection) -> None:
        self.open.add(connection)
        self._ensure_keeper()

    def discard(self, connection: Connection) -> None:
        self.open.discard(connection)
        if not self.open and self.emptied is not None:
            self.emptied.set()

    async def wait_until_empty(self) -> None:
        while self.open:
            self.emptied = asyncio.Event()  # of the running loop
            await self.emptied.wait()

    def __len__(self) -> int:
        return len(self.open)

    def _ensure_keeper(self) -> None:
        loop = asyncio.get_running_loop()
        if self.keeper is None or self.keeper.done() or self.keeper.get_loop() != loop:
            self.keeper = loop.create_task(self.keep())

    async def keep(self) -> None:
        """Renew every connection's groups now and then, and after an outage."""
        layer = get_channel_layer()
        interval = settings.CHAT_GROUP_REFRESH_SECONDS
        loop = asyncio.get_running_loop()
        next_refresh = loop.time() + interval
        recoveries = getattr(layer, "recoveries", 0)
        while True:
            await asyncio.sleep(
                max(0.0, min(RECOVERY_POLL_SECONDS, next_refresh - loop.time()))
            )
            after_outage = getattr(layer, "recoveries", 0) != recoveries and not (
                getattr(layer, "failing", False)  # down again: wait for the next
            )
            if after_outage or loop.time() >= next_refresh:
                next_refresh = loop.time() + interval
                if await self.renew_all(after_outage=after_outage) and (
                    not after_outage or await events.republish()
                ):
                    recoveries = getattr(layer, "recoveries", 0)
                # else: the next turn tries again, half a second on

    async def renew_all(self, *, after_outage: bool = False) -> bool:
        """False if some connection could not be put back in its groups."""
        connections = list(self.open)
        # Where each catch-up starts: before live frames flow again, which
        # would move `seen_id` past messages that were never published.
        caught_up_to = {connection: connection.seen_id for connection in connections}
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
        for connection in connections:
            try:
                await connection.catch_up(after=caught_up_to[connection])
            except Exception:
                logger.warning("could not catch a connection up", exc_info=True)
        return True


local_connections = LocalConnections()
