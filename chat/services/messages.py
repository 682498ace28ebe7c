"""Posting and purging messages.

The path of a message: validate, store in a transaction (idempotent on the
sender's client_id), let the caller acknowledge it, then fan it out. The store
commits before the acknowledgement, and the acknowledgement goes before the
fan-out, so a client never sees a message the database does not hold.
"""

import contextlib
import logging
from collections.abc import Iterable
from datetime import timedelta
from typing import cast

from django.db import DatabaseError, IntegrityError, connection, transaction
from django.utils import timezone

from accounts.models import User
from chat import events, ordering
from chat.errors import ChatError, InvalidInput, Muted, Unavailable
from chat.models import Conversation, Message, MessageChange, Upload
from chat.selectors import (
    parse_cursor,
    room_membership,
    room_memberships,
    user_by_username,
    with_message_relations,
)

from . import mentions, one_trip, publish_after_commit, uploads
from .restrictions import require_not_muted
from .rooms import direct_conversation_for
from .validation import clean_body, clean_client_id

logger = logging.getLogger(__name__)


def store_message(
    *,
    sender: User,
    room=None,
    to=None,
    body,
    client_id=None,
    reply_to=None,
    attachments=None,
) -> tuple[Message, bool]:
    """Store a message unless this sender already sent this client_id.

    Returns the message (new or the earlier one) and whether it is new.
    `room` is a room's slug, `to` a username; exactly one is given. `reply_to`
    is the id of a message of the same conversation, or None.
    """
    request = {
        "sender": sender,
        "room": room,
        "to": to,
        "body": body,
        "reply_to": reply_to,
    }
    request["attachments"] = attachments
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

    On PostgreSQL outside a caller's transaction (the writer's thread) the lock
    and the insert are one round trip (chat.services.one_trip), which checks the
    memberships itself: rooms a sender is known to post to are not looked up.
    A batch that holds a reply or a mention takes the ORM's way (its Mention
    rows and counts commit with it); a body without an "@" costs no more.
    """
    results: list[StoreResult | None] = [None] * len(requests)
    fast = (
        one_trip.available()
        and not connection.in_atomic_block
        and not any(map(_is_rich, requests))
        and not any(request.get("attachments") for request in requests)
    )
    try:
        ready = []
        known = known_rooms if fast else None
        conversations = _rooms_of_members(requests, known)
        for index, request in enumerate(requests):
            try:
                fields = _prepare(**request, seen=conversations, known=known)
            except ChatError as exc:
                results[index] = exc
                continue
            ready.append((index, fields))
        _retries_of_the_muted(requests, results)
        if ready and fast:
            # An IntegrityError (a conversation deleted meanwhile?) leaves the
            # lot to the ORM's way, which sorts it out message by message.
            with contextlib.suppress(IntegrityError):
                ready = _insert_in_one_trip(ready, results)
            # What was refused there (a membership since ended) is looked up
            # again, to be refused with the reason, or stored after all.
            ready = _prepare_again(ready, requests, results)
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
    return cast("list[StoreResult]", results)  # every index is filled by now


def _retries_of_the_muted(requests: list[dict], results: list) -> None:
    """A muted sender's retry of a message stored before the mute is answered
    with that message, as a retry is (the one-trip insert finds it so too):
    it was stored, whatever came since."""
    muted: dict[int, tuple[int, str]] = {
        index: (requests[index]["sender"].pk, requests[index]["client_id"])
        for index, result in enumerate(results)
        if isinstance(result, Muted)
        and isinstance(requests[index].get("client_id"), str)
    }
    if not muted:
        return
    earlier = _sent_before(muted.values())
    for index, key in muted.items():
        if key in earlier:
            results[index] = (earlier[key], False)


def _rooms_of_members(requests: list[dict], known: "KnownRooms | None") -> dict:
    """The rooms the batch's senders write to as members, found in one query:
    `_prepare`'s `seen`, keyed as it keys them. What it leaves out is looked
    up alone, which refuses it with the reason (no such room, not a member).
    Rooms already `known` are not asked for."""
    pairs = [
        (request["sender"].pk, request["room"])
        for request in requests
        if isinstance(request.get("room"), str)
        and request.get("to") is None
        and (
            known is None or known.get((request["sender"].pk, request["room"])) is None
        )
    ]
    if not pairs:
        return {}
    # A muted sender is left out too: looked up alone, and refused with until when.
    return {
        (user_id, slug, None): membership.conversation
        for (user_id, slug), membership in room_memberships(pairs).items()
        if not getattr(membership, "muted", False)
    }


def _is_rich(request: dict) -> bool:
    """Whether a request may reply or mention: more to check and to store
    than one_trip's insert does (no query to tell)."""
    return request.get("reply_to") is not None or mentions.may_mention(
        request.get("body")
    )


