"""Short-lived, single-use WebSocket tickets (`POST /api/auth/ticket/`).

A client that cannot set headers (a browser's WebSocket) and should not put a
long-lived token in a URL asks for a ticket over HTTP, then opens
`/ws/chat/?ticket=T` within CHAT_TICKET_SECONDS. Only the ticket's SHA-256
digest is stored; redeeming deletes the row, so one ticket opens one connection
even with several server processes (the database decides who deleted it).
A ticket that reaches a log is worthless by the time anyone reads it.
"""

import hashlib
import re
import secrets
from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from .models import ApiToken, User, WebSocketTicket

TICKET_PATTERN = re.compile(r"[A-Za-z0-9_-]{43}")


def _digest(ticket: str) -> str:
    return hashlib.sha256(ticket.encode()).hexdigest()


def create_ticket(
    *, user: User, token: ApiToken | None = None, session_key: str | None = None
) -> str:
    """A new ticket for `user`; the plaintext is returned once, never stored."""
    now = timezone.now()
    WebSocketTicket.objects.filter(expires_at__lt=now).delete()
    plaintext = secrets.token_urlsafe(32)
    WebSocketTicket.objects.create(
        user=user,
        token=token,
        session_key=session_key or "",
        digest=_digest(plaintext),
        expires_at=now + timedelta(seconds=settings.CHAT_TICKET_SECONDS),
    )
    return plaintext


def redeem_ticket(plaintext: str) -> WebSocketTicket | None:
    """The ticket, used up; None if unknown, expired, used or its access is gone."""
    if not isinstance(plaintext, str) or not TICKET_PATTERN.fullmatch(plaintext):
        return None
    # A digest of 256 random bits: looking it up by index leaks nothing useful.
    ticket = (
        WebSocketTicket.objects.select_related("user")
        .filter(digest=_digest(plaintext))
        .first()
    )
    if ticket is None:
        return None
    deleted, _ = WebSocketTicket.objects.filter(pk=ticket.pk).delete()
    if not deleted:
        return None  # another connection used it first
    if ticket.expires_at <= timezone.now() or not ticket.user.is_active:
        return None
    if (
        ticket.token_id is not None
        and not ApiToken.objects.usable().filter(pk=ticket.token_id).exists()
    ):
        return None
    return ticket
