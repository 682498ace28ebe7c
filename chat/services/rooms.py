"""Rooms and memberships: creating, joining, leaving, adding members.

A change of membership is stored first, then the user's open connections are
told to join or leave the room's group, so that live messages follow at once.
"""

from dataclasses import dataclass
from http import HTTPStatus

from channels.db import database_sync_to_async
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from accounts.models import User
from chat import events
from chat.errors import ChatError, Forbidden, InvalidInput
from chat.models import Conversation, Membership, slug_validator
from chat.selectors import room_by_slug, user_by_username

from . import publish_after_commit


class RoomExists(ChatError):
    status = HTTPStatus.CONFLICT

    def __init__(self, slug: str):
        super().__init__("exists", f"A room named '{slug}' exists already.")


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
                owner=owner,
            )
            if owner is not None:
                Membership.objects.create(
                    conversation=room, user=owner, role=Membership.Role.OWNER
                )
    except IntegrityError:
        raise RoomExists(slug) from None
    return room


def update_room(
    *, room: Conversation, title: str | None, is_private: bool
) -> Conversation:
    """Change a room's title or privacy (its slug and owner stay as made)."""
    _check_title(title)
    room.title = title or room.slug or ""
    room.is_private = bool(is_private)
    room.save(update_fields=["title", "is_private"])
    return room


def _check_title(title) -> None:
    if not isinstance(title, str) or len(title) > 200:
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

    def news(self, origin: str | None) -> dict:
        """The arguments of events.publish_membership for this change."""
        return {
            "user_id": self.user.pk,
            "conversation": self.room,
            "joined": self.joined,
            "origin": origin,
        }


def _join(*, user: User, slug) -> MembershipChange:
    room = room_by_slug(slug)
    if Membership.objects.filter(user=user, conversation=room).exists():
        return MembershipChange(room, user, joined=True, changed=False)
    if room.is_private and room.owner_id != user.pk:
        raise Forbidden(f"'{room.slug}' is private: its owner adds its members.")
    _, created = Membership.objects.get_or_create(user=user, conversation=room)
    return MembershipChange(room, user, joined=True, changed=created)


def _leave(*, user: User, slug) -> MembershipChange:
    room = room_by_slug(slug)
    deleted, _ = Membership.objects.filter(user=user, conversation=room).delete()
    return MembershipChange(room, user, joined=False, changed=bool(deleted))


def _add_member(*, slug, username, actor: User | None) -> MembershipChange:
    room = room_by_slug(slug)
    if actor is not None and not _may_manage(actor, room):
        raise Forbidden(f"Only the owner of '{room.slug}' adds its members.")
    user = user_by_username(username)
    _, created = Membership.objects.get_or_create(user=user, conversation=room)
    return MembershipChange(room, user, joined=True, changed=created)


def _remove_member(*, slug, username, actor: User | None) -> MembershipChange:
    room = room_by_slug(slug)
    if actor is not None and not _may_manage(actor, room):
        raise Forbidden(f"Only the owner of '{room.slug}' removes its members.")
    user = user_by_username(username)
    deleted, _ = Membership.objects.filter(user=user, conversation=room).delete()
    return MembershipChange(room, user, joined=False, changed=bool(deleted))


def _may_manage(actor: User, room: Conversation) -> bool:
    return actor.is_staff or room.owner_id == actor.pk


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
    *, slug, username, actor: User | None = None
) -> tuple[Conversation, User, bool]:
    """Remove a user from a room; their connections leave its group at once."""
    change = await _apply(_remove_member, slug=slug, username=username, actor=actor)
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
    *, slug, username, actor: User | None = None
) -> tuple[Conversation, User, bool]:
    change = _apply_in_transaction(
        _remove_member, slug=slug, username=username, actor=actor
    )
    return change.room, change.user, change.changed
