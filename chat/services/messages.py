"""Posting and purging messages.

The path of a message: validate, store in a transaction (idempotent on the
sender's client_id), let the caller acknowledge it, then fan it out. The store
commits before the acknowledgement, and the acknowledgement goes before the
fan-out, so a client never sees a message the database does not hold.
"""

import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta

from django.db import DatabaseError, IntegrityError, transaction
from django.utils import timezone

from accounts.models import User
from chat import events, ordering
from chat.errors import ChatError, InvalidInput, Unavailable
from chat.models import Conversation, Message
from chat.selectors import (
    room_membership,
    room_memberships,
    user_by_username,
    with_message_relations,
)

from . import publish_after_commit
from .rooms import direct_conversation_for
from .validation import clean_body, clean_client_id
from .writer import publisher, writer

logger = logging.getLogger(__name__)

OnStored = Callable[[Message, bool], Awaitable[None]]


def store_message(
    *, sender: User, room=None, to=None, body, client_id=None
) -> tuple[Message, bool]:
    """Store a message unless this sender already sent this client_id.

    Returns the message (new or the earlier one) and whether it is new.
    `room` is a room's slug, `to` a username; exactly one is given.
    """
    request = {"sender": sender, "room": room, "to": to, "body": body}
    (result,) = store_messages([{**request, "client_id": client_id}])
    if isinstance(result, Exception):
        raise result
    return result


StoreResult = tuple[Message, bool] | ChatError


def store_messages(requests: list[dict]) -> list[StoreResult]:
    """Store several senders' messages in one transaction (group commit).

    Each request takes store_message's keyword arguments; each answer is what
    store_message would return for it, or the error it would raise. One
    query finds the senders' rooms, one advisory lock and one commit serve the
    lot (ids still commit in order), one query finds what was sent before and
    one insert stores the rest; a refused or repeated message costs only itself.
    """
    results: list[StoreResult | None] = [None] * len(requests)
    try:
        ready = []
        conversations = _rooms_of_members(requests)
        for index, request in enumerate(requests):
            try:
                ready.append((index, _prepare(**request, seen=conversations)))
            except ChatError as exc:
                results[index] = exc
        if ready:
            try:
                _in_id_order(_insert_all, ready, results)
            except IntegrityError:
                # A collision after all (see _insert_all): nothing of the batch
                # was stored. Again, message by message.
                _in_id_order(_insert_each, ready, results)
    except DatabaseError as exc:
        logger.warning("messages not stored: %s", type(exc).__name__)
        return [
            result if isinstance(result, ChatError) else _unavailable(exc)
            for result in results
        ]
    return results


def _rooms_of_members(requests: list[dict]) -> dict:
    """The rooms the batch's senders write to as members, found in one query:
    `_prepare`'s `seen`, keyed as it keys them. What it leaves out is looked
    up alone, which refuses it with the reason (no such room, not a member)."""
    pairs = [
        (request["sender"].pk, request["room"])
        for request in requests
        if request.get("room") is not None and request.get("to") is None
    ]
    return {
        (user_id, slug, None): membership.conversation
        for (user_id, slug), membership in room_memberships(pairs).items()
    }


def _unavailable(cause: DatabaseError) -> Unavailable:
    error = Unavailable()
    error.__cause__ = cause
    return error


def _prepare(
    *, sender: User, room=None, to=None, body, client_id=None, seen: dict
) -> dict:
    """What to insert: checked input and the conversation (reads only).

    `seen` keeps the conversations found for this batch, by sender and target
    (the rooms of `_rooms_of_members` from the start): the same sender writing
    to the same conversation again in one batch is not looked up again.
    """
    body = clean_body(body)
    client_id = clean_client_id(client_id)
    if (room is None) == (to is None):
        raise InvalidInput("invalid", "Give exactly one of 'room' and 'to'.")
    key = (sender.pk, room, to)
    if not isinstance(room if room is not None else to, str):
        key = None  # not hashable, maybe; refused by the lookup anyway
    conversation = seen.get(key) if key is not None else None
    if conversation is None:
        conversation = _conversation_for(sender=sender, room=room, to=to)
        if key is not None:
            seen[key] = conversation
    return {
        "sender": sender,
        "conversation": conversation,
        "body": body,
        "client_id": client_id,
    }


