"""Rooms and memberships: creating, changing, deleting, joining, leaving, roles.

A change is stored first, then the users' open connections are told (after the
commit): to join or leave the room's group, so that live messages follow or
stop at once, or of the room's new state. A room's owners are its memberships
with the owner role; a room that has owners always keeps at least one.
"""

from dataclasses import dataclass
from http import HTTPStatus

from channels.db import database_sync_to_async
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from accounts.models import User
from chat import events
from chat.errors import ChatError, Forbidden, InvalidInput, NotFound
from chat.models import AuditEntry, Conversation, Membership, slug_validator
from chat.selectors import member_count, room_by_slug, room_owner, user_by_username
from chat.text import is_storable

from . import audit, publish_after_commit
from .restrictions import require_not_banned, require_power

ROLES = (Membership.Role.OWNER, Membership.Role.MODERATOR, Membership.Role.MEMBER)


class RoomExists(ChatError):
    status = HTTPStatus.CONFLICT

    def __init__(self, slug: str):
        super().__init__("exists", f"A room named '{slug}' exists already.")


class LastOwner(ChatError):
    """The change would leave a room that has owners with none."""

    status = HTTPStatus.CONFLICT

    def __init__(self, username: str, slug: str):
        super().__init__(
            "last_owner",
            f"'{username}' is the last owner of '{slug}': name a new owner first.",
        )


def create_room(
    *, slug, owner: User | None = None, title="", is_private: bool = False
) -> Conversation:
    """Make a room; its owner, if any, is its first member."""
    if not isinstance(slug, str):
        raise InvalidInput("invalid", "'slug' must be a string.")
    try:
        slug_validator(slug)
    except ValidationError as exc:
        raise InvalidInput("invalid", exc.messages[0]) from None
    _check_title(title)
    try:
        with transaction.atomic():
            room = Conversation.objects.create(
                kind=Conversation.Kind.ROOM,
                slug=slug,
                title=title or slug,
                is_private=bool(is_private),
            )
            if owner is not None:
                Membership.objects.create(
                    conversation=room, user=owner, role=Membership.Role.OWNER
                )
    except IntegrityError:
        raise RoomExists(slug) from None
    return room


_UNCHANGED = object()


def update_room(
    *,
    room: Conversation,
    title=_UNCHANGED,
    is_private=_UNCHANGED,
    actor: User | None = None,
) -> Conversation:
    """Rename a room or make it public or private (its slug stays as made).

    `actor` must own it or be staff; None is trusted (the admin, a command).
    A change reaches the room's open connections as `room.updated`.
    """
    if actor is not None:
        _require_manager(actor, room, "changes it")
    if title is not _UNCHANGED:
        _check_title(title)
    if is_private is not _UNCHANGED and not isinstance(is_private, bool):
        raise InvalidInput("invalid", "'private' must be true or false.")
    before = (room.title, room.is_private)
    if title is not _UNCHANGED:
        room.title = str(title or room.slug)
    if is_private is not _UNCHANGED:
        room.is_private = bool(is_private)
    if (room.title, room.is_private) != before:
        room.save(update_fields=["title", "is_private"])
        _publish_room_state(room)
    return room


def update_room_by_slug(*, slug, actor: User | None = None, **changes) -> Conversation:
    """update_room for a room named by its slug (the HTTP API)."""
    return update_room(room=room_by_slug(slug), actor=actor, **changes)


def delete_room(*, room: Conversation, actor: User | None = None) -> None:
    """Delete a room with its memberships and messages.

    Its members' open connections get `room.left` with the reason "deleted"
    once the deletion is committed.
    """
    if actor is not None:
        _require_manager(actor, room, "deletes it")
    with transaction.atomic():
        user_ids = list(
            Membership.objects.filter(conversation=room)
            .order_by("pk")
            .values_list("user_id", flat=True)
        )
        # What the frames name, kept from before the row goes.
        gone = Conversation(
            pk=room.pk,
            kind=room.kind,
            slug=room.slug,
            title=room.title,
            is_private=room.is_private,
        )
        room.delete()
    if user_ids:
        publish_after_commit(
            events.publish_room_deleted, conversation=gone, user_ids=user_ids
        )


def delete_room_by_slug(*, slug, actor: User | None = None) -> None:
    delete_room(room=room_by_slug(slug), actor=actor)


