"""Telling users what they missed: a round of the job that looks at what was
stored (chat.realtime.notify runs one every CHAT_NOTIFY_INTERVAL_SECONDS in
each serving process; `manage.py sendnotifications` runs one).

Nothing here runs on the message path: the writer stores messages as before,
and a round reads them afterwards, by id (ids commit in id order,
chat.ordering, so a cursor skips nothing). Two cursors, on one row:

- `last_message_id`: the messages stored since. Each direct message is for its
  recipient, and each user its Mention rows name (those stored with it), as of
  when it was sent.
- `last_edit_mention_id`: the Mention rows edits added since (`added_at` set;
  a partial index holds only those, so this scan never walks the rows that
  came with new messages). Each is for its user, as of the edit: the email is
  due CHAT_EMAIL_DELAY_MINUTES after the edit, and "online then" means at the
  edit. An edit inserts its rows under the message-id ordering lock that its
  change row takes anyway (chat.services.mentions.change_mentions), so these
  ids commit in order too. A mention the user already had keeps its row (no
  new one); one the edit took back before the round has no row; one taken back
  after is cancelled when its email falls due. A user mentioned again after a
  mention was taken back is a new row, told again if still unread. A mention in
  a direct message adds nothing: the message was for that user already.

Each row of a scan is looked at once, by exactly one of the two: the message
scan skips the rows edits added, the edit scan only reads those. A round:

1. Claims, under the cursor row's lock (SELECT ... FOR UPDATE SKIP LOCKED on
   PostgreSQL: a process that finds it locked skips the round; on SQLite the
   transaction's write lock does the same), what is to be done:
   - what the two scans found, if still unread (read up to or past the
     message: nothing), becomes a MissedMessage: to be emailed
     CHAT_EMAIL_DELAY_MINUTES after it was sent (or the edit) if the user was
     not online then (presence.was_online_at) and wants email (a verified
     address, email on); pushed now if they have no page open
     (presence.has_open_page) and a push subscription;
   - the pushed ones since read: a silent "read" push per conversation;
   - each user with a row due: their batch (every pending row still unread and
     still mentioning them); read ones are cancelled.
   The claims are written in that short transaction, and the sending happens
   after its commit, outside any transaction: one process sends each email
   and push, and a slow mail server holds no lock.
2. Sends the pushes and the emails. An email the backend refused goes back to
   pending, due again EMAIL_RETRY later (given up after EMAIL_GIVE_UP).
3. Deletes the rows with nothing left to do.
"""

import logging
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from accounts.models import PushSubscription, User
from chat.models import (
    Conversation,
    Membership,
    Mention,
    Message,
    MissedMessage,
    NotificationCursor,
)
from chat.selectors import last_id_created_before, with_message_relations

from . import email_digest, presence, push

logger = logging.getLogger(__name__)

# Messages (and mentions by edits) looked at per round at most (the next round
# goes on from there).
SCAN_LIMIT = 1000
# Users emailed per round at most.
EMAIL_USERS_LIMIT = 100
# A pushed message never read is forgotten after this long.
PUSH_KEEP = timedelta(days=7)
# A batch the mail server refused is tried again this much later, for as long
# as its messages are younger than EMAIL_GIVE_UP.
EMAIL_RETRY = timedelta(minutes=5)
EMAIL_GIVE_UP = timedelta(days=2)
# A cursor made afresh starts this far back (not at the whole history).
FIRST_LOOK_BACK = timedelta(hours=1)
PUSH_BODY_LENGTH = 200


@dataclass
class RoundResult:
    """What one round did (`ran`: False if another process held the lock)."""

    ran: bool = True
    looked_at: int = 0
    missed: int = 0
    pushed: int = 0
    cleared: int = 0
    emails: int = 0
    cancelled: int = 0
    failed_emails: int = 0


@dataclass
class _Claims:
    pushes: list[push.Push] = field(default_factory=list)
    clears: list[push.Push] = field(default_factory=list)
    batches: dict[int, list[int]] = field(default_factory=dict)


@dataclass
class _Notice:
    """`user_id` should hear of `message`, as of `at` (sent, or the edit)."""

    message: Message
    user_id: int
    at: datetime


def email_delay() -> timedelta:
    return timedelta(minutes=settings.CHAT_EMAIL_DELAY_MINUTES)


