"""The one owner of the process's real-time jobs, started and stopped together.

chatsite.asgi makes one for the daphne process, starts it once the reactor
runs and stops it at the end of the SIGTERM drain (realtime.shutdown); the
tests make a fresh one for each test (tests/conftest.py). Everything that runs
in the background (the group renewal, the heartbeat, the writer's and the
publisher's tasks, the outbox relay, the hub's deliveries) belongs to it.
"""

import asyncio
import logging
from typing import Any

from channels.layers import get_channel_layer

from chat.models import Message, MessageChange

from .clock import Clock, LoopClock
from .connections import LocalConnections
from .db_thread import KeptConnectionThread
from .hub import Hub
from .layer import RealtimeLayer, realtime_layer
from .notify import NotificationJob
from .presence import PresenceKeeper
from .publishing import LayerSender, Unpublished
from .relay import Relay, outbox_in_use
from .retention import prune_changes_periodically, purge_uploads_periodically
from .support_jobs import sweep_support_periodically
from .writer import MessageWriter, Publisher

logger = logging.getLogger(__name__)


class Runtime:
    def __init__(self, layer: Any = None, clock: Clock | None = None) -> None:
        self.layer: RealtimeLayer = realtime_layer(
            get_channel_layer() if layer is None else layer
        )
        self.clock: Clock = clock or LoopClock()
        self.unpublished = Unpublished()
        self.sender = LayerSender(self.layer, unpublished=self.unpublished)
        self.hub = Hub(self.layer)
        self.publisher = Publisher(self.hub, self.sender)
        self.writer = MessageWriter()
        self.connections = LocalConnections(self.layer, self.sender, self.clock)
        # The WebSocket handshakes' reads and the tokens' last-use writes.
        self.handshake_db = KeptConnectionThread("chat-handshake-db")
        self.relay = Relay(self.layer) if outbox_in_use(self.layer) else None
        # Email and push for what users missed (chat.services.notifications).
        self.notifications = NotificationJob()
        # The connections' presence records and the job that tells the others.
        self.presence = PresenceKeeper(self.clock)
        # SIGTERM came: handshakes are refused, /healthz says so.
        self.draining = False
        self.loop: asyncio.AbstractEventLoop | None = None
        self.tasks: list[asyncio.Task] = []

    @property
    def running(self) -> bool:
        return self.loop is not None

    def start(self) -> None:
        """Start the jobs in the running event loop."""
        loop = asyncio.get_running_loop()
        self.loop = self.hub.loop = loop
        self.connections.start()
        self.presence.start()
        if self.relay is not None:
            self.tasks.append(loop.create_task(self.relay.run()))
        self.tasks.append(loop.create_task(prune_changes_periodically()))
        self.tasks.append(loop.create_task(purge_uploads_periodically()))
        self.tasks.append(loop.create_task(self.notifications.run()))
        self.tasks.append(loop.create_task(sweep_support_periodically()))

    async def stop(self) -> None:
        """Stop every job and close the threads' database connections."""
        for task in self.tasks:
            task.cancel()
        self.tasks = []
        await self.connections.close()
        await self.presence.close()
        await self.hub.close()
        await self.publisher.close()
        await self.writer.close()
        await self.handshake_db.close()
        await self.notifications.close()
        self.loop = None


_current: Runtime | None = None


def install(runtime: Runtime | None) -> Runtime | None:
    """Make `runtime` the process's; returns the one it replaces."""
    global _current
    previous, _current = _current, runtime
    return previous


def current() -> Runtime:
    """The process's runtime (chatsite.asgi installs it)."""
    if _current is None:
        raise RuntimeError("no real-time runtime installed (chatsite.asgi does)")
    return _current


def running_here() -> Runtime | None:
    """The process's runtime if it runs on the running event loop."""
    runtime = _current
    if runtime is None or runtime.loop is None:
        return None
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        return None
    return runtime if runtime.loop is loop else None


class CurrentHandshakeDatabase:
    """The handshake database thread of whichever runtime is installed.

    chatsite.asgi hands this to accounts' WebSocket middleware (accounts imports
    no chat), and the tests install a fresh runtime for each test.
    """

    async def run(self, function: Any, /, *args: Any, retry: bool = True) -> Any:
        return await current().handshake_db.run(function, *args, retry=retry)

    async def run_batched(self, function: Any, item: Any) -> Any:
        return await current().handshake_db.run_batched(function, item)


class ProcessFanout:
    """chat.events' Fanout: the running runtime's publisher on its own loop,
    else a publisher and sender made for the call."""

    async def publish_message(self, message: Message) -> None:
        runtime = running_here()
        if runtime is not None:
            await runtime.publisher.publish(message)
            return
        publisher = Publisher(None, _sender_for_this_call())
        await publisher.publish(message)
        await publisher.flush()

    async def publish_change(self, change: MessageChange) -> None:
        runtime = running_here()
        if runtime is not None:
            await runtime.publisher.publish_change(change)
            return
        publisher = Publisher(None, _sender_for_this_call())
        await publisher.publish_change(change)
        await publisher.flush()

    async def publish_in_order(self, groups: list[str], event: dict) -> None:
        """A frame in the order of the process's new messages (Publisher)."""
        runtime = running_here()
        if runtime is not None:
            await runtime.publisher.publish_frame(groups, event)
            return
        await self.publish(groups, event)

    async def publish(self, groups: list[str], event: dict) -> bool:
        runtime = running_here()
        sender = runtime.sender if runtime is not None else _sender_for_this_call()
        return await sender.send_in_order([(groups, event)])


def _sender_for_this_call() -> LayerSender:
    layer = realtime_layer(get_channel_layer())
    return LayerSender(layer, outbox=outbox_in_use(layer))
