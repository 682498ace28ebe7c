"""The in-memory channel layer of the embedded engine, made for many waiting
receives.

channels' InMemoryChannelLayer walks every channel and every group membership
on each send and receive (to expire old messages), makes a new asyncio.Queue
for every receive (four deques while the receive waits) and starts
a task per member for each `group_send`. The process's hub (chat.realtime.hub) keeps a
receive waiting on a channel of each group it serves (a user's group per
connected user): here a waiting receive is one future, a message for a channel
with a receive waiting is handed to it at once, the expiry sweep runs at most
once a second, and a group's members are sent to in turn. A channel can also be
listened to (`listen`): its messages go to a callback as they are sent, with no
receive waiting at all (the hub's way: one task per process, not per group).

The contract is channels' own: at most `capacity` messages wait on a channel
(ChannelFull beyond it; `group_send` drops them), a message not received within
`expiry` seconds is dropped and takes its channel out of every group, a group
membership ends after `group_expiry` seconds unless renewed. A receive cancelled
after a message was handed to it puts the message back first in line.
"""

import contextlib
import logging
import time
from collections import deque
from collections.abc import Callable
from copy import deepcopy

from channels.exceptions import ChannelFull
from channels.layers import InMemoryChannelLayer as BaseInMemoryChannelLayer

from .waiting import WaitingReceives

logger = logging.getLogger(__name__)

# The expiry sweep runs at most this often (it walks every channel and group).
SWEEP_SECONDS = 1.0


class InMemoryChannelLayer(BaseInMemoryChannelLayer):
    # What the runtime asks of a layer (realtime.layer.RealtimeLayer): this
    # one lives in the process and never has an outage.
    process_local = True
    failing = False
    failing_since: float | None = None
    recoveries = 0
    unnoticed_seconds = 0.0

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # channel -> (expires at, message), oldest first; only channels that
        # hold messages are here.
        # (deques where channels' layer has queues: its type is not ours)
        self.channels: dict[str, deque[tuple[float, dict]]] = {}  # type: ignore[assignment]
        self.waiting = WaitingReceives()
        # channel -> the callback that takes its messages (`listen`).
        self.listeners: dict[str, Callable[[dict], None]] = {}
        self.swept_at = 0.0

    def listen(self, channel: str, callback: Callable[[dict], None]) -> None:
        """Hand each message of `channel` to `callback` (a copy, in the sender's
        event loop, as it is sent) instead of keeping it for a receive."""
        self.require_valid_channel_name(channel)
        self.listeners[channel] = callback
        for _, message in self.channels.pop(channel, ()):
            _call(callback, message)

    def unlisten(self, channel: str) -> None:
        self.listeners.pop(channel, None)

    async def send(self, channel: str, message: dict) -> None:
        _check_message(message)
        self.require_valid_channel_name(channel)
        self._put(channel, message)

    async def receive(self, channel: str) -> dict:
        self.require_valid_channel_name(channel)
        self._clean_expired()
        return await self.waiting.next_message(self.channels, channel, self._put_back)

    async def group_send(self, group: str, message: dict) -> None:
        _check_message(message)
        self.require_valid_group_name(group)
        self._clean_expired()
        for channel in list(self.groups.get(group, ())):
            # As channels does: a full member misses it (its client syncs).
            with contextlib.suppress(ChannelFull):
                self._put(channel, message)

    async def ping(self) -> None:
        """A send and a receive on a channel of its own."""
        channel = await self.new_channel()
        await self.send(channel, {"type": "health.check"})
        await self.receive(channel)

    async def flush(self) -> None:
        await super().flush()
        self.channels = {}

    def _put_back(self, channel: str, message: dict) -> None:
        self._put(channel, message, first=True)

    def _put(self, channel: str, message: dict, *, first: bool = False) -> None:
        """Hand `message` (a copy) to its listener or a waiting receive, or
        queue it."""
        listener = self.listeners.get(channel)
        if listener is not None:
            _call(listener, message if first else deepcopy(message))
            return
        if self.waiting.by_channel.get(channel) and self.waiting.hand(
            channel, message if first else deepcopy(message)
        ):
            return
        queue = self.channels.get(channel)
        if queue is None:
            queue = self.channels[channel] = deque()
        expires = time.time() + self.expiry
        if first:
            queue.appendleft((expires, message))
            return
        if len(queue) >= self.get_capacity(channel):
            raise ChannelFull(channel)
        queue.append((expires, deepcopy(message)))

    def _clean_expired(self) -> None:
        """Drop expired messages (their channels leave every group) and expired
        group memberships; at most once every SWEEP_SECONDS."""
        now = time.time()
        if now - self.swept_at < SWEEP_SECONDS:
            return
        self.swept_at = now
        for channel, queue in list(self.channels.items()):
            if queue and queue[0][0] < now:
                while queue and queue[0][0] < now:
                    queue.popleft()
                # channels' own (missing from its stubs)
                self._remove_from_groups(channel)  # type: ignore[attr-defined]
            if not queue:
                del self.channels[channel]
        oldest = int(now) - self.group_expiry
        for group, members in list(self.groups.items()):
            for name, joined in list(members.items()):
                if joined and joined < oldest:
                    del members[name]
            if not members:
                del self.groups[group]


def _check_message(message) -> None:
    if not isinstance(message, dict):
        raise TypeError("A layer message is a dict.")
    if "__asgi_channel__" in message:
        raise ValueError("A layer message may not name its own channel.")


def _call(callback: Callable[[dict], None], message: dict) -> None:
    """A listener's failure is its own: the sender and the others go on."""
    try:
        callback(message)
    except Exception:
        logger.exception("a channel listener failed")
