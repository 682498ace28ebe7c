"""Changing stored messages: edits, deletions and reactions, each a change.

Every change is stored in one transaction with the row it describes, a
MessageChange in the one change sequence (its id is the `change_id` clients
catch up from), and only then told, through the same publish path as new
messages. A client that missed the news learns it by `sync` with
`changes_after` (chat.change_feed): the database, not the channel layer, is
what it relies on.

Ordering: the change row is inserted last, under the message-id ordering lock
(chat.ordering), so change ids commit in order without a second cluster-wide
lock; the lock is held for that one insert and the commit (an edit that adds a
mention takes it a few statements earlier, for its Mention rows:
chat.services.mentions.change_mentions). Changes to one message queue on its
row (SELECT ... FOR UPDATE, taken first), so each change's frame holds the
state that committed with it: the reaction state of a frame is never older
than that of an earlier frame.
"""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import emoji as emoji_data
from channels.db import database_sync_to_async
from django.conf import settings
from django.db import transaction
from django.db.models import Exists, Max, OuterRef
from django.utils import timezone

from accounts.models import User
from chat import events, ordering
from chat.errors import ChatError, Forbidden, InvalidInput, NotFound
from chat.models import (
    AuditEntry,
    ChangeHorizon,
    Membership,
    Message,
    MessageChange,
    MessageRevision,
    Mute,
    Reaction,
)
from chat.selectors import is_moderator, with_message_relations

from . import audit, mentions, publish_after_commit, uploads
from .restrictions import require_not_muted
from .validation import clean_body

# The longest emoji we store (a family of four with skin tones is about 30
# code points); Reaction.emoji is 64 characters wide.
MAX_EMOJI_LENGTH = 32


class EditWindowClosed(ChatError):
    """Too late to edit (CHAT_EDIT_WINDOW_SECONDS after sending)."""

    status = Forbidden.status

    def __init__(self, detail: str):
        super().__init__("edit_window", detail)


@dataclass(frozen=True)
class StoredChange:
    """A committed change and the message as it is after it."""

    change: MessageChange
    message: Message


def _not_found() -> NotFound:
    # One answer for "no such message" and "not yours to see": never say which.
    return NotFound("No such message.")


def _message_id(value) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise _not_found()
    return value


def _locked_message(*, user: User, message_id, writing: bool = False) -> Message:
    """The message, its row locked until the caller commits, if `user` may
    see it (a member of its conversation); a tombstone counts as gone.

    `writing` (an edit, a reaction): refused with `muted` if the user is muted
    in its room, found by the same query as the membership.
    """
    message = (
        with_message_relations(Message.objects.select_for_update(of=("self",)))
        .filter(id=_message_id(message_id), deleted_at__isnull=True)
        .first()
    )
    if message is None:
        raise _not_found()
    membership = (
        Membership.objects.filter(user=user, conversation_id=message.conversation_id)
        .annotate(muted=Exists(_mutes_of_membership()))
        .first()
    )
    if membership is None:
        raise _not_found()
    if writing and membership.muted:
        require_not_muted(room=message.conversation, user=user)
    return message


def _mutes_of_membership():
    return Mute.objects.filter(
        Mute.in_force(), room=OuterRef("conversation_id"), user=OuterRef("user_id")
    )


def _record(message: Message, kind: str, frame: dict) -> MessageChange:
    """Insert the change row last, under the ordering lock, in the caller's
    transaction: its id is drawn and committed in order."""
    ordering.commit_in_id_order(ordering.MESSAGES)
    change = MessageChange.objects.create(
        conversation=message.conversation,
        message_id=message.id,
        kind=kind,
        frame=frame,
    )
    return change


def _frame_head(kind: str, message: Message) -> dict:
    """What every change frame starts with: the message and where it is."""
    payload = events.message_payload(message)
    return {
        "type": kind,
        "id": message.id,
        "room": payload["room"],
        "recipient": payload["recipient"],
    }


# --- edits ----------------------------------------------------------------------


def _check_edit_window(message: Message, now: datetime) -> None:
    window = settings.CHAT_EDIT_WINDOW_SECONDS
    if window and now - message.created_at > timedelta(seconds=window):
        raise EditWindowClosed(
            f"A message can be edited for {window} seconds after it was sent."
        )


