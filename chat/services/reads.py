"""Read positions: how far a user has read a conversation.

A read position is the `last_read_id` of the user's membership (rooms and direct
conversations both have one per user). It only moves forward, never past the
conversation's newest message, and every change is told to the reader's own
connections (their other tabs clear their unread counts).
"""

from dataclasses import dataclass

from channels.db import database_sync_to_async
from django.db import transaction
from django.db.models import Max

from accounts.models import User
from chat import events
from chat.errors import InvalidInput
from chat.models import Conversation, Membership
from chat.selectors import (
    direct_conversation,
    parse_cursor,
    room_membership,
    unread_count,
    user_by_username,
)

from . import mentions, publish_after_commit


@dataclass(frozen=True)
class ReadPosition:
    """Where `user` has read `conversation` to, and what is left unread."""

    user: User
    conversation: Conversation | None
    room: str | None
    other: User | None
    read_id: int
    unread: int
    changed: bool
    # Messages after the read position that mention the user (chat.services.mentions).
    mentions: int = 0

    def news(self) -> dict:
        """The arguments of events.publish_read."""
        return {
            "user_id": self.user.pk,
            "room": self.room,
            "other": self.other,
            "read_id": self.read_id,
            "unread": self.unread,
            "mentions": self.mentions,
        }


def _membership(*, user: User, room, to) -> tuple[Membership | None, User | None]:
    if (room is None) == (to is None):
        raise InvalidInput("invalid", "Give exactly one of 'room' and 'to'.")
    if room is not None:
        return room_membership(user=user, slug=room), None
    other = user_by_username(to)
    if other.pk == user.pk:
        raise InvalidInput("invalid", "A direct conversation needs another user.")
    conversation = direct_conversation(user=user, other=other)
    if conversation is None:
        return None, other
    return Membership.objects.get(user=user, conversation=conversation), other


def store_read(*, user: User, room=None, to=None, message_id) -> ReadPosition:
    """Move `user`'s read position in a conversation forward to `message_id`.

    `room` is a room's slug, `to` the other user of a direct conversation. An id
    beyond the newest message is taken as the newest; an older id than the
    stored position changes nothing. A position that moves recounts the
    unread mentions after it, in the same transaction (mentions.recount).
    """
    wanted = parse_cursor(message_id, name="id")
    if wanted is None:
        raise InvalidInput("invalid", "'id' must be a message id (0 or more).")
    membership, other = _membership(user=user, room=room, to=to)
    if membership is None:  # a direct conversation not started: nothing to read
        return ReadPosition(user, None, None, other, 0, 0, changed=False)
    conversation = membership.conversation
    newest = conversation.messages.aggregate(newest=Max("id"))["newest"] or 0
    target = min(wanted, newest)
    with transaction.atomic():
        changed = bool(
            Membership.objects.filter(pk=membership.pk, last_read_id__lt=target).update(
                last_read_id=target
            )
        )
        read_id, unread_mentions = Membership.objects.values_list(
            "last_read_id", "unread_mentions"
        ).get(pk=membership.pk)
        if changed:
            unread_mentions = mentions.recount(membership=membership, read_id=read_id)
    return ReadPosition(
        user=user,
        conversation=conversation,
        room=conversation.slug if conversation.is_room else None,
        other=other,
        read_id=read_id,
        unread=unread_count(user=user, conversation=conversation, after=read_id),
        changed=changed,
        mentions=unread_mentions,
    )


async def amark_read(*, user: User, room=None, to=None, message_id) -> ReadPosition:
    """Store a read position, then tell the reader's connections if it moved."""
    position = await database_sync_to_async(store_read)(
        user=user, room=room, to=to, message_id=message_id
    )
    if position.changed:
        await events.publish_read(**position.news())
    return position


def mark_read(*, user: User, room=None, to=None, message_id) -> ReadPosition:
    """amark_read for HTTP views: tells the connections once the caller commits."""
    position = store_read(user=user, room=room, to=to, message_id=message_id)
    if position.changed:
        publish_after_commit(events.publish_read, **position.news())
    return position