def run_round(*, now: datetime | None = None) -> RoundResult:
    """One round of the job (see the module's docstring)."""
    now = now or timezone.now()
    result = RoundResult()
    _ensure_cursor(now)
    if _nothing_to_do(now):
        return result
    with transaction.atomic():
        cursor = (
            NotificationCursor.objects.select_for_update(skip_locked=True)
            .filter(pk=1)
            .first()
        )
        if cursor is None:
            return RoundResult(ran=False)
        claims = _Claims()
        notices = _look_at_new_messages(cursor, result)
        notices += _look_at_edit_mentions(cursor, result)
        _claim_notices(notices, now, result, claims)
        _claim_clears(now, result, claims)
        _claim_batches(now, result, claims)
    result.pushed = push.send_pushes(claims.pushes)
    push.send_pushes(claims.clears)
    _send_batches(claims.batches, now, result)
    _forget_done(now)
    return result


def _ensure_cursor(now: datetime) -> None:
    """Make the cursor row if there is none (a new database): from a little
    before now, not from the first message ever stored."""
    if NotificationCursor.objects.filter(pk=1).exists():
        return
    since = now - email_delay() - FIRST_LOOK_BACK
    start = last_id_created_before(since)
    edit_start = (
        Mention.objects.filter(added_at__isnull=False, added_at__lt=since)
        .order_by("-id")
        .values_list("id", flat=True)
        .first()
    )
    try:
        with transaction.atomic():
            NotificationCursor.objects.create(
                pk=1, last_message_id=start, last_edit_mention_id=edit_start or 0
            )
    except IntegrityError:  # another process made it first
        pass


def _nothing_to_do(now: datetime) -> bool:
    """No new message or mention by an edit, no email due, no notification up:
    the round need not take the lock (an idle server's round is three reads, no
    write)."""
    new = (
        NotificationCursor.objects.filter(pk=1)
        .annotate(
            messages=Exists(Message.objects.filter(id__gt=OuterRef("last_message_id"))),
            mentions=Exists(
                Mention.objects.filter(
                    added_at__isnull=False, id__gt=OuterRef("last_edit_mention_id")
                )
            ),
        )
        .values_list("messages", "mentions")
        .first()
    )
    if new is None or any(new):
        return False
    return not MissedMessage.objects.filter(
        Q(email_due_at__lte=now, emailed_at__isnull=True)
        | Q(pushed_at__isnull=False, cleared_at__isnull=True)
    ).exists()


def _wanting(user_ids: set[int]) -> tuple[set[int], set[int]]:
    """Of `user_ids`, who wants email (verified, on) and who has a push
    subscription (with push configured)."""
    if not user_ids:
        return set(), set()
    rows = (
        User.objects.filter(pk__in=user_ids, is_active=True)
        .annotate(has_push=Exists(PushSubscription.objects.filter(user=OuterRef("pk"))))
        .values_list("pk", "email", "verified_email", "email_notifications", "has_push")
    )
    email, pushing = set(), set()
    enabled = push.push_enabled()
    for pk, address, verified, on, has_push in rows:
        if on and address and address == verified:
            email.add(pk)
        if has_push and enabled:
            pushing.add(pk)
    return email, pushing


def _look_at_new_messages(
    cursor: NotificationCursor, result: RoundResult
) -> list[_Notice]:
    """The messages stored after the cursor: a notice for each direct message's
    recipient and each user mentioned when it was stored (not by an edit)."""
    messages = list(
        with_message_relations(
            Message.objects.filter(id__gt=cursor.last_message_id).order_by("id")
        )[:SCAN_LIMIT]
    )
    result.looked_at = len(messages)
    if not messages:
        return []
    last_id = messages[-1].id
    messages = [message for message in messages if message.deleted_at is None]
    # Who each message is for: a direct message's other user, the mentioned.
    wanted: dict[int, set[int]] = defaultdict(set)
    for message in messages:
        conversation = message.conversation
        if conversation.kind == conversation.Kind.DIRECT:
            low, high = conversation.direct_low_id, conversation.direct_high_id
            wanted[message.id].add(high if message.sender_id == low else low)
    for message_id, user_id in Mention.objects.filter(
        message_id__in=[m.id for m in messages], added_at__isnull=True
    ).values_list("message_id", "user_id"):
        wanted[message_id].add(user_id)
    notices = [
        _Notice(message, user_id, message.created_at)
        for message in messages
        for user_id in sorted(wanted.get(message.id, ()))
    ]
    NotificationCursor.objects.filter(pk=1).update(last_message_id=last_id)
    return notices


