"""The WebSocket consumer: protocol plumbing only, every action is a service.

One connection carries all of a user's conversations. docs/protocol.md is the
contract; each client frame type maps to one handler in `ChatConsumer.frame_handlers`
(never a method looked up by the client's string), each layer event to one in
`ChatConsumer.event_handlers`.
"""

import asyncio
import contextlib
import functools
import itertools
import json
import logging

from channels.consumer import AsyncConsumer
from channels.db import database_sync_to_async
from channels.exceptions import StopConsumer
from django.conf import settings
from django.db import DatabaseError

from accounts.middleware import AUTH_UNAVAILABLE

from . import events, ratelimit
from .errors import ChatError, Forbidden, InvalidInput, Unavailable
from .realtime import process, shutdown
from .realtime.connections import local_connections
from .realtime.db_thread import handshake_db
from .realtime.guards import CLOSE_SERVICE_RESTART
from .realtime.hub import hub
from .realtime.relay import relay
from .selectors import (
    last_visible_ids,
    messages_after,
    parse_cursor,
    parse_limit,
    room_by_slug,
    room_group_ids_of,
    user_by_username,
)
from .services.messages import submit_message
from .services.reads import amark_read
from .services.rooms import ajoin_room, aleave_room
from .services.validation import is_valid_client_id

logger = logging.getLogger(__name__)

CLOSE_UNAUTHENTICATED = 4401
CLOSE_TRY_AGAIN_LATER = 1013  # the database cannot be reached: reconnect later
CLOSE_TOO_MANY_CONNECTIONS = 4429
HEARTBEAT_REQUEST = "ping"
HEARTBEAT_REPLY = "pong"

# A connection's name (`conn.<process tag>.<n>`), unique across the processes
# sharing a layer: the `origin` of the membership news it asked for, its entry
# among the user's counted connections (chat.ratelimit).
_connection_numbers = itertools.count(1)


