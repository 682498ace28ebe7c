"""Fan-out inside the process: one layer subscription per group, not per socket.

A group (`room.<pk>`, `user.<pk>`) is joined on the channel layer by one channel
of this process, made when the first local connection joins it and dropped when
the last one leaves. What the layer carries to that channel is handed to every
local member in turn: a message frame is the same ready text written to each
socket (daphne's send does not wait for the client, and a client that does not
read is closed by chat.realtime.guards), so a message costs one layer message per
process, not one per connection. A batch of frames (`chat.frames`: a busy
process sends the new messages of a moment as one layer message per group) is
handed over frame by frame, in its order.

The layer hands a channel's messages to a callback (`listen`,
realtime.layer): the events of every group then wait in one inbox, in the
order they came, for one task of the process.

Events other than frames and typing (membership news, lost access) may wait on
the layer themselves; each runs as a task of its own, so that a slow one never
holds up the deliveries behind it.

Long polls and other layer listeners still join the groups with their own
channels: publishing is unchanged (chat.events, chat.realtime.relay).

A new message of this process is handed to its members here at once
(`deliver_here`); the copy the layer brings back is recognised by a tag, not
remembered, so no backlog on the layer can make the hub forget it (see
`deliver_here`).
"""

import asyncio
import functools
import itertools
import logging
from collections import deque
from collections.abc import Coroutine, Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

from django.conf import settings

from chat import events

from . import process
from .layer import RealtimeLayer

logger = logging.getLogger(__name__)

# Handled inline, member after member: they only write to sockets.
INLINE = frozenset({events.FRAME, events.FRAMES, events.TYPING, events.PRESENCE})
# Events waiting in the inbox at most; past it they are dropped (and logged), as
# a full layer channel drops them: the clients catch up with `sync`.
INBOX_LIMIT = 10_000


class Member(Protocol):
    async def receive_event(self, event: dict) -> None: ...

    async def receive_frame(self, out: dict, event: dict) -> None: ...


_subscription_numbers = itertools.count(1)


def _new_tag() -> str:
    return f"{process.TAG}.{next(_subscription_numbers)}"


@dataclass(eq=False, slots=True)
class Subscription:
    """This process's hold on one group: its channel and local members."""

    members: set = field(default_factory=set)
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    channel: str | None = None
    in_layer: bool = False
    # Its name, unique across processes: what `deliver_here` tags the frames
    # it delivered with.
    tag: str = field(default_factory=_new_tag)


