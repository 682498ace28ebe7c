"""WebSocket authentication: a bearer token, a one-use ticket, or the session cookie.

A token may come as `?token=T`, as the article's `?id=U&token=T` (U must be T's
user) or as `Authorization: Bearer T`; such clients often send no Origin and are
served all the same. `?ticket=T` (accounts.tickets) is used up by the handshake
and is checked only when no token is given. A connection that rests on the
session cookie must come from an allowed Origin, else its handshake is refused
with 403 (cross-site WebSocket hijacking). Bad or missing credentials leave an
anonymous user in the scope: the consumer accepts and closes with 4401.
"""

import logging
from urllib.parse import parse_qs, urlsplit

from channels.auth import AuthMiddlewareStack
from channels.security.websocket import WebsocketDenier
from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.db import DatabaseError
from django.http.request import validate_host

from chat.realtime.runtime import current as current_runtime

from .tickets import redeem_ticket
from .tokens import authenticate_tokens, last_use

logger = logging.getLogger(__name__)

# scope["auth"] when the credentials could not be checked at all.
AUTH_UNAVAILABLE = "unavailable"


def _header(scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key == name:
            return value.decode("latin-1")
    return None


def credentials_from(scope) -> tuple[str | None, str | None]:
    """The token and claimed user id a connection presents, if any."""
    # Blank values kept: `?id=&token=T` claims a user (none) that T is not.
    query = parse_qs(
        scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True
    )
    token = (query.get("token") or [None])[0] or None
    claimed_id = (query.get("id") or [None])[0]
    authorization = _header(scope, b"authorization")
    if token is None and authorization:
        scheme, _, value = authorization.partition(" ")
        if scheme.lower() == "bearer":
            token = value.strip()
    return token, claimed_id


def tokens_for(credentials: list[tuple[str, str | None]]) -> list:
    """For each (token, claimed user id): the usable ApiToken, or None; with a
    claimed id it must be its user's. Uses are not written here (`last_use`)."""
    return authenticate_tokens(credentials)


def ticket_from(scope) -> str | None:
    query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
    return (query.get("ticket") or [None])[0]


def origin_allowed(scope) -> bool:
    origin = _header(scope, b"origin")
    if not origin:
        return False
    host = urlsplit(origin).hostname
    if not host:
        return False
    if ":" in host:
        host = f"[{host}]"
    allowed = settings.ALLOWED_HOSTS
    if settings.DEBUG and not allowed:
        allowed = [".localhost", "127.0.0.1", "[::1]"]
    return validate_host(host, allowed)


class SessionOriginGuard:
    """Refuses a cookie-authenticated handshake from a foreign or missing Origin."""

    def __init__(self, inner):
        self.inner = inner
        self.denier = WebsocketDenier.as_asgi()

    async def __call__(self, scope, receive, send):
        user = scope.get("user")
        if user is not None and user.is_authenticated and not origin_allowed(scope):
            return await self.denier(scope, receive, send)
        return await self.inner(scope, receive, send)


class WebSocketAuthMiddleware:
    """Puts the connection's user in `scope["user"]`, from a token or the session."""

    def __init__(self, inner):
        self.inner = inner
        self.session_stack = AuthMiddlewareStack(SessionOriginGuard(inner))

    async def __call__(self, scope, receive, send):
        token, claimed_id = credentials_from(scope)
        ticket = ticket_from(scope) if token is None else None
        if token is None and ticket is None:
            return await self.session_stack(scope, receive, send)
        handshake_db = current_runtime().handshake_db
        try:
            # On the handshakes' own database thread (chat.realtime.db_thread),
            # with the other handshakes of the moment: no connection opened per
            # handshake.
            if token is not None:
                found = await handshake_db.run_batched(tokens_for, (token, claimed_id))
                access = {"token_id": found.pk if found else None}
                if found is not None and found.use_due:
                    last_use.note(found)
            else:
                # Not retried: a ticket that was used up is not there again.
                found = await handshake_db.run(redeem_ticket, ticket, retry=False)
                access = {
                    "token_id": found.token_id if found else None,
                    "session_key": found.session_key if found else None,
                }
        except DatabaseError:
            # Not the client's fault: the consumer asks it to come back later.
            logger.warning("database unavailable for token auth", exc_info=True)
            scope = dict(scope, user=AnonymousUser(), auth=AUTH_UNAVAILABLE)
        else:
            user = found.user if found else AnonymousUser()
            kind = "token" if token is not None else "ticket"
            scope = dict(scope, user=user, auth=kind, **access)
        return await self.inner(scope, receive, send)
