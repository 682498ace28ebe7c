"""The visitor's socket, /ws/visitor/?site=<public key>&token=<visitor token>.

The members' consumer with a visitor's identity (the visitor token, not the
account middleware's) and a table of its own: a visitor can send to, type in
and `sync` their own conversation, nothing else (docs/protocol.md, "Support").
"""

import logging
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from django.conf import settings
from django.db import DatabaseError

from . import events
from .consumers import ChatConsumer
from .errors import ChatError
from .realtime.member import RuntimeMember
from .realtime.support_frames import VisitorFrames
from .services import admission, support
from .services import support_conversations as conversations

logger = logging.getLogger(__name__)

CLOSE_FORBIDDEN = 4403


def _header(scope: dict, name: bytes) -> str:
    for key, value in scope.get("headers", ()):
        if key == name:
            return value.decode("latin-1")
    return ""


def own_origins(scope: dict) -> set[str]:
    """This server's origins: the widget's frame is served from them."""
    host = _header(scope, b"host")
    found = {settings.CHAT_SITE_URL}
    if host:
        secure = scope.get("scheme") == "wss"
        found.add(f"{'https' if secure else 'http'}://{host}")
    return found


def visitor_for(scope: dict):
    """The visitor of a handshake: a known site, an allowed Origin (the site's
    or ours), a valid token; else ChatError."""
    query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
    site = support.site_by_key((query.get("site") or [""])[0])
    origin = _header(scope, b"origin").rstrip("/")
    if origin not in own_origins(scope):
        support.require_origin(site, origin)
    return support.visitor_from_token(site, (query.get("token") or [""])[0])


class VisitorConsumer(VisitorFrames, ChatConsumer):
    visitor = None

    async def websocket_connect(self, message) -> None:
        async with self.holding_events():
            await self.send({"type": "websocket.accept"})
            if self.runtime.draining:
                await self.close_for_restart()
                return
            try:
                visitor = await database_sync_to_async(visitor_for)(self.scope)
            except ChatError as exc:
                await self.send_text(
                    events.error_frame(code=exc.code, detail=exc.detail)
                )
                await self.send({"type": "websocket.close", "code": CLOSE_FORBIDDEN})
                return
            except DatabaseError:
                logger.warning("database unavailable at connect", exc_info=True)
                await self.send(
                    {
                        "type": "websocket.close",
                        "code": admission.CLOSE_TRY_AGAIN_LATER,
                    }
                )
                return
            self.visitor = visitor
            # Who this connection is, for what reads the scope (typing's echo).
            self.scope = dict(self.scope, user=visitor.user)
            code = await self.admit(visitor.user)
            if code is not None:
                await self.send({"type": "websocket.close", "code": code})
                return
            for text in await database_sync_to_async(
                conversations.visitor_state_frames
            )(visitor):
                await self.send_text(text)

    async def receive_frame(self, out: dict, event: dict) -> None:
        if event.get(events.SUPPORT_STATE):
            self.forget_support_state()
        await super().receive_frame(out, event)

    # The members' table, with this connect (a table holds functions, not names).
    event_handlers = {
        **ChatConsumer.event_handlers,
        "websocket.connect": websocket_connect,
    }

    frame_handlers = {
        "message.send": VisitorFrames.on_visitor_send,
        "typing": VisitorFrames.on_visitor_typing,
        "sync": RuntimeMember.on_sync,
    }