class Hub:
    def __init__(self, layer: RealtimeLayer) -> None:
        self.layer = layer
        # Where the groups' events are delivered: the loop of the first join.
        self.loop: asyncio.AbstractEventLoop | None = None
        self.groups: dict[str, Subscription] = {}
        self.tasks: set[asyncio.Task] = set()
        # (subscription, event) handed over by the layer, for `drainer`.
        self.inbox: deque[tuple[Subscription, dict]] = deque()
        self.drainer: asyncio.Task | None = None

    async def join(self, group: str, member: Member) -> None:
        """Deliver `group`'s events to `member`; the process joins it if needed.

        The member is kept even if the layer fails (the exception is raised):
        renewal (realtime.connections) subscribes the group once the layer is
        back.
        """
        subscription = self.groups.get(group)
        if subscription is None:
            subscription = self.groups[group] = Subscription()
        subscription.members.add(member)
        await self._subscribe(group, subscription)

    async def leave(self, group: str, member: Member) -> None:
        subscription = self.groups.get(group)
        if subscription is None:
            return
        subscription.members.discard(member)
        if not subscription.members:
            await self._unsubscribe(group, subscription)

    def forget(self, member: Member) -> None:
        """Drop `member` from every group at once (a consumer that ended)."""
        for group, subscription in list(self.groups.items()):
            if member in subscription.members:
                subscription.members.discard(member)
                if not subscription.members:
                    self._spawn(self._unsubscribe(group, subscription))

    async def renew(self, groups: Iterable[str]) -> None:
        """Add this process's channels to `groups` again (expiry, a new Redis)."""
        for group in list(groups):
            subscription = self.groups.get(group)
            if subscription is not None and subscription.members:
                subscription.in_layer = False
                await self._subscribe(group, subscription)

    async def close(self) -> None:
        """Leave every group (the runtime stops): nothing more is delivered."""
        for task in list(self.tasks):
            if not task.get_loop().is_closed():
                task.cancel()
        for group, subscription in list(self.groups.items()):
            subscription.members.clear()
            await self._unsubscribe(group, subscription)
        if self.drainer is not None and not self.drainer.get_loop().is_closed():
            self.drainer.cancel()
        self.inbox.clear()

    async def _subscribe(self, group: str, subscription: Subscription) -> None:
        async with subscription.lock:
            if not subscription.members or self.groups.get(group) is not subscription:
                return
            if self.loop is None:
                self.loop = asyncio.get_running_loop()
            if subscription.channel is None:
                subscription.channel = await self.layer.new_channel()
                subscription.in_layer = False
                self.layer.listen(
                    subscription.channel,
                    functools.partial(self._arrived, group, subscription),
                )
            if not subscription.in_layer:
                async with asyncio.timeout(settings.CHAT_LAYER_TIMEOUT_SECONDS):
                    await self.layer.group_add(group, subscription.channel)
                subscription.in_layer = True

    async def _unsubscribe(self, group: str, subscription: Subscription) -> None:
        async with subscription.lock:
            # Checked and removed with no wait in between: a join from now on
            # makes a new subscription.
            if subscription.members or self.groups.get(group) is not subscription:
                return
            del self.groups[group]
            if subscription.channel is not None:
                self.layer.unlisten(subscription.channel)
            if subscription.in_layer and subscription.channel is not None:
                try:
                    async with asyncio.timeout(settings.CHAT_LAYER_TIMEOUT_SECONDS):
                        await self.layer.group_discard(group, subscription.channel)
                except Exception:
                    # group_expiry removes it in the end; until then its events
                    # reach a channel nobody reads.
                    logger.warning("could not leave group %s", group, exc_info=True)

    async def deliver_here(self, group: str, event: dict) -> str | None:
        """Hand a chat.frame of this process to the group's members here at
        once; returns the tag (events.DELIVERED_IN) its copy for the layer must
        carry, or None if no member here got it.

        The layer brings that copy back to this process; the subscription whose
        tag it carries drops it (`_without_echoes`), and any other delivers it:

        - A member that joined the subscription in between does not get it. It
          joined after the message was stored, so what it reads on joining has
          it already (the hello's last_id and the client's sync, a joined room's
          history).
        - A group whose subscription was made after the delivery (its first
          member came, or its last left and another came) has a new tag: the
          copy goes to members that never had it.
        - A caller on an event loop other than the hub's delivers nothing here
          and tags nothing: the subscription delivers the layer's copy.
        - A subscription not in the layer yet, or any more (an outage), tags all
          the same: the copy republished after the outage is dropped.
        """
        subscription = self.groups.get(group)
        if (
            subscription is None
            or not subscription.members
            or asyncio.get_running_loop() is not self.loop
            or event.get("type") != events.FRAME
        ):
            return None
        await self.deliver(subscription.members, event)
        return subscription.tag

    def _arrived(self, group: str, subscription: Subscription, event: dict) -> None:
        """A group's event from the layer: into the inbox."""
        loop = self.loop
        if self.groups.get(group) is not subscription or loop is None:
            return  # left since
        if loop.is_closed():
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is not loop:  # sent from another thread's event loop
            loop.call_soon_threadsafe(self._arrived, group, subscription, event)
            return
        kept = _without_echoes(subscription, event)
        if kept is None:
            return
        if len(self.inbox) >= INBOX_LIMIT:
            logger.warning("hub inbox full: an event of %s dropped", group)
            return
        self.inbox.append((subscription, kept))
        if self.drainer is None or self.drainer.done():
            self.drainer = loop.create_task(self._drain())

    async def _drain(self) -> None:
        while self.inbox:
            subscription, event = self.inbox.popleft()
            await self.deliver(subscription.members, event)

    async def deliver(self, members: Iterable[Member], event: dict) -> None:
        """Hand `event` to each member; one failing never stops the others."""
        kind = event.get("type")
        if kind not in INLINE:
            for member in list(members):
                self._spawn(member.receive_event(event))
            # Each takes its first step before the events behind this one: one
            # with nothing to wait for is handed them in the order they came.
            await asyncio.sleep(0)
            return
        if kind == events.FRAME:
            await self._deliver_frame(members, event)
            return
        if kind == events.FRAMES:
            for frame in event["frames"]:  # in order, each as a chat.frame
                await self._deliver_frame(members, frame)
            return
        for member in list(members):
            try:
                await member.receive_event(event)
            except Exception:
                logger.warning("could not deliver to a connection", exc_info=True)

    async def _deliver_frame(self, members: Iterable[Member], event: dict) -> None:
        # One ASGI message for all: the same ready text to every socket.
        out = {"type": "websocket.send", "text": event["text"]}
        for member in list(members):
            try:
                await member.receive_frame(out, event)
            except Exception:
                logger.warning("could not deliver to a connection", exc_info=True)

    def _spawn(self, coroutine: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(coroutine)
        self.tasks.add(task)
        task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task) -> None:
        self.tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            logger.warning("a connection failed on an event", exc_info=task.exception())


def _without_echoes(subscription: Subscription, event: dict) -> dict | None:
    """`event` without the frames the subscription delivered before publishing
    them (`Hub.deliver_here`); None if nothing is left of it."""
    kind, tag = event.get("type"), subscription.tag
    if kind == events.FRAME:
        return None if event.get(events.DELIVERED_IN) == tag else event
    if kind != events.FRAMES:
        return event
    frames = event["frames"]
    kept = [frame for frame in frames if frame.get(events.DELIVERED_IN) != tag]
    if len(kept) == len(frames):
        return event
    return {**event, "frames": kept} if kept else None