def _in_id_order(insert, ready: list[tuple[int, dict]], results: list) -> None:
    """`insert(ready, results)` in a transaction of its own (a savepoint in a
    caller's), under the lock that makes ids commit in order (chat.ordering)."""
    with transaction.atomic():
        ordering.commit_in_id_order(ordering.MESSAGES)
        insert(ready, results)


def _insert_all(ready: list[tuple[int, dict]], results: list) -> None:
    """Store `ready` (index, fields) in one INSERT, skipping what each sender
    sent before (by client_id), and write each answer to results[index].

    Inside the ordering lock (PostgreSQL) or SQLite's single writer, no other
    message insert runs between the look for earlier client_ids and the insert,
    so the insert needs no savepoint of its own (two round trips): should it
    still collide, the IntegrityError undoes the whole transaction and the
    caller stores the batch again with `_insert_each`.
    """
    senders = {fields["sender"].pk for _, fields in ready}
    client_ids = {fields["client_id"] for _, fields in ready}
    earlier = {
        (message.sender_id, message.client_id): message
        for message in with_message_relations(
            Message.objects.filter(sender_id__in=senders, client_id__in=client_ids)
        )
    }
    new: dict[tuple[int, str], Message] = {}
    repeats = []
    for index, fields in ready:
        key = (fields["sender"].pk, fields["client_id"])
        if key in earlier:
            results[index] = (earlier[key], False)
        elif key in new:
            repeats.append((index, key))  # twice in this batch: stored once
        else:
            new[key] = Message(**fields)
            results[index] = (new[key], True)
    Message.objects.bulk_create(list(new.values()))
    if any(message.pk is None for message in new.values()):
        raise DatabaseError("the database did not return the new ids")
    for index, key in repeats:
        results[index] = (new[key], False)


def _insert_each(ready: list[tuple[int, dict]], results: list) -> None:
    """Store `ready` one message at a time (`_insert_once`): the slow way, for
    a batch whose single insert collided."""
    for index, fields in ready:
        results[index] = _insert_once(**fields)


def _insert_once(
    *, sender: User, conversation: Conversation, body: str, client_id
) -> tuple[Message, bool]:
    """Insert, or find what this sender already sent with this client_id."""
    try:
        with transaction.atomic():
            message = Message.objects.create(
                conversation=conversation, sender=sender, body=body, client_id=client_id
            )
    except IntegrityError:
        earlier = with_message_relations(
            Message.objects.filter(sender=sender, client_id=client_id)
        ).first()
        if earlier is None:
            raise
        return earlier, False
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
    message, created = await writer.store(
        sender=sender, room=room, to=to, body=body, client_id=client_id
    )
    if on_stored is not None:
        await on_stored(message, created)
    if created:
        await events.publish_message(message)
    return message, created


def submit_message(
    *,
    sender: User,
    room=None,
    to=None,
    body,
    client_id=None,
    on_stored: OnStored,
    on_failed: Callable[[Exception], Awaitable[None]],
) -> None:
    """asend_message without waiting for it: the consumer reads its next frame
    while this one is stored (so a busy sender's messages share a batch).

    Once stored: `on_stored`, then the fan-out (new messages only), both in the
    order the messages were submitted; `on_failed` with the error otherwise
    (a ChatError, or any other exception: a bug of ours).
    """

    async def answer(result) -> None:
        if isinstance(result, Exception):
            await on_failed(result)
            return
        message, created = result
        await on_stored(message, created)
        if created:
            await publisher.publish(message)

    request = {"sender": sender, "room": room, "to": to, "body": body}
    writer.submit({**request, "client_id": client_id}, answer)


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