def _unavailable(cause: DatabaseError) -> Unavailable:
    error = Unavailable()
    error.__cause__ = cause
    return error


class KnownRooms:
    """The rooms this process has seen each sender post to, by (sender id, slug).

    Only for chat.services.one_trip, whose insert checks the membership itself:
    a sender's next message to a room then needs no lookup. A membership that
    has ended since is caught there and the message looked up again. Bounded:
    when full it starts over.
    """

    LIMIT = 50_000

    def __init__(self) -> None:
        self.rooms: dict[tuple[int, str], Conversation] = {}

    def get(self, key) -> Conversation | None:
        return self.rooms.get(key)

    def remember(self, key, conversation: Conversation) -> None:
        if len(self.rooms) >= self.LIMIT:
            self.rooms.clear()
        self.rooms[key] = conversation

    def forget(self, key) -> None:
        self.rooms.pop(key, None)


known_rooms = KnownRooms()


def _prepare(
    *,
    sender: User,
    room=None,
    to=None,
    body,
    client_id=None,
    reply_to=None,
    attachments=None,
    seen: dict,
    known: KnownRooms | None = None,
) -> dict:
    """What to insert: checked input and the conversation (reads only).

    `seen` keeps the conversations found for this batch, by sender and target
    (the rooms of `_rooms_of_members` from the start): the same sender writing
    to the same conversation again in one batch is not looked up again. `known`
    (rooms only) keeps them across batches, for an insert that checks membership.
    """
    upload_ids = uploads.clean_attachment_ids(attachments)
    if upload_ids and (body is None or (isinstance(body, str) and not body.strip())):
        body = ""  # the files are the message
    else:
        body = clean_body(body)
    client_id = clean_client_id(client_id)
    if (room is None) == (to is None):
        raise InvalidInput("invalid", "Give exactly one of 'room' and 'to'.")
    key: tuple | None = (sender.pk, room, to)
    if not isinstance(room if room is not None else to, str):
        key = None  # not hashable, maybe; refused by the lookup anyway
    known_key = (sender.pk, room) if known is not None and key and room else None
    conversation = (
        known.get(known_key) if known is not None and known_key is not None else None
    )
    if conversation is None:
        conversation = seen.get(key) if key is not None else None
        if conversation is None:
            conversation = _conversation_for(sender=sender, room=room, to=to)
            if key is not None:
                seen[key] = conversation
        if known is not None and known_key is not None:
            known.remember(known_key, conversation)
    fields = {
        "sender": sender,
        "conversation": conversation,
        "body": body,
        "client_id": client_id,
        # Upload ids here; their payloads once claimed (_claim_uploads).
        "attachments": upload_ids,
    }
    if reply_to is not None:
        fields["reply_to_id"] = _reply_to(reply_to, conversation=conversation)
    if mentions.may_mention(body):
        fields["mentions"] = mentions.mentioned_ids(
            conversation=conversation, sender=sender, body=body
        )
    return fields


def _reply_to(value, *, conversation: Conversation) -> int:
    """The id of the message replied to: one of `conversation`'s, else invalid.

    A message that does not exist, or one of another conversation, gets the
    same answer: it says nothing of what lies elsewhere.
    """
    message_id = parse_cursor(value, name="reply_to")
    if (
        message_id is None
        or not Message.objects.filter(pk=message_id, conversation=conversation).exists()
    ):
        raise InvalidInput(
            "invalid", "'reply_to' must be the id of a message of this conversation."
        )
    return message_id


def _prepare_again(
    ready: list[tuple[int, dict]], requests: list[dict], results: list
) -> list:
    """`ready` with each conversation looked up afresh (refusals into results)."""
    again = []
    for index, _ in ready:
        request = requests[index]
        room = request.get("room")
        if isinstance(room, str):
            known_rooms.forget((request["sender"].pk, room))
        try:
            again.append((index, _prepare(**request, seen={})))
        except ChatError as exc:
            results[index] = exc
    return again


