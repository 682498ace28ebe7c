"""Posting and purging messages.

The path of a message: validate, store in a transaction (idempotent on the
sender's client_id), let the caller acknowledge it, then fan it out. The store
commits before the acknowledgement, and the acknowledgement goes before the
fan-out, so a client never sees a message the database does not hold.
"""

import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta

from channels.db import database_sync_to_async
from django.db import DatabaseError, IntegrityError, transaction
from django.utils import timezone

from accounts.models import User
from chat import events, ordering
from chat.errors import InvalidInput, Unavailable
from chat.models import Conversation, Message
from chat.selectors import room_membership, user_by_username, with_message_relations

from . import publish_after_commit
from .rooms import direct_conversation_for
from .validation import clean_body, clean_client_id

logger = logging.getLogger(__name__)

OnStored = Callable[[Message, bool], Awaitable[None]]


def store_message(
    *, sender: User, room=None, to=None, body, client_id=None
) -> tuple[Message, bool]:
    """Store a message unless this sender already sent this client_id.

    Returns the message (new or the earlier one) and whether it is new.
    `room` is a room's slug, `to` a username; exactly one is given.
    """
    body = clean_body(body)
    client_id = clean_client_id(client_id)
    if (room is None) == (to is None):
        raise InvalidInput("invalid", "Give exactly one of 'room' and 'to'.")
    try:
        conversation = _conversation_for(sender=sender, room=room, to=to)
        try:
            with transaction.atomic():
                ordering.commit_in_id_order(ordering.MESSAGES)
                message = Message.objects.create(
                    conversation=conversation,
                    sender=sender,
                    body=body,
                    client_id=client_id,
                )
        except IntegrityError:
            earlier = with_message_relations(
                Message.objects.filter(sender=sender, client_id=client_id)
            ).first()
            if earlier is None:
                raise
            return earlier, False
    except DatabaseError as exc:
        logger.warning("message not stored: %s", type(exc).__name__)
        raise Unavailable() from exc
    message.sender = sender
    return message, True


def _conversation_for(*, sender: User, room, to) -> Conversation:
    if room is not None:
        return room_membership(user=sender, slug=room).conversation
    other = user_by_username(to)
    if other.pk == sender.pk:
        raise InvalidInput("invalid", "A direct message needs another user.")
    return direct_conversation_for(sender, other)


async def asend_message(
    *,
    sender: User,
    room=None,
    to=None,
    body,
    client_id=None,
    on_stored: OnStored | None = None,
) -> tuple[Message, bool]:
    """Store, let `on_stored` acknowledge, then fan out (new messages only)."""
    message, created = await database_sync_to_async(store_message)(
        sender=sender, room=room, to=to, body=body, client_id=client_id
    )
    if on_stored is not None:
        await on_stored(message, created)
    if created:
        await events.publish_message(message)
    return message, created


def send_message(
    *, sender: User, room=None, to=None, body, client_id=None
) -> tuple[Message, bool]:
    """asend_message for sync callers: HTTP views, the admin, commands.

    Stores in the caller's transaction and fans out after it commits.
    """
    message, created = store_message(
        sender=sender, room=room, to=to, body=body, client_id=client_id
    )
    if created:
        publish_after_commit(events.publish_message, message=message)
    return message, created


def purge_messages(*, older_than_days: int, dry_run: bool = False) -> int:
    """Delete messages older than the given number of days; returns how many."""
    if older_than_days < 0:
        raise InvalidInput("invalid", "--older-than must be 0 or more days.")
    cutoff = timezone.now() - timedelta(days=older_than_days)
    old = Message.objects.filter(created_at__lt=cutoff)
    if dry_run:
        return old.count()
    _, per_model = old.delete()
    return per_model.get(Message._meta.label, 0)