def set_role(
    *, slug, username, role, actor: User | None = None, reason=""
) -> Membership:
    """Make a member an owner, a moderator or a plain member.

    `actor` must own the room or be staff; None is trusted. The last owner
    cannot step down: LastOwner. A change goes to the audit log.
    """
    room = room_by_slug(slug)
    if actor is not None:
        _require_manager(actor, room, "sets its roles")
    if not isinstance(role, str) or role not in ROLES:
        raise InvalidInput(
            "invalid", f"'role' must be one of: {', '.join(r.value for r in ROLES)}."
        )
    user = user_by_username(username)
    with transaction.atomic():
        membership = _membership_for_update(room, user)
        if membership.role == role:
            return membership
        if membership.role == Membership.Role.OWNER:
            _keep_an_owner(room, user)
        before, membership.role = membership.role, role
        membership.save(update_fields=["role"])
        audit.record(
            actor=actor,
            action=AuditEntry.Action.ROLE_CHANGED,
            room=room,
            target=user,
            reason=clean_reason(reason),
            detail={"from": before, "to": role},
        )
    _publish_room_state(room)
    return membership


def _membership_for_update(room: Conversation, user: User) -> Membership:
    membership = (
        Membership.objects.select_for_update()
        .filter(conversation=room, user=user)
        .first()
    )
    if membership is None:
        raise NotFound(f"'{user.username}' is not a member of '{room.slug}'.")
    return membership


def _keep_an_owner(room: Conversation, user: User) -> None:
    """Refuse to let `user`, an owner of `room`, stop being one if no other is.

    Locks the room's owner rows, so that two owners stepping down at once cannot
    both pass.
    """
    owners = list(
        Membership.objects.select_for_update()
        .filter(conversation=room, role=Membership.Role.OWNER)
        .values_list("user_id", flat=True)
    )
    if owners == [user.pk]:
        raise LastOwner(user.username, str(room.slug))


def _publish_room_state(room: Conversation) -> None:
    """Tell the room's connections of its title, privacy and owner, on commit."""
    text = events.room_updated_frame(
        room, owner=room_owner(room), members=member_count(room)
    )
    publish_after_commit(
        events.publish_room_updated, conversation_id=room.pk, text=text
    )


def _check_title(title) -> None:
    if not isinstance(title, str) or len(title) > 200 or not is_storable(title):
        raise InvalidInput("invalid", "'title' must be text of at most 200 characters.")


def direct_conversation_for(user: User, other: User) -> Conversation:
    """The one direct conversation of two users, made on first use."""
    low, high = sorted([user, other], key=lambda u: u.pk)
    lookup = {"kind": Conversation.Kind.DIRECT, "direct_low": low, "direct_high": high}
    conversation = Conversation.objects.filter(**lookup).first()
    if conversation is None:
        try:
            with transaction.atomic():
                conversation = Conversation.objects.create(**lookup)
                Membership.objects.bulk_create(
                    [
                        Membership(conversation=conversation, user=low),
                        Membership(conversation=conversation, user=high),
                    ]
                )
        except IntegrityError:
            conversation = Conversation.objects.get(**lookup)
    conversation.direct_low, conversation.direct_high = low, high
    return conversation


@dataclass(frozen=True)
class MembershipChange:
    """A user going into (`joined`) or out of a room; `changed` if it took effect."""

    room: Conversation
    user: User
    joined: bool
    changed: bool
    reason: str = "left"

    def news(self, origin: str | None) -> dict:
        """The arguments of events.publish_membership for this change."""
        return {
            "user_id": self.user.pk,
            "conversation": self.room,
            "joined": self.joined,
            "origin": origin,
            "reason": self.reason,
        }


def _join(*, user: User, slug) -> MembershipChange:
    room = room_by_slug(slug)
    if Membership.objects.filter(user=user, conversation=room).exists():
        return MembershipChange(room, user, joined=True, changed=False)
    require_not_banned(room=room, user=user)
    if room.is_private:
        raise Forbidden(f"'{room.slug}' is private: its owner adds its members.")
    _, created = Membership.objects.get_or_create(user=user, conversation=room)
    return MembershipChange(room, user, joined=True, changed=created)


def _leave(*, user: User, slug) -> MembershipChange:
    room = room_by_slug(slug)
    changed = end_membership(room, user)
    return MembershipChange(room, user, joined=False, changed=changed)


def end_membership(room: Conversation, user: User) -> bool:
    """Delete `user`'s membership of `room`, unless they are its last owner;
    whether there was one (in the caller's transaction, if any)."""
    with transaction.atomic():
        membership = (
            Membership.objects.select_for_update()
            .filter(user=user, conversation=room)
            .first()
        )
        if membership is None:
            return False
        if membership.role == Membership.Role.OWNER:
            _keep_an_owner(room, user)
        membership.delete()
    return True


