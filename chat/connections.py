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

logger = logging.getLogger(__name__)


class Connection(Protocol):
    async def renew_groups(self) -> None: ...

    async def catch_up(self) -> None: ...

    async def close_for_restart(self) -> None: ...


class LocalConnections:
    def __init__(self) -> None:
        self.open: set[Connection] = set()
        self.keeper: asyncio.Task | None = None
        self.emptied = asyncio.Event()

    def add(self, connection: Connection) -> None:
        self.open.add(connection)
        self.emptied.clear()
        self._ensure_keeper()

    def discard(self, connection: Connection) -> None:
        self.open.discard(connection)
        if not self.open:
            self.emptied.set()

    def __len__(self) -> int:
        return len(self.open)

    def _ensure_keeper(self) -> None:
        if self.keeper is None or self.keeper.done():
            self.keeper = asyncio.get_running_loop().create_task(self.keep())

    async def keep(self) -> None:
        """Renew every connection's groups now and then, and after an outage."""
        layer = get_channel_layer()
        recovered: asyncio.Event | None = getattr(layer, "recovered", None)
        interval = settings.CHAT_GROUP_REFRESH_SECONDS
        loop = asyncio.get_running_loop()
        next_refresh = loop.time() + interval
        while True:
            after_outage = False
            remaining = max(0.0, next_refresh - loop.time())
            if recovered is None:
                await asyncio.sleep(remaining)
            else:
                try:
                    async with asyncio.timeout(remaining):
                        await recovered.wait()
                except TimeoutError:
                    pass
                else:
                    recovered.clear()
                    after_outage = True
            if not after_outage:
                next_refresh = loop.time() + interval
            await self.renew_all(after_outage=after_outage)

    async def renew_all(self, *, after_outage: bool = False) -> None:
        connections = list(self.open)
        if after_outage:
            logger.warning(
                "channel layer back: renewing the groups of %d connections",
                len(connections),
            )
        for connection in connections:
            try:
                await connection.renew_groups()
            except Exception:
                logger.warning("could not renew a connection's groups", exc_info=True)
        if not after_outage:
            return
        # Live again for everyone first, then what each may have missed.
        for connection in connections:
            try:
                await connection.catch_up()
            except Exception:
                logger.warning("could not catch a connection up", exc_info=True)


local_connections = LocalConnections()
