"""Mentions: who a body names, and the unread-mention count of each membership.

The rules (docs/protocol.md, "Mentions"):

- `@username` names a member of the conversation. A username is what accounts
  allow (letters, digits and `.@+-_`); letter case does not matter. The mention
  starts at an `@` that follows no such character (so `bob@example.com` names
  nobody), and punctuation that ends a sentence (`@bob.`) is not part of it
  unless a member is called that.
- `@all` and `@room` name every member. In a room of more than
  CHAT_MENTION_ALL_MAX_MEMBERS members only its owners may use them.
- Nothing inside `code` or a ``` block is a mention (as the pages show it).
- The sender is never among the mentioned: there is no one to tell.

A message's mentions are kept twice: Message.mentions (the ids, as frames show
them) and one Mention row per user, which the counts are counted from.
Membership.unread_mentions is the number of messages after the read position
that mention the user now: raised with the message's commit, recounted from the
rows when the read position moves, lowered when an edit takes a mention away
or the message is deleted. A user counts once per message at most.
"""

import re
from dataclasses import dataclass

from django.conf import settings
from django.db.models import F
from django.db.models.functions import Lower
from django.utils import timezone

from accounts.models import User
from chat import ordering
from chat.errors import Forbidden
from chat.models import Conversation, Membership, Mention, Message

# accounts' usernames (django.contrib.auth's UnicodeUsernameValidator).
_NAME = r"[\w.@+-]+"
_MENTION = re.compile(rf"(?<![\w.@+-])@({_NAME})")
# A name may end with these, a sentence too: "@bob." is bob if no "bob." is.
_TRAILING = ".@+-"
_CODE = re.compile(r"```.*?(?:```|\Z)|`[^`\n]*`", re.DOTALL)
EVERYONE = frozenset({"all", "room"})


@dataclass(frozen=True)
class Named:
    """What a body names: usernames as written, and whether @all / @room."""

    names: tuple[str, ...]
    everyone: bool

    def __bool__(self) -> bool:
        return bool(self.names) or self.everyone


def may_mention(body) -> bool:
    """Whether `body` might name anyone: the send path's test, no query."""
    return isinstance(body, str) and "@" in body and bool(named_in(body))


def named_in(body: str) -> Named:
    """The mentions written in `body` (a pure function: nobody is looked up)."""
    if "@" not in body:
        return Named((), everyone=False)
    names: list[str] = []
    everyone = False
    for match in _MENTION.finditer(_CODE.sub(" ", body)):
        name = match.group(1)
        if name.rstrip(_TRAILING).lower() in EVERYONE:
            everyone = True
        elif name not in names:
            names.append(name)
    return Named(tuple(names), everyone=everyone)


def mentioned_ids(*, conversation: Conversation, sender: User, body: str) -> list[int]:
    """The ids of the members `body` mentions, in the order first named
    (@all: every member by id), the sender left out.

    Raises Forbidden for @all / @room in a room too large for the sender.
    One query for @username, one or two for @all; none if nothing is named.
    """
    named = named_in(body)
    if not named:
        return []
    if named.everyone:
        members = list(
            Membership.objects.filter(conversation=conversation)
            .order_by("user_id")
            .values_list("user_id", "role")
        )
        limit = settings.CHAT_MENTION_ALL_MAX_MEMBERS
        too_many = conversation.is_room and len(members) > limit
        if too_many and dict(members).get(sender.pk) != Membership.Role.OWNER:
            raise Forbidden(
                f"In a room of more than {limit} members only its owners "
                "may mention @all or @room."
            )
        return [user_id for user_id, _ in members if user_id != sender.pk]
    return _members_named(conversation=conversation, sender=sender, names=named.names)


def _members_named(
    *, conversation: Conversation, sender: User, names: tuple[str, ...]
) -> list[int]:
    wanted = {name.lower() for name in names}
    wanted |= {name.rstrip(_TRAILING).lower() for name in names}
    wanted.discard("")
    found = dict(
        Membership.objects.filter(conversation=conversation)
        .annotate(name=Lower("user__username"))
        .filter(name__in=wanted)
        .values_list("name", "user_id")
    )
    ids: list[int] = []
    for name in names:
        # The longest reading first: a member called "bob." before "bob".
        user_id = found.get(name.lower()) or found.get(name.rstrip(_TRAILING).lower())
        if user_id is not None and user_id != sender.pk and user_id not in ids:
            ids.append(user_id)
    return ids


