"""Checks, reads only: whether a ban or a mute holds now (what joining, adding,
invites and writing check) and who may moderate whom. chat.services.moderation
makes and lifts the restrictions.

A restriction holds while its `expires_at` is unset or still ahead: the time
is read at each check, so that an expiry needs no job to run first.
"""

from datetime import datetime

from django.db.models import QuerySet

from accounts.models import User
from chat import events
from chat.errors import Forbidden, Muted
from chat.models import Ban, Conversation, Membership, Mute, Restriction
from chat.selectors import MODERATING_ROLES, role_in


def active_bans(room: Conversation) -> QuerySet:
    return Ban.objects.filter(Restriction.in_force(), room=room)


def active_mutes(room: Conversation) -> QuerySet:
    return Mute.objects.filter(Restriction.in_force(), room=room)


def active_ban(*, room: Conversation, user: User) -> Ban | None:
    """The ban of `user` from `room` in force now, if any."""
    return active_bans(room).filter(user=user).first()


def active_mute(*, room: Conversation, user: User) -> Mute | None:
    """The mute of `user` in `room` in force now, if any."""
    return active_mutes(room).filter(user=user).first()


def until_text(expires_at: datetime | None) -> str | None:
    """When a restriction ends, as answers show it (None: until lifted)."""
    return events.isoformat(expires_at) if expires_at is not None else None


def require_not_banned(*, room: Conversation, user: User) -> None:
    """Forbidden, saying until when, if `user` is banned from `room`: what
    joining, being added and accepting an invite check."""
    ban = active_ban(room=room, user=user)
    if ban is None:
        return
    until = until_text(ban.expires_at)
    when = f"until {until}" if until else "until the ban is lifted"
    raise Forbidden(f"'{user.username}' is banned from '{room.slug}' {when}.")


def require_not_muted(*, room: Conversation, user: User) -> None:
    """Muted (with "until") if `user` may not write in `room` now."""
    mute = active_mute(room=room, user=user)
    if mute is None:
        return
    until = until_text(mute.expires_at)
    when = f"until {until}" if until else "until the mute is lifted"
    raise Muted(f"You are muted in '{room.slug}' {when}.", until)


def require_power(
    *, actor: User | None, room: Conversation, target: User, what: str
) -> None:
    """Refuse unless `actor` may moderate `target` in `room` (Forbidden).

    Staff may anywhere, an owner over anyone, a moderator over plain members
    and strangers (never over an owner, another moderator or staff). None is
    trusted (the admin, a command).
    """
    if actor is None or actor.is_staff:
        return
    role = role_in(user=actor, conversation=room)
    if role not in MODERATING_ROLES:
        raise Forbidden(f"Only an owner or a moderator of '{room.slug}' {what}.")
    if role == Membership.Role.OWNER:
        return
    if target.is_staff or role_in(user=target, conversation=room) in MODERATING_ROLES:
        raise Forbidden(
            f"A moderator of '{room.slug}' cannot act on its owners, "
            "its other moderators or staff."
        )


def require_moderator(*, actor: User | None, room: Conversation, what: str) -> None:
    """Refuse unless `actor` is staff or an owner or moderator of `room`."""
    if actor is None or actor.is_staff:
        return
    if role_in(user=actor, conversation=room) not in MODERATING_ROLES:
        raise Forbidden(f"Only an owner or a moderator of '{room.slug}' {what}.")
