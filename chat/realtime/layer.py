"""What the runtime needs of a channel layer, and an adapter for any other layer.

Both of our layers (redis_layer, memory_layer) implement `RealtimeLayer`; a
layer of channels' own API only is wrapped in `PlainLayerAdapter`, which reads
each listened channel with a receive of its own.
"""

import asyncio
import logging
from collections.abc import Callable
from typing import Any, Protocol

logger = logging.getLogger(__name__)

Listener = Callable[[dict], None]


class RealtimeLayer(Protocol):
    """channels' layer API, plus a callback per channel and the outage state."""

    # The layer lives in this process only (the embedded engine): processes
    # without sockets reach it through the outbox (realtime.relay).
    process_local: bool
    # Failing now; when the current or last outage was noticed (wall clock);
    # how many times it answered again after failing; how long it may have
    # been gone before it noticed.
    failing: bool
    failing_since: float | None
    recoveries: int
    unnoticed_seconds: float

    async def new_channel(self, prefix: str = ...) -> str: ...

    async def send(self, channel: str, message: dict) -> None: ...

    async def receive(self, channel: str) -> dict: ...

    async def group_add(self, group: str, channel: str) -> None: ...

    async def group_discard(self, group: str, channel: str) -> None: ...

    async def group_send(self, group: str, message: dict) -> None: ...

    def listen(self, channel: str, callback: Listener) -> None:
        """Hand each message of `channel` to `callback` instead of a receive."""

    def unlisten(self, channel: str) -> None: ...

    async def ping(self) -> None:
        """Raise unless the layer answers (the health check)."""


class PlainLayerAdapter:
    """A layer with channels' API only, as a RealtimeLayer: each listened
    channel is read by a task of its own, and it never reports an outage."""

    process_local = False
    failing = False
    failing_since: float | None = None
    recoveries = 0
    unnoticed_seconds = 0.0
    # After a failed read, the channel's reader waits this long.
    READ_RETRY_SECONDS = 0.5

    def __init__(self, layer: Any) -> None:
        self.layer = layer
        self.readers: dict[str, asyncio.Task] = {}

    async def new_channel(self, prefix: str = "specific.") -> str:
        return await self.layer.new_channel(prefix)

    async def send(self, channel: str, message: dict) -> None:
        await self.layer.send(channel, message)

    async def receive(self, channel: str) -> dict:
        return await self.layer.receive(channel)

    async def group_add(self, group: str, channel: str) -> None:
        await self.layer.group_add(group, channel)

    async def group_discard(self, group: str, channel: str) -> None:
        await self.layer.group_discard(group, channel)

    async def group_send(self, group: str, message: dict) -> None:
        await self.layer.group_send(group, message)

    def listen(self, channel: str, callback: Listener) -> None:
        self.unlisten(channel)
        loop = asyncio.get_running_loop()
        self.readers[channel] = loop.create_task(self._read(channel, callback))

    def unlisten(self, channel: str) -> None:
        reader = self.readers.pop(channel, None)
        if reader is not None:
            reader.cancel()

    async def ping(self) -> None:
        channel = await self.layer.new_channel()
        await self.layer.send(channel, {"type": "health.check"})
        await self.layer.receive(channel)

    async def _read(self, channel: str, callback: Listener) -> None:
        while True:
            try:
                message = await self.layer.receive(channel)
            except Exception:
                logger.warning("could not read channel %s", channel, exc_info=True)
                await asyncio.sleep(self.READ_RETRY_SECONDS)
                continue
            try:
                callback(message)
            except Exception:
                logger.exception("a channel listener failed")


def realtime_layer(layer: Any) -> RealtimeLayer:
    """`layer` itself if it is one of ours, else wrapped."""
    from .memory_layer import InMemoryChannelLayer
    from .redis_layer import RedisChannelLayer

    if isinstance(layer, InMemoryChannelLayer | RedisChannelLayer):
        return layer
    return PlainLayerAdapter(layer)