def record_new(messages: list[Message]) -> None:
    """The Mention rows and counts of newly inserted `messages` (call in their
    transaction, after the insert: the rows and the counts commit with them)."""
    rows = [
        Mention(message=message, user_id=user_id, conversation=message.conversation)
        for message in messages
        for user_id in message.mentions
    ]
    if not rows:
        return
    Mention.objects.bulk_create(rows)
    _raise_counts(rows)


def _raise_counts(rows: list[Mention]) -> None:
    """One more unread mention for each row's user whose read position is
    before the row's message (a new message's always is): an UPDATE a message."""
    per_message: dict[tuple[int, int], list[int]] = {}
    for row in rows:
        key = (row.conversation_id, row.message_id)
        per_message.setdefault(key, []).append(row.user_id)
    for (conversation_id, message_id), user_ids in per_message.items():
        Membership.objects.filter(
            conversation_id=conversation_id,
            user_id__in=user_ids,
            last_read_id__lt=message_id,
        ).update(unread_mentions=F("unread_mentions") + 1)


def change_mentions(message: Message, user_ids: list[int]) -> None:
    """Make `message` mention `user_ids` now (an edit; [] for a deletion).

    A user newly mentioned is counted once; one still mentioned is not counted
    again (Mention is unique per message and user); one no longer mentioned
    stops counting. Sets message.mentions (the caller saves the message). Call
    inside the transaction that stores the change.

    A new row is stamped `added_at` and inserted under the message-id ordering
    lock, which the caller's change row takes anyway (chat.services.changes):
    the notifications job reads these rows by id, so their ids must commit in
    order (chat.ordering); the lock is only taken a few statements earlier.
    """
    before = set(
        Mention.objects.filter(message=message).values_list("user_id", flat=True)
    )
    after = set(user_ids)
    gone = before - after
    if gone:
        Mention.objects.filter(message=message, user_id__in=gone).delete()
        Membership.objects.filter(
            conversation_id=message.conversation_id,
            user_id__in=gone,
            last_read_id__lt=message.id,
            unread_mentions__gt=0,
        ).update(unread_mentions=F("unread_mentions") - 1)
    now = timezone.now()
    added = [
        Mention(
            message=message,
            user_id=user_id,
            conversation_id=message.conversation_id,
            added_at=now,
        )
        for user_id in user_ids
        if user_id not in before
    ]
    if added:
        ordering.commit_in_id_order(ordering.MESSAGES)
        Mention.objects.bulk_create(added)
        Membership.objects.filter(
            conversation_id=message.conversation_id,
            user_id__in=[row.user_id for row in added],
            last_read_id__lt=message.id,
        ).update(unread_mentions=F("unread_mentions") + 1)
    message.mentions = list(user_ids)


def mentions_for_edit(*, message: Message, editor: User, body: str) -> list[int]:
    """The mentions of `message` once its body is `body`, by the rules of a new
    message (the @all rule applies to the editor, who is its sender)."""
    return mentioned_ids(conversation=message.conversation, sender=editor, body=body)


def edit_mentions(message: Message, *, editor: User, body: str) -> None:
    """Make `message`'s mentions those of its new `body` (change_mentions);
    no query when neither the old nor the new body mentions anyone.

    Raises Forbidden as a new message would (@all in a big room).
    """
    if message.mentions or may_mention(body):
        ids = mentions_for_edit(message=message, editor=editor, body=body)
        change_mentions(message, ids)


def forget_mentions(message: Message) -> None:
    """A deleted message mentions nobody: its rows go, its counts with them."""
    if message.mentions:
        change_mentions(message, [])


def recount(*, membership: Membership, read_id: int) -> int:
    """Count `membership`'s unread mentions afresh from the Mention rows after
    `read_id` (its read position), store and return the count.

    Call in the transaction that moved the read position, after the UPDATE
    that moved it: that row lock makes a concurrent message's count wait (or
    this count wait for its commit), and this statement, started after the
    lock, sees every mention committed before: none is lost or counted twice.
    """
    count = Mention.objects.filter(
        user_id=membership.user_id,
        conversation_id=membership.conversation_id,
        message_id__gt=read_id,
    ).count()
    Membership.objects.filter(pk=membership.pk).update(unread_mentions=count)
    return count
