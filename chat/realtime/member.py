"""A WebSocket connection as the runtime sees it: a member of the hub's groups,
pinged, renewed and caught up by the connections' jobs (realtime.connections),
closed by the drain (realtime.shutdown).

A mixin of the consumer, which provides `runtime`, `user`, `scope`, `send`,
`send_text` and `event_handlers` (its table of layer events).
"""

import asyncio
import logging
from typing import TYPE_CHECKING, Any

from channels.db import database_sync_to_async
from django.conf import settings

from chat import events
from chat.selectors import messages_after
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

    if TYPE_CHECKING:  # the consumer's (stubs here would shadow them)

        async def send(self, message: dict) -> None: ...

        async def send_text(self, text: str) -> None: ...

        def hold(self, event: dict) -> None: ...

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
        if isinstance(message_id, int) and message_id > self.seen_id:
            self.seen_id = message_id

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

    async def catch_up(self, *, after: int) -> None:
        """After a layer outage: send what a `sync` from `after` would.

        Live frames may overlap it; clients de-duplicate by id (protocol.md).
        """
        more = True
        while more and self.user is not None:
            after, more = await self.send_page(
                after=after, limit=settings.CHAT_SYNC_MAX_LIMIT
            )

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