def _look_at_edit_mentions(
    cursor: NotificationCursor, result: RoundResult
) -> list[_Notice]:
    """The mentions edits added after the cursor: a notice each, as of the edit
    (one still there: a mention the edit removed again is no row any more).

    In a direct message the only one to mention is its recipient, whom the
    message itself was for: nothing new to tell."""
    rows = list(
        Mention.objects.filter(
            added_at__isnull=False, id__gt=cursor.last_edit_mention_id
        )
        .order_by("id")
        .values_list("id", "message_id", "user_id", "added_at")[:SCAN_LIMIT]
    )
    result.looked_at += len(rows)
    if not rows:
        return []
    messages = with_message_relations(Message.objects.all()).in_bulk(
        {message_id for _id, message_id, _user, _at in rows}
    )
    notices = []
    for _id, message_id, user_id, added_at in rows:
        message = messages.get(message_id)  # none: gone since (a room deleted)
        if added_at is None or message is None or message.deleted_at is not None:
            continue  # (added_at is set: the filter says so; mypy cannot see it)
        if message.conversation.is_room:
            notices.append(_Notice(message, user_id, added_at))
    NotificationCursor.objects.filter(pk=1).update(last_edit_mention_id=rows[-1][0])
    return notices


def _claim_notices(
    notices: list[_Notice], now: datetime, result: RoundResult, claims: _Claims
) -> None:
    """A MissedMessage for each notice still unread of a user who wants email
    (due CHAT_EMAIL_DELAY_MINUTES after `at`, if not online then) or a push (if
    no page open); the pushes to send, one per user and conversation."""
    notices = [n for n in notices if n.user_id != n.message.sender_id]
    if not notices:
        return
    email_users, push_users = _wanting({n.user_id for n in notices})
    reads = {
        (user_id, conversation_id): read_id
        for user_id, conversation_id, read_id in Membership.objects.filter(
            user_id__in=email_users | push_users,
            conversation_id__in={n.message.conversation_id for n in notices},
        ).values_list("user_id", "conversation_id", "last_read_id")
    }
    open_page: dict[int, bool] = {}
    rows = []
    pushes_by_key: dict[tuple[int, int], tuple[int, push.Push]] = {}
    for notice in notices:
        message, user_id = notice.message, notice.user_id
        read_id = reads.get((user_id, message.conversation_id))
        if read_id is None or read_id >= message.id:
            continue  # not a member (any more), or read already
        email = user_id in email_users and not presence.was_online_at(
            user_id, notice.at
        )
        pushing = False
        if user_id in push_users:
            if user_id not in open_page:
                open_page[user_id] = presence.has_open_page(user_id)
            pushing = not open_page[user_id]
        if not (email or pushing):
            continue
        rows.append(
            MissedMessage(
                user_id=user_id,
                message_id=message.id,
                conversation_id=message.conversation_id,
                sent_at=notice.at,
                email_due_at=notice.at + email_delay() if email else None,
                pushed_at=now if pushing else None,
            )
        )
        key = (user_id, message.conversation_id)
        if pushing and message.id > pushes_by_key.get(key, (0, None))[0]:
            # One per conversation: the newest message's push replaces it.
            pushes_by_key[key] = (message.id, _message_push(message, user_id))
    MissedMessage.objects.bulk_create(rows, ignore_conflicts=True)
    result.missed = len(rows)
    claims.pushes.extend(p for _id, p in pushes_by_key.values())


def _message_push(message: Message, user_id: int) -> push.Push:
    place, path = email_digest.place_and_path(message, reader_id=user_id)
    sender = message.sender.username
    title = sender if place.startswith("@") else f"{sender} · {place}"
    body = message.body
    if len(body) > PUSH_BODY_LENGTH:
        body = body[: PUSH_BODY_LENGTH - 1] + "…"
    return push.message_push(
        user_id=user_id,
        conversation_id=message.conversation_id,
        message_id=message.id,
        title=title,
        body=body,
        url=f"{path}?around={message.id}",
    )


def _is_read() -> Exists:
    """A row's message is at or before its user's read position."""
    return Exists(
        Membership.objects.filter(
            user_id=OuterRef("user_id"),
            conversation_id=OuterRef("conversation_id"),
            last_read_id__gte=OuterRef("message_id"),
        )
    )


def _still_mentioned() -> Exists:
    """A row's message mentions its user (still: an edit may take it back)."""
    return Exists(
        Mention.objects.filter(
            message_id=OuterRef("message_id"), user_id=OuterRef("user_id")
        )
    )