def store_edit(*, user: User, message_id, body) -> StoredChange:
    """Replace the body of `user`'s own message, within the edit window."""
    body = clean_body(body)
    with transaction.atomic():
        message = _locked_message(user=user, message_id=message_id, writing=True)
        if message.sender_id != user.pk:
            raise Forbidden("Only its sender can edit a message.")
        now = timezone.now()
        _check_edit_window(message, now)
        MessageRevision.objects.create(
            message=message, body=message.body, replaced_at=now
        )
        mentions.edit_mentions(message, editor=user, body=body)
        message.body, message.edited_at = body, now
        message.save(update_fields=["body", "edited_at", "mentions"])
        frame = {
            **_frame_head(MessageChange.Kind.EDITED, message),
            "body": body,
            "edited_at": events.isoformat(now),
        }
        change = _record(message, MessageChange.Kind.EDITED, frame)
    return StoredChange(change, message)


# --- deletions ------------------------------------------------------------------


def _may_delete(user: User, message: Message) -> bool:
    """The sender, staff, or an owner or moderator of the message's room."""
    if message.sender_id == user.pk or user.is_staff:
        return True
    conversation = message.conversation
    return conversation.is_room and is_moderator(user=user, conversation=conversation)


def store_deletion(*, user: User, message_id) -> StoredChange:
    """Make the message a tombstone: body, reactions, mentions and earlier
    bodies gone, id kept (replies and cursors still point at it).

    Staff may delete any message, member or not (moderation).
    """
    with transaction.atomic():
        try:
            message = _locked_message(user=user, message_id=message_id)
        except NotFound:
            if not user.is_staff:
                raise
            message = _locked_any_message(message_id)
        if not _may_delete(user, message):
            raise Forbidden(
                "Only its sender, the room's owners and moderators or staff can "
                "delete a message."
            )
        mentions.forget_mentions(message)
        message.body, message.reactions, message.mentions = "", [], []
        message.attachments = []
        message.deleted_at, message.deleted_by = timezone.now(), user
        message.save(
            update_fields=[
                *("body", "reactions", "mentions", "attachments"),
                *("deleted_at", "deleted_by"),
            ]
        )
        uploads.release_for_deleted(message.pk)
        Reaction.objects.filter(message=message).delete()
        MessageRevision.objects.filter(message=message).delete()
        frame = _frame_head(MessageChange.Kind.DELETED, message)
        change = _record(message, MessageChange.Kind.DELETED, frame)
        if message.sender_id != user.pk:
            conversation = message.conversation
            audit.record(
                actor=user,
                action=AuditEntry.Action.MESSAGE_DELETED,
                room=conversation if conversation.is_room else None,
                target=message.sender,
                detail={"message_id": message.pk},
            )
    return StoredChange(change, message)


def _locked_any_message(message_id) -> Message:
    message = (
        with_message_relations(Message.objects.select_for_update(of=("self",)))
        .filter(id=_message_id(message_id), deleted_at__isnull=True)
        .first()
    )
    if message is None:
        raise _not_found()
    return message


# --- reactions ------------------------------------------------------------------


def clean_emoji(value) -> str:
    """One emoji (a whole grapheme cluster: ZWJ sequences, skin tones, flags)."""
    if (
        not isinstance(value, str)
        or not 0 < len(value) <= MAX_EMOJI_LENGTH
        or not emoji_data.is_emoji(value)
    ):
        raise InvalidInput("invalid", "'emoji' must be one emoji.")
    return value


def reaction_state(message: Message) -> list[dict]:
    """The message's reactions as frames show them: each emoji once, in the
    order it was first used, with its users in the order they reacted."""
    state: dict[str, list[int]] = {}
    rows = Reaction.objects.filter(message=message).order_by("created_at", "pk")
    for emoji, user_id in rows.values_list("emoji", "user_id"):
        state.setdefault(emoji, []).append(user_id)
    return [
        {"emoji": emoji, "count": len(users), "users": users}
        for emoji, users in state.items()
    ]