def _in_id_order(insert, ready: list[tuple[int, dict]], results: list) -> None:
    """`insert(ready, results)` in a transaction of its own (a savepoint in a
    caller's), under the lock that makes ids commit in order (chat.ordering)."""
    with transaction.atomic():
        ordering.commit_in_id_order(ordering.MESSAGES)
        ready = _claim_uploads(ready, results)
        insert(ready, results)
        for index, fields in ready:
            message, created = results[index]
            if created and fields["attachments"]:
                ids = [item["id"] for item in fields["attachments"]]
                uploads.attach(message=message, ids=ids)


def _claim_uploads(ready: list[tuple[int, dict]], results: list) -> list:
    """`ready` with each message's upload ids replaced by the uploads' payloads,
    under the ordering lock: an upload is attached once, by its owner. A repeat
    (a client_id sent before) keeps none: the insert answers the earlier one."""
    wanting = [(index, fields) for index, fields in ready if fields["attachments"]]
    if not wanting:
        return ready
    earlier = _sent_before(
        (fields["sender"].pk, fields["client_id"]) for _, fields in wanting
    )
    claims = {
        index: fields["attachments"]
        for index, fields in wanting
        if (fields["sender"].pk, fields["client_id"]) not in earlier
    }
    owners = {index: fields["sender"].pk for index, fields in wanting}
    granted = uploads.claim(claims, owners=owners)
    found = uploads.uploads_by_id([pk for index in granted for pk in claims[index]])
    claimed = []
    for index, fields in ready:
        if index in claims and index not in granted:
            results[index] = InvalidInput(
                "invalid", "An attachment must be your own upload, not attached yet."
            )
            continue
        ids = claims.get(index, [])
        payloads = uploads.attachment_payloads([found[pk] for pk in ids])
        claimed.append((index, {**fields, "attachments": payloads}))
    return claimed


def _insert_all(ready: list[tuple[int, dict]], results: list) -> None:
    """Store `ready` (index, fields) in one INSERT, skipping what each sender
    sent before (by client_id), and write each answer to results[index].

    Inside the ordering lock (PostgreSQL) or SQLite's single writer, no other
    message insert runs between the look for earlier client_ids and the insert,
    so the insert needs no savepoint of its own (two round trips): should it
    still collide, the IntegrityError undoes the whole transaction and the
    caller stores the batch again with `_insert_each`.
    """
    earlier = _sent_before(
        (fields["sender"].pk, fields["client_id"]) for _, fields in ready
    )
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
    mentions.record_new([message for message in new.values() if message.mentions])
    for index, key in repeats:
        results[index] = (new[key], False)


def _insert_in_one_trip(ready: list[tuple[int, dict]], results: list) -> list:
    """_insert_all in one round trip (chat.services.one_trip); a client_id sent
    before is read only when the insert skipped it.

    Returns what the insert skipped for want of a membership, to be looked up.
    """
    first: dict[tuple[int, str], int] = {}
    rows, repeats = [], []
    for index, fields in ready:
        key = (fields["sender"].pk, fields["client_id"])
        if key in first:
            repeats.append((index, first[key]))  # twice in this batch: stored once
        else:
            first[key] = index
            rows.append((index, fields))
    skipped = []
    for (index, fields), message in zip(
        rows, one_trip.insert_messages([fields for _, fields in rows]), strict=True
    ):
        if message is None:
            skipped.append((index, (fields["sender"].pk, fields["client_id"])))
        else:
            results[index] = (message, True)
    refused = []
    if skipped:
        earlier = _sent_before(key for _, key in skipped)
        for index, key in skipped:
            if key in earlier:
                results[index] = (earlier[key], False)
            else:
                refused.append(index)
    for index, first_index in repeats:
        if results[first_index] is None:
            refused.append(index)
        else:
            results[index] = (results[first_index][0], False)
    fields_of = dict(ready)
    return [(index, fields_of[index]) for index in sorted(refused)]


