"""A WebSocket connection as the runtime sees it: a member of the hub's groups,
pinged, renewed and caught up by the connections' jobs (realtime.connections),
closed by the drain (realtime.shutdown).

A mixin of the consumer, which provides `runtime`, `user`, `scope`, `send`,
`send_text` and `event_handlers` (its table of layer events).
"""

import asyncio
import logging
from contextlib import AbstractAsyncContextManager
from typing import TYPE_CHECKING, Any

from channels.db import database_sync_to_async
from django.conf import settings

from chat import change_feed, events
from chat.change_feed import ChangesExpired, changes_after, parse_change_cursor
from chat.selectors import messages_after, parse_cursor, parse_limit
from chatsite import ratelimit

from .guards import CLOSE_SERVICE_RESTART

if TYPE_CHECKING:
    from .runtime import Runtime

logger = logging.getLogger(__name__)

HEARTBEAT_REQUEST = "ping"
HEARTBEAT_REPLY = "pong"


class RuntimeMember:
    runtime: "Runtime"
    user: Any
    scope: dict
    base_send: Any
    event_handlers: dict
    holding: int
    groups: set[str]
    counted_as: int | None = None  # the user whose connections count this one
    channel_name: str
    # The highest message id this socket was sent: where a catch-up starts.
    seen_id = 0
    # The highest change_id it was sent (its hello's at first): where a
    # catch-up on changes starts.
    seen_change_id = 0

    if TYPE_CHECKING:  # the consumer's (stubs here would shadow them)

        async def send(self, message: dict) -> None: ...

        async def send_text(self, text: str) -> None: ...

        def hold(self, event: dict) -> None: ...

        def holding_events(self) -> AbstractAsyncContextManager[None]: ...

    # --- what the hub hands over ---------------------------------------------------

    async def receive_event(self, event: dict) -> None:
        """An event of one of this connection's groups."""
        if self.holding:
            self.hold(event)
            return
        await self.handle_event(event)

    async def receive_frame(self, out: dict, event: dict) -> None:
        """A chat.frame event, with its ASGI message made once for every member
        (the hub): on_layer_frame without a dict per socket."""
        if self.holding:
            self.hold(event)
            return
        await self.base_send(out)
        message_id = event.get("message_id")
        if isinstance(message_id, int):
            if message_id > self.seen_id:
                self.seen_id = message_id
            return
        change_id = event.get("change_id")
        if isinstance(change_id, int) and change_id > self.seen_change_id:
            self.seen_change_id = change_id

    async def handle_event(self, event: dict) -> None:
        kind = event.get("type")
        handler = self.event_handlers.get(kind) if isinstance(kind, str) else None
        if handler is None or str(kind).startswith("websocket."):
            logger.warning("no handler for a %r event", kind)
            return
        await handler(self, event)

    async def on_layer_frame(self, event: dict) -> None:
        out = {"type": "websocket.send", "text": event["text"]}
        await self.receive_frame(out, event)

    async def on_layer_subscribe(self, event: dict) -> None:
        if event.get("origin") != self.channel_name:
            await self.join_group(event["group"])
            await self.send_text(event["text"])

    async def on_layer_unsubscribe(self, event: dict) -> None:
        if event.get("origin") != self.channel_name:
            await self.leave_group(event["group"])
            await self.send_text(event["text"])

    async def on_layer_typing(self, event: dict) -> None:
        if event.get("sender_id") != self.scope["user"].pk:
            await self.send_text(event["text"])

    async def on_layer_access_lost(self, event: dict) -> None:
        """A token revoked, a log-out, an account turned off: close if it is ours."""
        token_id, session = event.get("token_id"), event.get("session")
        everything = token_id is None and session is None
        mine = (token_id is not None and token_id == self.scope.get("token_id")) or (
            session is not None and session == self.session_digest()
        )
        if everything or mine:
            # From now on nothing goes in or out, before daphne even confirms.
            self.user = None  # no more heartbeats either
            for group in list(self.groups):
                await self.leave_group(group)
            await self.send({"type": "websocket.close", "code": event["code"]})

    def session_digest(self) -> str | None:
        """The digest of the session this connection rests on, if any."""
        key = self.scope.get("session_key")
        if not key and self.scope.get("auth") is None:
            key = getattr(self.scope.get("session"), "session_key", None)
        return events.session_digest(key) if key else None

    # --- the groups and the runtime's jobs ----------------------------------------

    async def join_group(self, group: str) -> None:
        """Best effort: without the layer a client still catches up by `sync`.

        The hub keeps the connection in the group even when the layer fails,
        so that renewing the groups after the outage subscribes it.
        """
        self.groups.add(group)
        try:
            await self.runtime.hub.join(group, self)
        except Exception:
            logger.warning("could not join group %s", group, exc_info=True)

    async def leave_group(self, group: str) -> None:
        self.groups.discard(group)
        try:
            await self.runtime.hub.leave(group, self)
        except Exception:
            logger.warning("could not leave group %s", group, exc_info=True)

    async def renew_groups(self) -> None:
        """Put the process back in this connection's groups (group_expiry, a
        restarted Redis): the hub re-adds its channel of each group."""
        async with asyncio.timeout(settings.CHAT_LAYER_TIMEOUT_SECONDS):
            await self.runtime.hub.renew(self.groups)

    async def catch_up(self, *, after: int, after_change: int | None = None) -> None:
        """After a layer outage: send what a `sync` from `after` (and
        `changes_after=after_change`) would, without its sync.done.

        Live frames may overlap it; clients de-duplicate by id (protocol.md).
        The groups are live again before it starts, so a change committed
        while it reads is told live if it is not in what it sends.
        """
        message_upto, more = after, True
        while more and self.user is not None:
            after, more = await self.send_page(
                after=after, limit=settings.CHAT_SYNC_MAX_LIMIT
            )
        more = after_change is not None
        try:
            while more and self.user is not None and after_change is not None:
                more, after_change = await self.send_changes(
                    after=after_change,
                    limit=settings.CHAT_SYNC_MAX_LIMIT,
                    message_upto=message_upto,
                )
        except ChangesExpired:  # connected for longer than changes are kept
            await self.send_text(events.sync_reset_frame(reason="changes_expired"))

    async def on_sync(self, frame: dict) -> None:
        """The `sync` frame: nothing of the groups comes between its frames."""
        async with self.holding_events():
            await self.answer_sync(frame)

    async def answer_sync(self, frame: dict) -> None:
        """A `sync` (docs/protocol.md): the messages after `after`; given
        `changes_after`, then the changes since to the messages before them;
        then sync.done (or sync.reset, with no sync.done, if those changes
        are no longer kept)."""
        after = parse_cursor(frame.get("after"), name="after", default=0) or 0
        limit = parse_limit(frame.get("limit"))
        since = parse_change_cursor(frame.get("changes_after"), name="changes_after")
        if since is None:  # as in v1
            last_id, more = await self.send_page(after=after, limit=limit)
            await self.send_text(events.sync_done_frame(last_id=last_id, more=more))
            return
        try:
            # Read before the messages: a change committed while they are read
            # is in their current state or above this, never skipped.
            upto = await database_sync_to_async(_changes_kept_since)(since)
            last_id, more = await self.send_page(after=after, limit=limit)
            last_change_id = since
            if not more:  # the changes once the messages are all sent
                more, last_change_id = await self.send_changes(
                    after=since, limit=limit, message_upto=after, upto=upto
                )
        except ChangesExpired:
            await self.send_text(events.sync_reset_frame(reason="changes_expired"))
            return
        await self.send_text(
            events.sync_done_frame(
                last_id=last_id, more=more, last_change_id=last_change_id
            )
        )

    async def send_changes(
        self, *, after: int, limit: int, message_upto: int, upto: int | None = None
    ) -> tuple[bool, int]:
        """Send one page of the changes after `after` (none above `upto`) to
        messages up to `message_upto` that the user may see; returns whether
        more follow, and the change_id to go on from (the last sent if more
        do, else the newest read)."""
        changes, more = await database_sync_to_async(changes_after)(
            user=self.user, after=after, limit=limit, message_upto=message_upto
        )
        if upto is not None and changes and changes[-1].id > upto:
            # Committed after the cursor was read: for the next sync.
            changes, more = [change for change in changes if change.id <= upto], False
        for change in changes:
            await self.send_text(events.change_frame(change))
        if changes:
            self.seen_change_id = max(self.seen_change_id, changes[-1].id)
        if more:
            return True, changes[-1].id
        newest = changes[-1].id if changes else after
        return False, max(newest, upto or 0)

    async def send_page(self, *, after: int, limit: int) -> tuple[int, bool]:
        """Send one page of the messages after `after` that the user may see;
        returns the last id sent (else `after`) and whether more follow."""
        messages, more = await database_sync_to_async(messages_after)(
            user=self.user, after=after, limit=limit
        )
        for message in messages:
            await self.send_text(events.message_frame(message))
        if messages:
            after = messages[-1].id
            self.seen_id = max(self.seen_id, after)
        return after, more

    async def close_for_restart(self) -> None:
        """Close with 1012 "server restarting": reconnect now, to another process."""
        await self.send({"type": "websocket.close", "code": CLOSE_SERVICE_RESTART})

    async def heartbeat(self) -> None:
        """The plain-text `ping`, every CHAT_HEARTBEAT_SECONDS."""
        if self.user is not None:  # else closing: its access was lost
            await self.send_text(HEARTBEAT_REQUEST)

    async def keep_counted(self) -> None:
        """Still one of its user's connections (chat.ratelimit), at each heartbeat."""
        if self.user is not None and self.counted_as is not None:
            await ratelimit.aconnection_alive(self.counted_as, self.channel_name)


def _changes_kept_since(after: int) -> int:
    """The newest change_id now; ChangesExpired if changes above `after` were
    pruned (a sync from it would have a gap)."""
    if after < change_feed.pruned_through():
        raise ChangesExpired()
    return change_feed.last_change_id()