class ChatConsumer(AsyncConsumer):
    """Authenticated by chat's middleware (scope["user"]); see docs/protocol.md.

    A connection has no channel-layer channel of its own: the process's hub
    (chat.realtime.hub) hands it its groups' events, and the process's
    heartbeat (chat.realtime.connections) pings it. What it holds is kept
    small, and what only some connections need (typing's lookups, held
    events) is made on first use.
    """

    user = None
    counted_as: int | None = None  # the user whose connections count this one
    # The highest message id this socket was sent: where a catch-up starts.
    seen_id = 0
    # For `typing`: slugs and usernames seen (they never change), and when this
    # connection last relayed typing to each conversation. Made on first use.
    room_ids: dict[str, int] | None = None
    user_ids: dict[str, int] | None = None
    typing_relayed: dict[str, float] | None = None
    # Group events that arrive while a handler's answer must come first (the
    # hello, a sync's pages) wait in `held`: see `holding_events`.
    holding = 0
    held: list[dict] | None = None
    # message.send frames handed to the writer and not answered yet: any other
    # answer waits for them (a connection is answered in order).
    in_flight = 0
    answered: asyncio.Event | None = None

    def __init__(self) -> None:
        self.groups: set[str] = set()
        self.channel_name = f"conn.{process.TAG}.{next(_connection_numbers)}"

    async def __call__(self, scope, receive, send):
        """Dispatch the socket's events one after another, until it closes.

        channels' AsyncConsumer would make a layer channel for the connection and
        wait on it and on the socket with a task each: unused here (chat.realtime.hub).
        """
        self.scope = scope
        self.base_send = send
        try:
            while True:
                await self.dispatch(await receive())
        except StopConsumer:
            pass
        finally:
            # However it ended (a crash, a cancellation), this process must stop
            # renewing its groups and pinging it (chat.realtime.connections) and waiting
            # for it to close, and its groups must stop delivering to it.
            local_connections.discard(self)
            hub.forget(self)

    async def dispatch(self, message):
        # Channels' own dispatch hops to a thread to close stale database
        # connections before every event; our handlers reach the database only
        # through database_sync_to_async, which does that itself.
        handler = self.event_handlers.get(message["type"])
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(self, message)

    # --- the socket -------------------------------------------------------------

    async def websocket_connect(self, message) -> None:
        # Nothing of the groups goes out before the hello.
        async with self.holding_events():
            await self.accept_connection()

    async def accept_connection(self) -> None:
        await self.send({"type": "websocket.accept"})
        user = self.scope.get("user")
        if self.scope.get("auth") == AUTH_UNAVAILABLE:
            await self.send({"type": "websocket.close", "code": CLOSE_TRY_AGAIN_LATER})
            return
        if user is None or not user.is_authenticated:
            await self.send({"type": "websocket.close", "code": CLOSE_UNAUTHENTICATED})
            return
        if shutdown.is_draining():
            await self.close_for_restart()
            return
        relay.ensure_running()
        # The connection count (Redis on services) and the rooms (on the
        # handshakes' database thread, chat.realtime.db_thread) are asked at once.
        counted, rooms = await asyncio.gather(
            ratelimit.aconnection_opened(user.pk, self.channel_name),
            handshake_db.run_batched(room_group_ids_of, user),
            return_exceptions=True,
        )
        if counted is True:
            self.counted_as = user.pk
        if isinstance(counted, BaseException):
            raise counted
        if not counted:
            await self.send(
                {"type": "websocket.close", "code": CLOSE_TOO_MANY_CONNECTIONS}
            )
            return
        try:
            if isinstance(rooms, BaseException):
                raise rooms
            groups = [events.user_group(user.pk)]
            groups += [events.room_group(room_id) for room_id in rooms]
            await asyncio.gather(*(self.join_group(group) for group in groups))
            # Read after joining the groups: nothing falls between hello and live.
            last_id = await handshake_db.run_batched(last_visible_ids, user)
        except DatabaseError:
            logger.warning("database unavailable at connect", exc_info=True)
            await self.send({"type": "websocket.close", "code": CLOSE_TRY_AGAIN_LATER})
            return
        self.user = user
        self.seen_id = last_id
        await self.send_text(
            events.hello_frame(
                user=user, heartbeat=settings.CHAT_HEARTBEAT_SECONDS, last_id=last_id
            )
        )
        local_connections.add(self)  # renewed and pinged from now on
        if shutdown.is_draining():
            await self.close_for_restart()

    async def websocket_receive(self, message) -> None:
        if self.user is None:
            return
        text = message.get("text")
        wait = await ratelimit.ahit(ratelimit.user_limit(), str(self.user.pk))
        if wait:
            await self.send_error(
                "rate_limited",
                "Too many frames: wait before sending again.",
                client_id=_client_id_of(text),
                retry_after=round(wait, 3),
            )
            return
        limit = settings.CHAT_MAX_FRAME_LENGTH
        if len(text if text is not None else message.get("bytes") or b"") > limit:
            await self.send_error("too_long", f"A frame is at most {limit} characters.")
            return
        if text is None:
            await self.send_error("invalid_frame", "Binary frames are not supported.")
            return
        if text == HEARTBEAT_REQUEST:
            await self.wait_answered()
            await self.send_text(HEARTBEAT_REPLY)
            return
        if text == HEARTBEAT_REPLY:
            return  # a client answering our heartbeat: nothing to say back
        try:
            frame = json.loads(text)
        except (ValueError, RecursionError):
            await self.send_error("invalid_json", "A frame must be a JSON object.")
            return
        if not isinstance(frame, dict):
            await self.send_error("invalid", "A frame must be a JSON object.")
            return
        client_id = frame.get("client_id")
        if not is_valid_client_id(client_id):
            client_id = None  # not echoed: it could not be sent back as it came
        kind = frame.get("type")
        handler = self.frame_handlers.get(kind) if isinstance(kind, str) else None
        if handler is None:
            await self.send_error(
                "unknown_type", "Unknown frame type.", client_id=client_id
            )
            return
        if handler is not ChatConsumer.on_message_send:
            await self.wait_answered()
        try:
            await handler(self, frame)
        except ChatError as exc:
            await self.send_error(exc.code, exc.detail, client_id=client_id)
        except DatabaseError:
            logger.warning("database error while handling a frame", exc_info=True)
            error = Unavailable()
            await self.send_error(error.code, error.detail, client_id=client_id)
        except Exception:
            # A bug of ours must cost the client one answer, not its connection.
            logger.exception("unexpected error while handling a %s frame", kind)
            await self.send_error(
                "internal", "The server failed on this frame.", client_id=client_id
            )

    async def websocket_disconnect(self, message) -> None:
        try:
            if self.counted_as is not None:
                counted_as, self.counted_as = self.counted_as, None
                await ratelimit.aconnection_closed(counted_as, self.channel_name)
            for group in list(self.groups):
                await self.leave_group(group)
        finally:
            local_connections.discard(self)
        raise StopConsumer()

    # --- client frames ------------------------------------------------------------

    async def on_message_send(self, frame: dict) -> None:
        """Handed to the process's batch writer; the next frame is read meanwhile.

        The ack (or the error) comes once the batch has committed.
        """
        client_id = frame.get("client_id")
        self.in_flight += 1
        submit_message(
            sender=self.user,
            room=frame.get("room"),
            to=frame.get("to"),
            body=frame.get("body"),
            client_id=client_id,
            on_stored=self.acknowledge,
            on_failed=functools.partial(
                self.refuse_message,
                client_id if is_valid_client_id(client_id) else None,
            ),
        )

    async def refuse_message(self, client_id: str | None, error: Exception) -> None:
        try:
            if isinstance(error, ChatError):
                code, detail = error.code, error.detail
            else:
                logger.error("unexpected error while storing a message", exc_info=error)
                code, detail = "internal", "The server failed on this frame."
            await self.send_text(
                events.error_frame(code=code, detail=detail, client_id=client_id)
            )
        finally:
            self.one_answered()

    async def acknowledge(self, message, created: bool) -> None:
        try:
            await self.send_text(
                events.ack_frame(client_id=message.client_id, message_id=message.id)
            )
        finally:
            self.one_answered()

    def one_answered(self) -> None:
        self.in_flight -= 1
        if not self.in_flight and self.answered is not None:
            self.answered.set()

    async def wait_answered(self) -> None:
        """Until every message.send before this frame has had its answer."""
        while self.in_flight:
            self.answered = asyncio.Event()
            await self.answered.wait()

    async def on_sync(self, frame: dict) -> None:
        async with self.holding_events():
            await self.send_sync(frame)

    async def send_sync(self, frame: dict) -> None:
        after = parse_cursor(frame.get("after"), name="after", default=0)
        limit = parse_limit(frame.get("limit"))
        messages, more = await database_sync_to_async(messages_after)(
            user=self.user, after=after, limit=limit
        )
        for message in messages:
            await self.send_text(events.message_frame(message))
        last_id = messages[-1].id if messages else after
        if messages:
            self.seen_id = max(self.seen_id, last_id)
        await self.send_text(events.sync_done_frame(last_id=last_id, more=more))

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
        """Relay "typing" to the conversation's other members; nothing stored.

        At most once per CHAT_TYPING_INTERVAL_SECONDS per conversation: the
        frames in between are dropped, and none is answered.
        """
        room, to = frame.get("room"), frame.get("to")
        if (room is None) == (to is None):
            raise InvalidInput("invalid", "Give exactly one of 'room' and 'to'.")
        if room is not None:
            room_id = await self.typing_room_id(room)
            key, target = f"room.{room_id}", {"room_id": room_id, "room": room}
        else:
            to_id = await self.typing_user_id(to)
            key, target = f"user.{to_id}", {"to_id": to_id}
        now = asyncio.get_running_loop().time()
        if self.typing_relayed is None:
            self.typing_relayed = {}
        last = self.typing_relayed.get(key)
        if last is not None and now - last < settings.CHAT_TYPING_INTERVAL_SECONDS:
            return
        self.typing_relayed[key] = now
        await events.publish_typing(user=self.user, **target)

    async def typing_room_id(self, slug) -> int:
        """The room's id, if this connection receives it (a member's)."""
        if self.room_ids is None:
            self.room_ids = {}
        room_id = self.room_ids.get(slug) if isinstance(slug, str) else None
        if room_id is None:
            room_id = (await database_sync_to_async(room_by_slug)(slug)).pk
            self.room_ids[slug] = room_id
        # The groups follow join, leave and membership news: no query.
        if events.room_group(room_id) not in self.groups:
            raise Forbidden(f"You are not a member of '{slug}': join it first.")
        return room_id

    async def typing_user_id(self, username) -> int:
        """Another active user's id (anyone may write to anyone)."""
        if self.user_ids is None:
            self.user_ids = {}
        user_id = self.user_ids.get(username) if isinstance(username, str) else None
        if user_id is None:
            user_id = (await database_sync_to_async(user_by_username)(username)).pk
            self.user_ids[username] = user_id
        if user_id == self.user.pk:
            raise InvalidInput("invalid", "A direct conversation needs another user.")
        return user_id

    async def on_read(self, frame: dict) -> None:
        await amark_read(
            user=self.user,
            room=frame.get("room"),
            to=frame.get("to"),
            message_id=frame.get("id"),
        )

    frame_handlers = {
        "message.send": on_message_send,
        "sync": on_sync,
        "room.join": on_room_join,
        "room.leave": on_room_leave,
        "typing": on_typing,
        "read": on_read,
    }

    # --- channel layer events (handed over by chat.realtime.hub) -------------

    async def receive_event(self, event: dict) -> None:
        """An event of one of this connection's groups."""
        if self.holding:
            self.hold(event)
            return
        await self.handle_event(event)

    async def receive_frame(self, out: dict, event: dict) -> None:
        """A chat.frame event of a group, with its ASGI message made once for
        every member (chat.realtime.hub): on_layer_frame without a dict per socket."""
        if self.holding:
            self.hold(event)
            return
        await self.base_send(out)
        message_id = event.get("message_id")
        if isinstance(message_id, int) and message_id > self.seen_id:
            self.seen_id = message_id

    def hold(self, event: dict) -> None:
        if self.held is None:
            self.held = []
        self.held.append(event)

    @contextlib.asynccontextmanager
    async def holding_events(self):
        """Hold group events back until the block's frames are out, as channels'
        one-event-at-a-time dispatch did when each socket had its own channel."""
        self.holding += 1
        try:
            yield
        finally:
            self.holding -= 1
            while not self.holding and self.held:
                event = self.held.pop(0)
                if not self.held:
                    self.held = None
                try:
                    await self.handle_event(event)
                except Exception:
                    logger.warning("could not deliver a held event", exc_info=True)

    async def handle_event(self, event: dict) -> None:
        kind = event.get("type")
        handler = self.event_handlers.get(kind) if isinstance(kind, str) else None
        if handler is None or kind.startswith("websocket."):
            logger.warning("no handler for a %r event", kind)
            return
        await handler(self, event)

    async def on_layer_frame(self, event: dict) -> None:
        await self.send_text(event["text"])
        message_id = event.get("message_id")
        if isinstance(message_id, int) and message_id > self.seen_id:
            self.seen_id = message_id

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
            self.user = None  # no more heartbeats either (chat.realtime.connections)
            for group in list(self.groups):
                await self.leave_group(group)
            await self.send({"type": "websocket.close", "code": event["code"]})

    event_handlers = {
        "websocket.connect": websocket_connect,
        "websocket.receive": websocket_receive,
        "websocket.disconnect": websocket_disconnect,
        events.FRAME: on_layer_frame,
        events.SUBSCRIBE: on_layer_subscribe,
        events.UNSUBSCRIBE: on_layer_unsubscribe,
        events.TYPING: on_layer_typing,
        events.ACCESS_LOST: on_layer_access_lost,
    }

    # --- helpers ------------------------------------------------------------------

    async def send_text(self, text: str) -> None:
        await self.send({"type": "websocket.send", "text": text})

    async def send_error(
        self,
        code: str,
        detail: str,
        *,
        client_id: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        await self.wait_answered()
        await self.send_text(
            events.error_frame(
                code=code, detail=detail, client_id=client_id, retry_after=retry_after
            )
        )

    def session_digest(self) -> str | None:
        """The digest of the session this connection rests on, if any."""
        key = self.scope.get("session_key")
        if not key and self.scope.get("auth") is None:
            session = self.scope.get("session")
            key = getattr(session, "session_key", None)
        return events.session_digest(key) if key else None

    async def join_group(self, group: str) -> None:
        """Best effort: without the layer a client still catches up by `sync`.

        The process's hub (chat.realtime.hub) delivers the group's events to this
        connection; it keeps the connection in the group even when the layer
        fails, so that renewing the groups after the outage (chat.realtime.connections)
        subscribes it.
        """
        self.groups.add(group)
        try:
            await hub.join(group, self)
        except Exception:
            logger.warning("could not join group %s", group, exc_info=True)

    async def leave_group(self, group: str) -> None:
        self.groups.discard(group)
        try:
            await hub.leave(group, self)
        except Exception:
            logger.warning("could not leave group %s", group, exc_info=True)

    # --- this process's jobs (realtime.connections, realtime.shutdown) ---------

    async def renew_groups(self) -> None:
        """Put the process back in this connection's groups (group_expiry, a
        restarted Redis): chat.realtime.hub re-adds its channel of each group."""
        async with asyncio.timeout(settings.CHAT_LAYER_TIMEOUT_SECONDS):
            await hub.renew(self.groups)

    async def catch_up(self, *, after: int) -> None:
        """After a layer outage: send what a `sync` from `after` would.

        Live frames may overlap it; clients de-duplicate by id (protocol.md).
        """
        more = True
        while more and self.user is not None:
            messages, more = await database_sync_to_async(messages_after)(
                user=self.user, after=after, limit=settings.CHAT_SYNC_MAX_LIMIT
            )
            for message in messages:
                await self.send_text(events.message_frame(message))
            if messages:
                after = messages[-1].id
                self.seen_id = max(self.seen_id, after)

    async def close_for_restart(self) -> None:
        """Close with 1012 "server restarting": reconnect now, to another process."""
        await self.send({"type": "websocket.close", "code": CLOSE_SERVICE_RESTART})

    async def heartbeat(self) -> None:
        """The plain-text `ping`, every CHAT_HEARTBEAT_SECONDS (the runtime's timer)."""
        if self.user is not None:  # else closing: its access was lost
            await self.send_text(HEARTBEAT_REQUEST)

    async def keep_counted(self) -> None:
        """Still one of its user's connections (chat.ratelimit), at each heartbeat."""
        if self.user is not None and self.counted_as is not None:
            await ratelimit.aconnection_alive(self.counted_as, self.channel_name)


def _client_id_of(text) -> str | None:
    """The frame's client_id, if it has a usable one (for a refusal's answer)."""
    if not isinstance(text, str) or len(text) > settings.CHAT_MAX_FRAME_LENGTH:
        return None
    try:
        frame = json.loads(text)
    except (ValueError, RecursionError):
        return None
    client_id = frame.get("client_id") if isinstance(frame, dict) else None
    return client_id if is_valid_client_id(client_id) else None
