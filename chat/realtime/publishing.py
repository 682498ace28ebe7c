"""Sending events to the channel layer in order, and again after an outage.

The channel layer is best effort: a failure to publish is logged and never
undoes what the database holds; a client that missed a frame recovers it with
`sync`. What failed is kept (`Unpublished`) and sent again by the runtime once
the layer answers, because members on other processes may never have noticed
the outage.

`ProcessFanout` (realtime.runtime) is what chat.events publishes through (its
`Fanout` port): on the running runtime's loop, the runtime's publisher and
sender; anywhere else
(a manage.py command, a sync caller with a loop of its own), a publisher and a
sender made for the call, writing to the outbox when the layer lives in
another process (realtime.relay).
"""

import asyncio
import logging
from collections import deque
from collections.abc import Iterable, Iterator

from channels.db import database_sync_to_async
from django.conf import settings

from chat import events

from .layer import RealtimeLayer
from .relay import store_in_outbox

logger = logging.getLogger(__name__)

Send = tuple[list[str], dict]  # the groups, and the event each of them gets

# What fails to go out is kept for republishing up to this many frames.
UNPUBLISHED_LIMIT = 10_000


class Unpublished:
    """What this process failed to publish, oldest first, for `republish`.

    Bounded by frames, a batch counting each of its own: past `limit`, the
    oldest sends are dropped and those clients sync.
    """

    def __init__(self, limit: int = UNPUBLISHED_LIMIT) -> None:
        self.sends: deque[Send] = deque()
        self.frames = 0
        self.limit = limit

    def keep(self, sends: Iterable[Send]) -> None:
        for send in sends:
            self.sends.append(send)
            self.frames += _frame_count(send[1])
        while self.frames > self.limit and len(self.sends) > 1:
            self.drop(self.sends[0])

    def drop(self, send: Send) -> None:
        """Forget `send` now that it went out, if it is still the first."""
        if self.sends and self.sends[0] is send:
            self.sends.popleft()
            self.frames -= _frame_count(send[1])

    def clear(self) -> None:
        self.sends.clear()
        self.frames = 0

    def __len__(self) -> int:
        return len(self.sends)

    def __iter__(self) -> Iterator[Send]:
        return iter(self.sends)


def _frame_count(event: dict) -> int:
    return len(event["frames"]) if event.get("type") == events.FRAMES else 1


class LayerSender:
    """Sends (groups, event) pairs in order: to the layer, or to the outbox in
    a process whose layer no socket listens to."""

    def __init__(
        self,
        layer: RealtimeLayer,
        *,
        outbox: bool = False,
        unpublished: Unpublished | None = None,
    ) -> None:
        self.layer = layer
        self.outbox = outbox
        # None: what fails is dropped (a process that republishes nothing).
        self.unpublished = unpublished

    async def send_in_order(self, sends: list[Send]) -> bool:
        """Send each (groups, event) in turn; False (and a log line) if the
        layer failed.

        After a failure the rest are not tried (each would wait for the timeout
        of a failing layer) but kept with the failed one, in order, for
        `republish`: what failed never lets what came after it overtake it.
        """
        for index, (groups, event) in enumerate(sends):
            try:
                await self._send(groups, event)
            except Exception:
                logger.warning(
                    "channel layer send failed; sent again when it is back",
                    exc_info=True,
                )
                if self.unpublished is not None and not self.outbox:
                    self.unpublished.keep(sends[index:])
                return False
        return True

    async def republish(self) -> bool:
        """Send again, in order, what failed to go out; False if it fails again."""
        unpublished = self.unpublished
        while unpublished:
            send = unpublished.sends[0]
            groups, event = send
            try:
                async with asyncio.timeout(settings.CHAT_LAYER_TIMEOUT_SECONDS):
                    for group in groups:
                        await self.layer.group_send(group, event)
            except Exception:
                logger.warning("republishing failed; trying again later", exc_info=True)
                return False
            unpublished.drop(send)
        return True

    async def _send(self, groups: list[str], event: dict) -> None:
        if self.outbox:
            await database_sync_to_async(store_in_outbox)(list(groups), event)
            return
        # Bounded: a Redis that does not answer (a network partition) must not
        # hold up the sender's next frames for ever.
        async with asyncio.timeout(settings.CHAT_LAYER_TIMEOUT_SECONDS):
            for group in groups:
                await self.layer.group_send(group, event)
