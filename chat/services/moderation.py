"""Moderation: kicks, bans and timed mutes (roles are in chat.services.rooms).

Every action is checked (who may act on whom), stored, written to the audit
log in the same transaction, then told to the user's open connections after
the commit. A ban or mute holds until its `expires_at`: checks read the time,
so that an expiry needs no job to run first.
"""

from accounts.models import User
from chat.models import Ban, Conversation, Mute


def ban(
    *,
    slug,
    username,
    actor: User | None = None,
    reason="",
    expires_in=None,
) -> Ban:
    """Put a user out of a room and keep them out (for `expires_in` seconds,
    None: until lifted). Their open connections get room.left "banned"."""
    raise NotImplementedError


def unban(*, slug, username, actor: User | None = None, reason="") -> None:
    """Lift a user's ban of a room."""
    raise NotImplementedError


def mute(
    *,
    slug,
    username,
    actor: User | None = None,
    reason="",
    expires_in=None,
) -> Mute:
    """Let a user read a room but not write in it (for `expires_in` seconds)."""
    raise NotImplementedError


def unmute(*, slug, username, actor: User | None = None, reason="") -> None:
    """Lift a user's mute in a room."""
    raise NotImplementedError


def kick(
    *, slug, username, actor: User | None = None, reason=""
) -> tuple[Conversation, User, bool]:
    """Remove a member; they may join a public room again."""
    raise NotImplementedError


def active_ban(*, room: Conversation, user: User) -> Ban | None:
    """The ban of `user` from `room` in force now, if any."""
    raise NotImplementedError


def require_not_banned(*, room: Conversation, user: User) -> None:
    """Forbidden (saying until when) if `user` is banned from `room`: what
    joining, being added and accepting an invite check."""
    raise NotImplementedError