def _claim_clears(now: datetime, result: RoundResult, claims: _Claims) -> None:
    """Pushed rows read since: a "read" push for each conversation all of whose
    pushed rows are read (a newer one unread keeps its notification up)."""
    pushed = list(
        MissedMessage.objects.filter(pushed_at__isnull=False, cleared_at__isnull=True)
        .annotate(read=_is_read())
        .values_list("pk", "user_id", "conversation_id", "read")
    )
    if not pushed:
        return
    unread = {(user, conv) for _pk, user, conv, read in pushed if not read}
    done = [pk for pk, _user, _conv, read in pushed if read]
    cleared = {(user, conv) for _pk, user, conv, read in pushed if read} - unread
    MissedMessage.objects.filter(pk__in=done).update(cleared_at=now)
    for user_id, conversation_id in sorted(cleared):
        claims.clears.append(
            push.read_push(user_id=user_id, conversation_id=conversation_id)
        )
    result.cleared = len(cleared)


def _claim_batches(now: datetime, result: RoundResult, claims: _Claims) -> None:
    """Each user with a row due: every pending row of theirs still unread (and
    still mentioning them, in a room) is claimed for one email; the others (or
    those of users who no longer want email) are cancelled."""
    pending = Q(email_due_at__isnull=False, emailed_at__isnull=True)
    due_users = list(
        MissedMessage.objects.filter(pending, email_due_at__lte=now)
        .values_list("user_id", flat=True)
        .distinct()
        .order_by("user_id")[:EMAIL_USERS_LIMIT]
    )
    if not due_users:
        return
    email_users, _push_users = _wanting(set(due_users))
    pending_rows = (
        MissedMessage.objects.filter(pending, user_id__in=due_users)
        .annotate(read=_is_read(), mentioned=_still_mentioned())
        .values_list(
            *("pk", "user_id", "read", "message__deleted_at"),
            *("conversation__kind", "mentioned", "sent_at"),
        )
        .order_by("message_id")
    )
    # A deleted message is as good as read: nothing to tell; so is a mention
    # in a room that an edit took back, and one that could not be emailed for
    # EMAIL_GIVE_UP.
    rows = [
        (
            pk,
            user,
            read
            or gone is not None
            or (kind == Conversation.Kind.ROOM and not mentioned)
            or sent < now - EMAIL_GIVE_UP,
        )
        for pk, user, read, gone, kind, mentioned, sent in pending_rows
    ]
    cancelled = [pk for pk, user, read in rows if read or user not in email_users]
    for pk, user_id, read in rows:
        if not read and user_id in email_users:
            claims.batches.setdefault(user_id, []).append(pk)
    MissedMessage.objects.filter(pk__in=cancelled).update(email_due_at=None)
    claimed = [pk for pks in claims.batches.values() for pk in pks]
    MissedMessage.objects.filter(pk__in=claimed).update(emailed_at=now)
    result.cancelled = len(cancelled)


def _send_batches(batches: dict[int, list[int]], now: datetime, result: RoundResult):
    if not batches:
        return
    users = User.objects.in_bulk(list(batches))
    rows = MissedMessage.objects.in_bulk([pk for pks in batches.values() for pk in pks])
    messages = {
        message.id: message
        for message in with_message_relations(
            Message.objects.filter(id__in={row.message_id for row in rows.values()})
        )
    }
    for user_id, pks in batches.items():
        batch = [messages[rows[pk].message_id] for pk in pks if pk in rows]
        try:
            email_digest.send_digest(user=users[user_id], messages=batch)
        except Exception:  # the backend's errors (SMTP, network) vary
            logger.warning(
                "email to user %s failed; kept for later", user_id, exc_info=True
            )
            MissedMessage.objects.filter(pk__in=pks).update(
                emailed_at=None, email_due_at=now + EMAIL_RETRY
            )
            result.failed_emails += 1
        else:
            result.emails += 1


def _forget_done(now: datetime) -> None:
    """Rows with no email pending and no notification up (or one too old)."""
    email_done = Q(email_due_at__isnull=True) | Q(emailed_at__isnull=False)
    push_done = (
        Q(pushed_at__isnull=True)
        | Q(cleared_at__isnull=False)
        | Q(pushed_at__lt=now - PUSH_KEEP)
    )
    MissedMessage.objects.filter(email_done & push_done).delete()
