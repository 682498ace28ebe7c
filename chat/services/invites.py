"""Invite links: made and revoked by a room's moderators, accepted by anyone
who holds one (and is not banned).

A code is 144 random bits (chat.models._invite_code). Whether an invite can
still be used (revoked, expired, used up) is read at use, under a lock on its
row, so that two people accepting the last use at once cannot both join. An
unusable code and an unknown one get the same answer: its holder learns
nothing of which it is.
"""

from datetime import timedelta

from django.db import transaction
from django.db.models import F, Q, QuerySet
from django.utils import timezone

from accounts.models import User
from chat import events
from chat.errors import InvalidInput, NotFound
from chat.models import AuditEntry, Conversation, Invite, Membership
from chat.selectors import room_by_slug
from chat.text import is_storable

from . import audit, moderation, publish_after_commit
from .restrictions import require_moderator

# The longest an invite may last, and the most joins it may allow.
MAX_EXPIRES_IN = 366 * 24 * 3600
MAX_USES = 100_000


def _not_found() -> NotFound:
    # One answer for unknown, expired, used up and revoked: never say which.
    return NotFound("This invite link is not valid (it may have expired).")


def _optional_count(value, field: str, most: int):
    """A whole number from 1 to `most`, or None (no limit)."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= most:
        raise InvalidInput(
            "invalid", f"'{field}' must be a whole number from 1 to {most}, or null."
        )
    return value


def invite_path(invite: Invite) -> str:
    """The page that offers to join (chat.moderation_views.invite)."""
    return f"/invite/{invite.code}/"


def invite_payload(invite: Invite, *, origin: str = "") -> dict:
    """An invite as the API shows it to the room's moderators; `origin`
    (`https://host`) makes its url whole, to be copied and handed on."""
    return {
        "code": invite.code,
        "url": origin + invite_path(invite),
        "room": invite.conversation.slug,
        "expires_at": events.isoformat(invite.expires_at)
        if invite.expires_at
        else None,
        "max_uses": invite.max_uses,
        "uses": invite.uses,
        "created_at": events.isoformat(invite.created_at),
        "created_by": events.user_payload(invite.created_by)
        if invite.created_by
        else None,
    }


def create_invite(
    *, slug, actor: User | None = None, expires_in=None, max_uses=None
) -> Invite:
    """Make an invite to a room, for `expires_in` seconds and `max_uses` joins
    (None: no limit). `actor` must moderate the room; None is trusted."""
    room = room_by_slug(slug)
    require_moderator(actor=actor, room=room, what="makes its invite links")
    seconds = _optional_count(expires_in, "expires_in", MAX_EXPIRES_IN)
    uses = _optional_count(max_uses, "max_uses", MAX_USES)
    now = timezone.now()
    with transaction.atomic():
        invite = Invite.objects.create(
            conversation=room,
            created_by=actor,
            created_at=now,
            expires_at=now + timedelta(seconds=seconds) if seconds else None,
            max_uses=uses,
        )
        audit.record(
            actor=actor,
            action=AuditEntry.Action.INVITE_CREATED,
            room=room,
            detail={
                "code": invite.code[:6],
                "expires_in": seconds,
                "max_uses": uses,
            },
        )
    return invite


def room_invites(*, slug, actor: User | None = None) -> list[Invite]:
    """A room's invites that can still be used, the newest first."""
    room = room_by_slug(slug)
    require_moderator(actor=actor, room=room, what="sees its invite links")
    return list(
        usable_invites(Invite.objects.filter(conversation=room))
        .select_related("conversation", "created_by")
        .order_by("-id")
    )


def usable_invites(invites: QuerySet, now=None) -> QuerySet:
    """The invites of `invites` not revoked, expired or used up at `now`."""
    now = now or timezone.now()
    return invites.filter(
        Q(expires_at__isnull=True) | Q(expires_at__gt=now),
        Q(max_uses__isnull=True) | Q(uses__lt=F("max_uses")),
        revoked_at__isnull=True,
    )


def _code(value) -> str:
    if not isinstance(value, str) or not value or not is_storable(value):
        raise _not_found()
    return value


def usable_invite(code) -> Invite:
    """The invite of this code if it can be used now, with its room."""
    invite = (
        usable_invites(Invite.objects.filter(code=_code(code)))
        .select_related("conversation")
        .first()
    )
    if invite is None:
        raise _not_found()
    return invite


def revoke_invite(*, code, actor: User | None = None, slug=None) -> Invite:
    """End an invite (also one already unusable); `slug`, if given, must be
    its room. A second revocation changes nothing and records nothing."""
    with transaction.atomic():
        invite = (
            Invite.objects.select_for_update(of=("self",))
            .select_related("conversation")
            .filter(code=_code(code))
            .first()
        )
        if invite is None or (slug is not None and invite.conversation.slug != slug):
            raise _not_found()
        room = invite.conversation
        require_moderator(actor=actor, room=room, what="revokes its invite links")
        if invite.revoked_at is not None:
            return invite
        invite.revoked_at = timezone.now()
        invite.save(update_fields=["revoked_at"])
        audit.record(
            actor=actor,
            action=AuditEntry.Action.INVITE_REVOKED,
            room=room,
            detail={"code": invite.code[:6], "uses": invite.uses},
        )
    return invite


def accept_invite(*, code, user: User) -> tuple[Conversation, bool]:
    """Join the invite's room: the room and whether `user` joined just now.

    A member already uses nothing up. A banned user is refused (Forbidden,
    saying until when). The user's open connections join the room's group once
    the join commits.
    """
    with transaction.atomic():
        invite = (
            usable_invites(Invite.objects.select_for_update(of=("self",)))
            .select_related("conversation")
            .filter(code=_code(code))
            .first()
        )
        if invite is None:
            raise _not_found()
        room = invite.conversation
        if Membership.objects.filter(user=user, conversation=room).exists():
            return room, False
        moderation.require_not_banned(room=room, user=user)
        Membership.objects.create(user=user, conversation=room)
        Invite.objects.filter(pk=invite.pk).update(uses=F("uses") + 1)
    publish_after_commit(
        events.publish_membership, user_id=user.pk, conversation=room, joined=True
    )
    return room, True
