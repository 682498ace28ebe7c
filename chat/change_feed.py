"""Reading the change sequence: what changed, after a change_id, that a user may see.

Change ids commit in order (chat.services.changes), so "every change above N"
read now will never later gain a change below a change it returned. A reader
that catches up on messages and changes reads `last_change_id()` first and the
messages after: a change committed in between is then either in the messages'
current state or above the cursor it is given, never skipped.
"""

from django.db.models import Max

from accounts.models import User

from . import events
from .errors import ChatError, InvalidInput
from .models import ChangeHorizon, MessageChange
from .selectors import member_conversation_ids, parse_cursor


class ChangesExpired(ChatError):
    """A `changes_after` older than the changes still kept: reload instead."""

    status = 410

    def __init__(self) -> None:
        super().__init__(
            "changes_expired",
            "Changes that old are no longer kept: reload the history.",
        )


def parse_change_cursor(value, *, name: str) -> int | None:
    """A change_id given by a client (0 or more), None if not given."""
    try:
        return parse_cursor(value, name=name)
    except InvalidInput:
        detail = f"'{name}' must be a change_id (0 or more)."
        raise InvalidInput("invalid", detail) from None


def pruned_through() -> int:
    """The highest change id no longer kept (0: none pruned)."""
    return (
        ChangeHorizon.objects.filter(pk=1)
        .values_list("pruned_through", flat=True)
        .first()
        or 0
    )


def last_change_id() -> int:
    """The newest change id (committed: ids commit in order); 0 if none."""
    newest = MessageChange.objects.aggregate(newest=Max("id"))["newest"]
    return max(newest or 0, pruned_through())


def changes_after(
    *, user: User, after: int, limit: int, message_upto: int | None = None
) -> tuple[list[MessageChange], bool]:
    """The changes above `after` to messages `user` can see, oldest first: at
    most `limit`, and whether more remain.

    `message_upto`: only changes to messages with an id at most this (a sync
    sends the newer messages whole, in their current state). Raises
    ChangesExpired when changes above `after` were pruned.
    """
    if after < pruned_through():
        raise ChangesExpired()
    ids: list[int] = []
    # Per conversation on its (conversation, id) index, as messages_after does.
    for conversation_id in member_conversation_ids(user):
        found = MessageChange.objects.filter(
            conversation_id=conversation_id, id__gt=after
        )
        if message_upto is not None:
            found = found.filter(message_id__lte=message_upto)
        ids += found.order_by("id").values_list("id", flat=True)[: limit + 1]
    ids = sorted(ids)[: limit + 1]
    if not ids:
        return [], False
    page = MessageChange.objects.filter(id__in=ids[:limit]).order_by("id")
    return list(page), len(ids) > limit


def change_payload(change: MessageChange) -> dict:
    """The frame of a change as it went out, with its change_id."""
    return {**change.frame, "change_id": change.id}


def change_frame_text(change: MessageChange) -> str:
    return events.change_frame(change)