def _sent_before(keys: Iterable[tuple[int, str]]) -> dict[tuple[int, str], Message]:
    """The messages stored with these (sender id, client_id), in one query."""
    keys = set(keys)
    found = with_message_relations(
        Message.objects.filter(
            sender_id__in={sender for sender, _ in keys},
            client_id__in={client_id for _, client_id in keys},
        )
    )
    return {
        (message.sender_id, message.client_id): message
        for message in found
        if (message.sender_id, message.client_id) in keys
    }


def _insert_each(ready: list[tuple[int, dict]], results: list) -> None:
    """Store `ready` one message at a time (`_insert_once`): the slow way, for
    a batch whose single insert collided."""
    for index, fields in ready:
        results[index] = _insert_once(**fields)


def _insert_once(
    *, sender: User, conversation: Conversation, client_id, **fields
) -> tuple[Message, bool]:
    """Insert, or find what this sender already sent with this client_id."""
    try:
        with transaction.atomic():
            message = Message.objects.create(
                conversation=conversation, sender=sender, client_id=client_id, **fields
            )
            if message.mentions:
                mentions.record_new([message])
    except IntegrityError:
        earlier = with_message_relations(
            Message.objects.filter(sender=sender, client_id=client_id)
        ).first()
        if earlier is None:
            raise
        return earlier, False
    message.sender = sender
    return message, True


def store_in_conversation(
    *, conversation: Conversation, sender: User, body, client_id=None, attachments=None
) -> tuple[Message, bool]:
    """Store a message in a conversation the caller has checked the sender
    may write to (a support conversation: chat.services.support_conversations),
    by the same ordered, idempotent insert as every other message."""
    upload_ids = uploads.clean_attachment_ids(attachments)
    if upload_ids and (body is None or (isinstance(body, str) and not body.strip())):
        body = ""
    else:
        body = clean_body(body)
    fields = {
        "sender": sender,
        "conversation": conversation,
        "body": body,
        "client_id": clean_client_id(client_id),
        "attachments": upload_ids,
    }
    results: list = [None]
    _in_id_order(_insert_each, [(0, fields)], results)
    if isinstance(results[0], Exception):
        raise results[0]
    return results[0]


def _conversation_for(*, sender: User, room, to) -> Conversation:
    if room is not None:
        conversation = room_membership(user=sender, slug=room).conversation
        require_not_muted(room=conversation, user=sender)
        return conversation
    other = user_by_username(to)
    if other.pk == sender.pk:
        raise InvalidInput("invalid", "A direct message needs another user.")
    return direct_conversation_for(sender, other)


def send_message(
    *,
    sender: User,
    room=None,
    to=None,
    body,
    client_id=None,
    reply_to=None,
    attachments=None,
) -> tuple[Message, bool]:
    """store_message for HTTP views, the admin and commands.

    Stores in the caller's transaction; once it commits, the message goes to
    the same publisher as the WebSocket's (events.publish_message).
    """
    message, created = store_message(
        sender=sender,
        room=room,
        to=to,
        body=body,
        client_id=client_id,
        reply_to=reply_to,
        attachments=attachments,
    )
    if created:
        publish_after_commit(events.publish_message, message=message)
    return message, created


# A hundred years: any older cut-off would be before the first message, and a
# date before year 1 is an OverflowError.
MAX_PURGE_DAYS = 36500


def purge_messages(*, older_than_days: int, dry_run: bool = False) -> int:
    """Delete messages older than the given number of days; returns how many.

    Their reactions, mentions and revisions go with them (foreign keys), and so
    do their entries in the change log (no foreign key there): an edit's frame
    holds the new body, which a purge must not leave behind. Clients are not
    told of a purge, as before.
    """
    if (
        isinstance(older_than_days, bool)
        or not isinstance(older_than_days, int)
        or not 0 <= older_than_days <= MAX_PURGE_DAYS
    ):
        raise InvalidInput(
            "invalid", f"--older-than must be from 0 to {MAX_PURGE_DAYS} days."
        )
    cutoff = timezone.now() - timedelta(days=older_than_days)
    old = Message.objects.filter(created_at__lt=cutoff)
    if dry_run:
        return old.count()
    files = list(Upload.objects.filter(message__in=old))
    with transaction.atomic():
        MessageChange.objects.filter(message_id__in=old.values("id")).delete()
        _, per_model = old.delete()
    uploads.remove_uploads(files)  # their files go with them
    return per_model.get(Message._meta.label, 0)
