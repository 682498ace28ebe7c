"""Moderation: kicks, bans and timed mutes (roles are in chat.services.rooms).

Every action is checked (who may act on whom: restrictions.require_power),
stored, written to the audit log in the same transaction, then told to the
user's open connections after the commit. A ban or mute holds until its
`expires_at`: checks read the time, so that an expiry needs no job to run
first. Lifting one deletes its row; the audit log keeps the story.
"""

from datetime import timedelta
from typing import TypeVar

from django.db import transaction
from django.utils import timezone

from accounts.models import User
from chat import events
from chat.errors import InvalidInput, NotFound
from chat.models import AuditEntry, Ban, Conversation, Mute
from chat.selectors import room_by_slug, user_by_username

from . import audit, publish_after_commit
from .restrictions import (
    active_ban,
    active_bans,
    active_mute,
    active_mutes,
    require_moderator,
    require_not_banned,
    require_power,
    until_text,
)
from .rooms import clean_reason, end_membership, remove_member

__all__ = [
    "active_ban",
    "active_mute",
    "ban",
    "bans_of",
    "kick",
    "mute",
    "mutes_of",
    "require_not_banned",
    "unban",
    "unmute",
]

# A restriction's model: what _restrict stores and returns.
R = TypeVar("R", Ban, Mute)

# The longest restriction a duration can give: about ten years (longer: none).
MAX_EXPIRES_IN = 10 * 366 * 24 * 3600


def clean_expires_in(value) -> int | None:
    """Seconds from now, 1 to MAX_EXPIRES_IN, or None (until lifted)."""
    if value is None:
        return None
    if isinstance(value, str) and value.isascii() and value.isdigit():
        value = int(value)
    if (
        isinstance(value, bool)
        or not isinstance(value, int)
        or not 0 < value <= MAX_EXPIRES_IN
    ):
        raise InvalidInput(
            "invalid",
            f"'expires_in' must be a number of seconds from 1 to {MAX_EXPIRES_IN}, "
            "or null (until lifted).",
        )
    return value


def _expires_at(expires_in):
    seconds = clean_expires_in(expires_in)
    return None if seconds is None else timezone.now() + timedelta(seconds=seconds)


def _not_yourself(actor: User | None, user: User, what: str) -> None:
    if actor is not None and actor.pk == user.pk:
        raise InvalidInput("invalid", f"You cannot {what} yourself.")


def _audit_detail(expires_at) -> dict:
    return {"expires_at": until_text(expires_at)}


def _restrict(kind: type[R], *, room, user, actor, reason, expires_at, action) -> R:
    """Store a ban or mute (`kind`), replacing the one in force, and log it;
    in the caller's transaction."""
    restriction, _ = kind.objects.update_or_create(
        room=room,
        user=user,
        defaults={
            "actor": actor,
            "reason": reason,
            "created_at": timezone.now(),
            "expires_at": expires_at,
        },
    )
    audit.record(
        actor=actor,
        action=action,
        room=room,
        target=user,
        reason=reason,
        detail=_audit_detail(expires_at),
    )
    return restriction


def _lift(kind, *, slug, username, actor, reason, what: str, action) -> None:
    """Delete the ban or mute (`kind`) in force, and log it (NotFound if none)."""
    room, user = room_by_slug(slug), user_by_username(username)
    reason = clean_reason(reason)
    require_power(actor=actor, room=room, target=user, what=f"lifts its {what}s")
    active = active_ban if kind is Ban else active_mute
    with transaction.atomic():
        if active(room=room, user=user) is None:
            state = "banned from" if kind is Ban else "muted in"
            raise NotFound(f"'{user.username}' is not {state} '{room.slug}'.")
        kind.objects.filter(room=room, user=user).delete()
        audit.record(actor=actor, action=action, room=room, target=user, reason=reason)