def _add_member(*, slug, username, actor: User | None) -> MembershipChange:
    room = room_by_slug(slug)
    if actor is not None:
        _require_manager(actor, room, "adds its members")
    user = user_by_username(username)
    require_not_banned(room=room, user=user)
    _, created = Membership.objects.get_or_create(user=user, conversation=room)
    return MembershipChange(room, user, joined=True, changed=created)


def _remove_member(
    *, slug, username, actor: User | None, reason=""
) -> MembershipChange:
    """Removing oneself is leaving; anyone else's removal is a kick, by an
    owner or a moderator (over members only), recorded in the audit log."""
    room = room_by_slug(slug)
    user = user_by_username(username)
    if actor is not None and actor.pk == user.pk:
        changed = end_membership(room, user)
        return MembershipChange(room, user, joined=False, changed=changed)
    require_power(actor=actor, room=room, target=user, what="removes its members")
    reason = clean_reason(reason)
    with transaction.atomic():
        changed = end_membership(room, user)
        if changed:
            audit.record(
                actor=actor,
                action=AuditEntry.Action.KICKED,
                room=room,
                target=user,
                reason=reason,
            )
    return MembershipChange(room, user, joined=False, changed=changed, reason="kicked")


def clean_reason(reason) -> str:
    """A moderator's reason: text of at most 500 characters ("" if not given)."""
    if reason is None:
        return ""
    if not isinstance(reason, str) or len(reason) > 500 or not is_storable(reason):
        raise InvalidInput(
            "invalid", "'reason' must be text of at most 500 characters."
        )
    return reason.strip()


def _require_manager(actor: User, room: Conversation, what: str) -> None:
    """Staff and the room's owners manage it; anyone else: Forbidden."""
    if actor.is_staff:
        return
    if not Membership.objects.filter(
        user=actor, conversation=room, role=Membership.Role.OWNER
    ).exists():
        raise Forbidden(f"Only an owner of '{room.slug}' {what}.")


async def _apply(change_membership, *, origin=None, **kwargs) -> MembershipChange:
    """Store the change, then tell the user's open connections (async form)."""
    change = await database_sync_to_async(change_membership)(**kwargs)
    if change.changed:
        await events.publish_membership(**change.news(origin))
    return change


def _apply_in_transaction(
    change_membership, *, origin=None, **kwargs
) -> MembershipChange:
    """Store the change in the caller's transaction; tell connections on commit."""
    change = change_membership(**kwargs)
    if change.changed:
        publish_after_commit(events.publish_membership, **change.news(origin))
    return change


async def ajoin_room(
    *, user: User, slug, origin: str | None = None
) -> tuple[Conversation, bool]:
    """Join a room: anyone a public one, only its owner a private one.

    Returns the room and whether the user was not a member before. `origin` is
    the channel asking, which joins the room's group itself.
    """
    change = await _apply(_join, origin=origin, user=user, slug=slug)
    return change.room, change.changed


async def aleave_room(
    *, user: User, slug, origin: str | None = None
) -> tuple[Conversation, bool]:
    """Leave a room (nothing happens if the user was not in it)."""
    change = await _apply(_leave, origin=origin, user=user, slug=slug)
    return change.room, change.changed


async def aadd_member(
    *, slug, username, actor: User | None = None
) -> tuple[Conversation, User, bool]:
    """Add a user to a room. `actor` must own it or be staff; None is trusted."""
    change = await _apply(_add_member, slug=slug, username=username, actor=actor)
    return change.room, change.user, change.changed


async def aremove_member(
    *, slug, username, actor: User | None = None, reason=""
) -> tuple[Conversation, User, bool]:
    """Remove a user from a room; their connections leave its group at once."""
    change = await _apply(
        _remove_member, slug=slug, username=username, actor=actor, reason=reason
    )
    return change.room, change.user, change.changed


def join_room(
    *, user: User, slug, origin: str | None = None
) -> tuple[Conversation, bool]:
    change = _apply_in_transaction(_join, origin=origin, user=user, slug=slug)
    return change.room, change.changed


def leave_room(
    *, user: User, slug, origin: str | None = None
) -> tuple[Conversation, bool]:
    change = _apply_in_transaction(_leave, origin=origin, user=user, slug=slug)
    return change.room, change.changed


def add_member(
    *, slug, username, actor: User | None = None
) -> tuple[Conversation, User, bool]:
    change = _apply_in_transaction(
        _add_member, slug=slug, username=username, actor=actor
    )
    return change.room, change.user, change.changed


def remove_member(
    *, slug, username, actor: User | None = None, reason=""
) -> tuple[Conversation, User, bool]:
    """Remove a user from a room (a kick, unless `actor` is the user)."""
    change = _apply_in_transaction(
        _remove_member, slug=slug, username=username, actor=actor, reason=reason
    )
    return change.room, change.user, change.changed
