"""Losing access: a revoked token, a log-out, a deactivated account.

Each change is stored first; once it commits, the user's open WebSocket
connections that rested on what is gone are told to close (chat.events), so
access ends within moments, not at the next reconnect. The API, the admin and
the log-out signal all come through here.
"""

from chat import events
from chat.services import publish_after_commit

from .models import ApiToken, User

# WebSocket close codes (docs/protocol.md).
CLOSE_UNAUTHENTICATED = 4401  # log in again
CLOSE_FORBIDDEN = 4403  # the account may no longer use the chat


def token_revoked(token: ApiToken) -> None:
    """Close the connections opened with `token` (or a ticket made with it)."""
    publish_after_commit(
        events.publish_access_lost,
        user_id=token.user_id,
        code=CLOSE_UNAUTHENTICATED,
        token_id=token.pk,
    )


def session_ended(*, user: User, session_key: str | None) -> None:
    """Close the connections of a session that logged out."""
    if not session_key:
        return
    publish_after_commit(
        events.publish_access_lost,
        user_id=user.pk,
        code=CLOSE_UNAUTHENTICATED,
        session_key=session_key,
    )


def deactivate_user(user: User) -> bool:
    """Turn the account off; every open connection of it closes with 4403.

    Returns whether it was active. Its tokens stop working with it.
    """
    changed = User.objects.filter(pk=user.pk, is_active=True).update(is_active=False)
    user.is_active = False
    publish_after_commit(
        events.publish_access_lost, user_id=user.pk, code=CLOSE_FORBIDDEN
    )
    return bool(changed)