def store_reaction(*, user: User, message_id, emoji, add: bool) -> StoredChange | None:
    """Add (or remove) `user`'s `emoji` on a message they can see.

    None when nothing changed: adding what is there already, removing what
    is not. At most CHAT_MAX_REACTIONS_PER_MESSAGE distinct emoji a message.
    """
    emoji = clean_emoji(emoji)
    with transaction.atomic():
        message = _locked_message(user=user, message_id=message_id, writing=True)
        mine = Reaction.objects.filter(message=message, user=user, emoji=emoji)
        if add:
            if mine.exists():
                return None
            present = {item["emoji"] for item in message.reactions}
            limit = settings.CHAT_MAX_REACTIONS_PER_MESSAGE
            if emoji not in present and len(present) >= limit:
                raise InvalidInput(
                    "invalid", f"A message has at most {limit} different reactions."
                )
            Reaction.objects.create(message=message, user=user, emoji=emoji)
        elif not mine.delete()[0]:
            return None
        message.reactions = reaction_state(message)
        message.save(update_fields=["reactions"])
        frame = {
            **_frame_head(MessageChange.Kind.REACTIONS, message),
            "reactions": message.reactions,
        }
        change = _record(message, MessageChange.Kind.REACTIONS, frame)
    return StoredChange(change, message)


# --- publishing forms -------------------------------------------------------------


def _published_after_commit(stored: StoredChange | None) -> StoredChange | None:
    if stored is not None:
        publish_after_commit(events.publish_change, change=stored.change)
    return stored


def edit_message(*, user: User, message_id, body) -> StoredChange:
    """store_edit for HTTP views, the admin and commands: told once the
    caller commits."""
    stored = store_edit(user=user, message_id=message_id, body=body)
    _published_after_commit(stored)
    return stored


def delete_message(*, user: User, message_id) -> StoredChange:
    """store_deletion, told once the caller commits."""
    stored = store_deletion(user=user, message_id=message_id)
    _published_after_commit(stored)
    return stored


def react(*, user: User, message_id, emoji, add: bool) -> StoredChange | None:
    """store_reaction, told once the caller commits."""
    return _published_after_commit(
        store_reaction(user=user, message_id=message_id, emoji=emoji, add=add)
    )


async def _told(stored: StoredChange | None) -> None:
    if stored is not None:
        await events.publish_change(change=stored.change)


# How the async forms reach the database: `run(store, **arguments)`. The
# consumer hands in its runtime's writer thread (chat.realtime.writer), whose
# connection is kept; by default, Channels' database thread.
RunInDatabase = Callable[..., Awaitable[Any]]


async def _in_database(run: RunInDatabase | None, store, **kwargs):
    if run is None:
        return await database_sync_to_async(store)(**kwargs)
    return await run(store, **kwargs)


async def aedit_message(
    *, user: User, message_id, body, run: RunInDatabase | None = None
) -> StoredChange:
    """store_edit in the database's thread, then told (the consumer's form)."""
    stored = await _in_database(
        run, store_edit, user=user, message_id=message_id, body=body
    )
    await _told(stored)
    return stored


async def adelete_message(
    *, user: User, message_id, run: RunInDatabase | None = None
) -> StoredChange:
    stored = await _in_database(run, store_deletion, user=user, message_id=message_id)
    await _told(stored)
    return stored


async def areact(
    *, user: User, message_id, emoji, add: bool, run: RunInDatabase | None = None
) -> StoredChange | None:
    stored = await _in_database(
        run, store_reaction, user=user, message_id=message_id, emoji=emoji, add=add
    )
    await _told(stored)
    return stored


# --- retention --------------------------------------------------------------------


def prune_changes(*, now: datetime | None = None) -> int:
    """Delete the changes older than CHAT_CHANGE_RETENTION_DAYS; how many.

    Deletes by id, up to the newest old one, so what is kept is always every
    change above ChangeHorizon.pruned_through: a `changes_after` at or above it
    misses nothing, one below it is told to reset (chat.change_feed).
    """
    now = now or timezone.now()
    cutoff = now - timedelta(days=settings.CHAT_CHANGE_RETENTION_DAYS)
    through = MessageChange.objects.filter(created_at__lt=cutoff).aggregate(
        through=Max("id")
    )["through"]
    if through is None:
        return 0
    with transaction.atomic():
        horizon, _ = ChangeHorizon.objects.select_for_update().get_or_create(pk=1)
        if through > horizon.pruned_through:
            horizon.pruned_through = through
            horizon.save(update_fields=["pruned_through"])
        deleted, _ = MessageChange.objects.filter(id__lte=through).delete()
    return deleted