def ban(
    *,
    slug,
    username,
    actor: User | None = None,
    reason="",
    expires_in=None,
) -> Ban:
    """Put a user out of a room and keep them out (for `expires_in` seconds,
    None: until lifted). Their open connections get room.left "banned".

    A ban given again replaces the one in force (its reason and expiry).
    The room's last owner cannot be banned (LastOwner).
    """
    room, user = room_by_slug(slug), user_by_username(username)
    _not_yourself(actor, user, "ban")
    reason, expires_at = clean_reason(reason), _expires_at(expires_in)
    require_power(actor=actor, room=room, target=user, what="bans its members")
    with transaction.atomic():
        removed = end_membership(room, user)
        restriction = _restrict(
            Ban,
            room=room,
            user=user,
            actor=actor,
            reason=reason,
            expires_at=expires_at,
            action=AuditEntry.Action.BANNED,
        )
    if removed:
        publish_after_commit(
            events.publish_membership,
            user_id=user.pk,
            conversation=room,
            joined=False,
            reason="banned",
        )
    return restriction


def unban(*, slug, username, actor: User | None = None, reason="") -> None:
    """Lift a user's ban of a room (NotFound if none is in force)."""
    _lift(
        Ban,
        slug=slug,
        username=username,
        actor=actor,
        reason=reason,
        what="ban",
        action=AuditEntry.Action.UNBANNED,
    )


def mute(
    *,
    slug,
    username,
    actor: User | None = None,
    reason="",
    expires_in=None,
) -> Mute:
    """Let a user read a room but not write in it (for `expires_in` seconds,
    None: until lifted): message.send, edits and reactions get `muted`.

    A mute given again replaces the one in force.
    """
    room, user = room_by_slug(slug), user_by_username(username)
    _not_yourself(actor, user, "mute")
    reason, expires_at = clean_reason(reason), _expires_at(expires_in)
    require_power(actor=actor, room=room, target=user, what="mutes its members")
    with transaction.atomic():
        return _restrict(
            Mute,
            room=room,
            user=user,
            actor=actor,
            reason=reason,
            expires_at=expires_at,
            action=AuditEntry.Action.MUTED,
        )


def unmute(*, slug, username, actor: User | None = None, reason="") -> None:
    """Lift a user's mute in a room (NotFound if none is in force)."""
    _lift(
        Mute,
        slug=slug,
        username=username,
        actor=actor,
        reason=reason,
        what="mute",
        action=AuditEntry.Action.UNMUTED,
    )


def kick(
    *, slug, username, actor: User | None = None, reason=""
) -> tuple[Conversation, User, bool]:
    """Remove a member; they may join a public room again (rooms.remove_member:
    their connections get room.left "kicked")."""
    if actor is not None and isinstance(username, str) and actor.username == username:
        raise InvalidInput("invalid", "You cannot kick yourself: leave the room.")
    return remove_member(slug=slug, username=username, actor=actor, reason=reason)


def bans_of(*, slug, actor: User | None = None) -> list[Ban]:
    """The bans in force in a room, the newest first (for its moderators)."""
    room = room_by_slug(slug)
    require_moderator(actor=actor, room=room, what="sees its bans")
    return list(
        active_bans(room).select_related("user", "actor").order_by("-created_at")
    )


def mutes_of(*, slug, actor: User | None = None) -> list[Mute]:
    """The mutes in force in a room, the newest first (for its moderators)."""
    room = room_by_slug(slug)
    require_moderator(actor=actor, room=room, what="sees its mutes")
    return list(
        active_mutes(room).select_related("user", "actor").order_by("-created_at")
    )


def restriction_payload(restriction: Ban | Mute) -> dict:
    """A ban or a mute as the HTTP API shows it."""
    return {
        "user": events.user_payload(restriction.user),
        "reason": restriction.reason,
        "by": events.user_payload(restriction.actor) if restriction.actor else None,
        "created_at": events.isoformat(restriction.created_at),
        "expires_at": until_text(restriction.expires_at),
    }
