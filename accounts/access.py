"""Losing access: a revoked token, a log-out, a deactivated account.

Each change is stored first; once it commits, `access_lost` is sent, and chat
(connected in its AppConfig.ready) tells the user's open WebSocket connections
that rested on what is gone to close, so access ends within moments, not at the
next reconnect. The API, the admin and the log-out signal all come through here.
"""

from django.db import transaction
from django.dispatch import Signal

from .models import ApiToken, User

# WebSocket close codes (docs/protocol.md).
CLOSE_UNAUTHENTICATED = 4401  # log in again
CLOSE_FORBIDDEN = 4403  # the account may no longer use the chat

# Sent after the commit, with user_id, code and optionally token_id or
# session_key: which of the user's connections must close, with which code.
access_lost = Signal()


def _after_commit(**news) -> None:
    transaction.on_commit(lambda: access_lost.send(sender=User, **news))


def token_revoked(token: ApiToken) -> None:
    """Close the connections opened with `token` (or a ticket made with it)."""
    _after_commit(user_id=token.user_id, code=CLOSE_UNAUTHENTICATED, token_id=token.pk)


def session_ended(*, user: User, session_key: str | None) -> None:
    """Close the connections of a session that logged out."""
    if not session_key:
        return
    _after_commit(user_id=user.pk, code=CLOSE_UNAUTHENTICATED, session_key=session_key)


def deactivate_user(user: User) -> bool:
    """Turn the account off; every open connection of it closes with 4403.

    Returns whether it was active. Its tokens stop working with it.
    """
    changed = User.objects.filter(pk=user.pk, is_active=True).update(is_active=False)
    user.is_active = False
    _after_commit(user_id=user.pk, code=CLOSE_FORBIDDEN)
    return bool(changed)
