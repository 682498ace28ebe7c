"""The WebSocket consumer: protocol plumbing only, every action is a service.

One connection carries all of a user's conversations (docs/protocol.md). Each
frame type has one handler in `frame_handlers`, each event one in
`event_handlers`: never a method looked up by the client's string.
"""

import asyncio
import functools
import itertools
import logging

from channels.consumer import AsyncConsumer
from channels.exceptions import StopConsumer
from django.conf import settings
from django.db import DatabaseError

from chatsite import ratelimit

from . import events
from .errors import ChatError, Unavailable
from .realtime import incoming, process
from .realtime.answers import AnswersInOrder, HeldEvents
from .realtime.change_frames import ChangeFrames
from .realtime.member import RuntimeMember
from .realtime.presence_frames import PresenceMember
from .realtime.runtime import Runtime, current
from .realtime.support_frames import AgentFrames
from .realtime.writer import submit_message
from .services import admission
from .services.reads import amark_read
from .services.rooms import ajoin_room, aleave_room
from .services.typing import TypingRelay

logger = logging.getLogger(__name__)

# A connection's name (`conn.<process tag>.<n>`), unique across processes: the
# `origin` of its membership news, its entry in chatsite.ratelimit's counts.
_connection_numbers = itertools.count(1)


class ChatConsumer(
    AnswersInOrder,
    HeldEvents,
    RuntimeMember,
    ChangeFrames,
    PresenceMember,
    AgentFrames,
    AsyncConsumer,
):
    """Authenticated by accounts.middleware (scope["user"]). The runtime's hub
    hands it its groups' events; what only some connections need (typing,
    held events) is made on first use."""

    user = None
    typing: TypingRelay | None = None

    def __init__(self) -> None:
        self.runtime: Runtime = current()
        self.groups: set[str] = set()
        self.channel_name = f"conn.{process.TAG}.{next(_connection_numbers)}"

    async def __call__(self, scope, receive, send):
        """The socket's events one after another (no layer channel of its own)."""
        self.scope = scope
        self.base_send = send
        try:
            while True:
                await self.dispatch(await receive())
        except StopConsumer:
            pass
        finally:
            # However it ended: no more renewals, pings or group deliveries.
            self.runtime.connections.discard(self)
            self.runtime.hub.forget(self)
            self.runtime.presence.closed(self.channel_name)

    async def dispatch(self, message):
        # No hop to a thread per event (channels' own): database_sync_to_async
        # closes stale connections itself.
        handler = self.event_handlers.get(message["type"])
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(self, message)

    # --- the socket -------------------------------------------------------------

    async def websocket_connect(self, message) -> None:
        async with self.holding_events():  # nothing of the groups before hello
            await self.send({"type": "websocket.accept"})
            code = admission.refusal(self.scope)
            if code is None and self.runtime.draining:
                await self.close_for_restart()
                return
            if code is None:
                code = await self.admit(self.scope["user"])
            if code is not None:
                await self.send({"type": "websocket.close", "code": code})

    async def admit(self, user) -> int | None:
        """Join the user's groups and say hello; the close code if refused."""
        run_batched = self.runtime.handshake_db.run_batched
        admitted = await admission.admit(user, self.channel_name, run_batched)
        if admitted.counted:
            self.counted_as = user.pk
        if admitted.refused is not None:
            return admitted.refused
        try:
            await asyncio.gather(*(self.join_group(g) for g in admitted.groups))
            # Read after joining the groups: nothing falls between hello and live.
            last_id, last_change = await run_batched(admission.last_ids, user)
        except DatabaseError:
            logger.warning("database unavailable at connect", exc_info=True)
            return admission.CLOSE_TRY_AGAIN_LATER
        self.user, self.seen_id, self.seen_change_id = user, last_id, last_change
        heartbeat = settings.CHAT_HEARTBEAT_SECONDS
        hello = events.hello_frame(
            user=user, heartbeat=heartbeat, last_id=last_id, last_change_id=last_change
        )
        await self.send_text(hello)
        self.runtime.connections.add(self)  # renewed and pinged from now on
        self.runtime.presence.connected(self.channel_name, user.pk)
        if self.runtime.draining:
            await self.close_for_restart()
        return None

    async def websocket_receive(self, message) -> None:
        if self.user is None:
            return
        wait = await ratelimit.ahit(ratelimit.user_limit(), str(self.user.pk))
        if wait:
            client_id = incoming.client_id_in(message.get("text"))
            detail = "Too many frames: wait before sending again."
            await self.send_error("rate_limited", detail, client_id, round(wait, 3))
            return
        try:
            frame = incoming.read(message)
        except ChatError as exc:
            await self.send_error(exc.code, exc.detail)
            return
        if frame == incoming.PING:
            await self.wait_answered()
            await self.send_text(incoming.PONG)
        if not isinstance(frame, dict):
            return  # a heartbeat (a client's pong needs no answer)
        client_id, kind = incoming.client_id_of(frame), frame.get("type")
        handler = self.frame_handlers.get(kind) if isinstance(kind, str) else None
        if handler is None:
            await self.send_error("unknown_type", "Unknown frame type.", client_id)
            return
        if handler is not ChatConsumer.on_message_send:
            await self.wait_answered()
        try:
            await handler(self, frame)
        except ChatError as exc:
            await self.send_error(exc.code, exc.detail, client_id, extra=exc.extra)
        except DatabaseError:
            logger.warning("database error while handling a frame", exc_info=True)
            error = Unavailable()
            await self.send_error(error.code, error.detail, client_id)
        except Exception:
            # A bug of ours must cost the client one answer, not its connection.
            logger.exception("unexpected error while handling a %s frame", kind)
            await self.send_error(
                "internal", "The server failed on this frame.", client_id
            )

    async def websocket_disconnect(self, message) -> None:
        try:
            if self.counted_as is not None:
                counted_as, self.counted_as = self.counted_as, None
                await ratelimit.aconnection_closed(counted_as, self.channel_name)
            for group in list(self.groups):
                await self.leave_group(group)
        finally:
            self.runtime.connections.discard(self)
        raise StopConsumer()

    # --- client frames ------------------------------------------------------------

    async def on_message_send(self, frame: dict) -> None:
        """Handed to the runtime's writer; the next frame is read meanwhile.

        The ack (or the error) comes once the batch has committed.
        """
        self.one_pending()
        keys = ("room", "to", "body", "client_id", "reply_to", "attachments")
        request = {key: frame.get(key) for key in keys}
        submit_message(
            self.runtime.writer,
            self.runtime.publisher,
            {**request, "sender": self.user},
            on_stored=self.acknowledge,
            on_failed=functools.partial(self.refuse, incoming.client_id_of(frame)),
        )

    async def on_room_join(self, frame: dict) -> None:
        room, _ = await ajoin_room(
            user=self.user, slug=frame.get("room"), origin=self.channel_name
        )
        await self.join_group(events.room_group(room.pk))
        await self.send_text(events.room_joined_frame(room))

    async def on_room_leave(self, frame: dict) -> None:
        room, _ = await aleave_room(
            user=self.user, slug=frame.get("room"), origin=self.channel_name
        )
        await self.leave_group(events.room_group(room.pk))
        await self.send_text(events.room_left_frame(room))

    async def on_typing(self, frame: dict) -> None:
        """Relayed to the conversation's other members, throttled; no answer."""
        if self.typing is None:
            self.typing = TypingRelay(self.user, self.runtime.clock.now)
        await self.typing.relay(
            room=frame.get("room"), to=frame.get("to"), groups=self.groups
        )

    async def on_read(self, frame: dict) -> None:
        await amark_read(
            user=self.user,
            room=frame.get("room"),
            to=frame.get("to"),
            message_id=frame.get("id"),
        )

    frame_handlers = {
        "message.send": on_message_send,
        "sync": RuntimeMember.on_sync,
        "message.edit": ChangeFrames.on_message_edit,
        "message.delete": ChangeFrames.on_message_delete,
        "reaction.add": ChangeFrames.on_reaction_add,
        "reaction.remove": ChangeFrames.on_reaction_remove,
        "room.join": on_room_join,
        "room.leave": on_room_leave,
        "typing": on_typing,
        "read": on_read,
        "presence": PresenceMember.on_presence,
        # Customer support's agents (chat.realtime.support_frames).
        "support.send": AgentFrames.on_support_send,
        "support.typing": AgentFrames.on_support_typing,
    }

    event_handlers = {
        "websocket.connect": websocket_connect,
        "websocket.receive": websocket_receive,
        "websocket.disconnect": websocket_disconnect,
        events.FRAME: RuntimeMember.on_layer_frame,
        events.SUBSCRIBE: RuntimeMember.on_layer_subscribe,
        events.UNSUBSCRIBE: RuntimeMember.on_layer_unsubscribe,
        events.TYPING: RuntimeMember.on_layer_typing,
        events.ACCESS_LOST: RuntimeMember.on_layer_access_lost,
        events.PRESENCE: PresenceMember.on_layer_presence,
    }

    # --- helpers ------------------------------------------------------------------

    async def send_text(self, text: str) -> None:
        await self.send({"type": "websocket.send", "text": text})

    async def send_error(
        self, code, detail, client_id=None, retry_after=None, extra=None
    ) -> None:
        await self.wait_answered()
        frame = events.error_frame(
            code=code,
            detail=detail,
            client_id=client_id,
            retry_after=retry_after,
            extra=extra,
        )
        await self.send_text(frame)
