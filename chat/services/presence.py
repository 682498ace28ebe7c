"""Presence, the domain's part: a user's status from their connections'
records, what is stored of it, who is told, and the "hide my presence" setting.

Each connection has a record (status, expiry, open) that its process keeps
(chat.realtime.presence): in Redis with REDIS_URL, so that every process reads
every process's records, else in the process's memory. A user is `online`
while a live record says online, `away` while live records all say away,
`offline` when none is left. A closed connection's record lives
CHAT_PRESENCE_GRACE_SECONDS more (a reload does not flicker); an open one
CHAT_PRESENCE_TTL_SECONDS / 2 unless renewed, so a killed process's users go
offline.

The database holds the outcome (`Presence`, `OnlineSpan`): the source of
truth for the HTTP API, `was_online_at` and the debounce, and the guard that
makes one process, not each, send a change (`take_announcements`).
"""

import logging
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import NamedTuple

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from accounts.models import User
from chat import events
from chat.models import Conversation, Membership, OnlineSpan, Presence

logger = logging.getLogger(__name__)

ONLINE, AWAY, OFFLINE = "online", "away", "offline"
CLIENT_STATUSES = (ONLINE, AWAY)


class Record(NamedTuple):
    """One connection's presence: its status, when it expires (Unix seconds),
    whether the connection is still open."""

    status: str
    expires: float
    open: bool

    def dump(self) -> str:
        return f"{self.status} {self.expires:.3f} {int(self.open)}"

    @classmethod
    def load(cls, text: str | bytes) -> "Record | None":
        if isinstance(text, bytes):
            text = text.decode()
        try:
            status, expires, is_open = text.split(" ")
            return cls(status, float(expires), is_open == "1")
        except ValueError:
            return None


def records_key(user_id: int) -> str:
    """The Redis hash of a user's records (field: the connection's name)."""
    layers: dict = settings.CHANNEL_LAYERS
    prefix = layers.get("default", {}).get("CONFIG", {}).get("prefix", "chat")
    return f"{prefix}:presence:{user_id}"


def online_until(records: Iterable[Record], now: float) -> float | None:
    """When the user was last known online from records that ran out or
    closed: a closed one's close, an unrenewed one's last renewal."""
    grace = settings.CHAT_PRESENCE_GRACE_SECONDS
    renewal = settings.CHAT_PRESENCE_TTL_SECONDS / 2
    moments = [
        record.expires - (renewal if record.open else grace)
        for record in records
        if record.status == ONLINE
    ]
    return min(max(moments), now) if moments else None


def status_of(records: Iterable[Record], now: float) -> str:
    """The user's status from their records at `now` (Unix seconds)."""
    live = {record.status for record in records if record.expires > now}
    if ONLINE in live:
        return ONLINE
    return AWAY if AWAY in live else OFFLINE


# Whether a user has an open connection in this process, from its records in
# memory (no REDIS_URL): the runtime installs it.
OpenHere = Callable[[int], bool]
_open_here: OpenHere | None = None


def use_open_here(reader: OpenHere | None) -> None:
    global _open_here
    _open_here = reader


# --- what is stored -------------------------------------------------------------


def record_statuses(
    statuses: Mapping[int, str],
    now: datetime,
    left_at: Mapping[int, datetime] | None = None,
) -> list[int]:
    """Store each user's status; the ids of those whose status changed.

    One transaction for the lot; a user leaving or coming online closes or
    opens their OnlineSpan and moves last_active_at (to `left_at`, when their
    last online record stopped being renewed, if known: not the end of the
    grace).
    """
    left_at = left_at or {}
    changed: list[int] = []
    # One light read first: in a storm of reconnects nearly every status is
    # the one stored, and those need no lock, no row object and no write.
    stored = dict(
        Presence.objects.filter(pk__in=list(statuses)).values_list("pk", "status")
    )
    differ = [
        user_id for user_id, status in statuses.items() if stored.get(user_id) != status
    ]
    if not differ:
        return changed
    with transaction.atomic():
        missing = set(differ) - set(stored)
        if missing:
            Presence.objects.bulk_create(
                [Presence(user_id=user_id) for user_id in missing],
                ignore_conflicts=True,
            )
        rows = Presence.objects.select_for_update().filter(pk__in=differ)
        opened, closed, saved = [], [], []
        for row in rows.order_by("pk"):
            status = statuses[row.pk]
            if row.status == status:
                continue
            was_online = row.status == ONLINE
            row.status = status
            if was_online or status == ONLINE:
                row.last_active_at = (
                    now if status == ONLINE else left_at.get(row.pk, now)
                )
            saved.append(row)
            changed.append(row.pk)
            if status == ONLINE:
                opened.append(OnlineSpan(user_id=row.pk, started_at=now))
            elif was_online:
                closed.append(row)
        if saved:
            Presence.objects.bulk_update(
                saved, ["status", "last_active_at"], batch_size=500
            )
        for row in closed:
            OnlineSpan.objects.filter(user_id=row.pk, ended_at=None).update(
                ended_at=row.last_active_at
            )
        if opened:
            OnlineSpan.objects.bulk_create(opened)
    return changed


def users_to_check() -> list[int]:
    """Users shown other than offline, or told other than what they are: the
    sweep looks at their records again (a process that died, a debounce)."""
    return list(
        Presence.objects.filter(~Q(status=OFFLINE) | ~Q(told=F("status"))).values_list(
            "pk", flat=True
        )
    )


def prune_spans(now: datetime) -> int:
    horizon = now - timedelta(days=settings.CHAT_PRESENCE_SPAN_DAYS)
    deleted, _ = OnlineSpan.objects.filter(ended_at__lt=horizon).delete()
    return deleted


# --- who is told ----------------------------------------------------------------


@dataclass(frozen=True)
class Announcement:
    """A `presence` frame and the groups it goes to."""

    user_id: int
    groups: list[str]
    text: str
    seq: str

    async def publish(self) -> bool:
        return await events.publish_presence(
            groups=self.groups, user_id=self.user_id, seq=self.seq, text=self.text
        )


def visible(row: Presence | None, now: datetime) -> tuple[str, datetime | None]:
    """(status, last_active_at) as the others see them."""
    if row is None or row.hidden:
        return OFFLINE, None
    if row.status == ONLINE:
        return ONLINE, now
    return row.status, row.last_active_at


def take_announcements(
    user_ids: Iterable[int], now: datetime, debounce: float
) -> tuple[list[Announcement], dict[int, float]]:
    """The frames due for these users, marked as told; and, for those whose
    last frame is too recent (the debounce), how many seconds to wait.

    The rows are locked while they are marked: when processes race, one
    sends each change. A few queries for the lot, however many users.
    """
    announcements: list[Announcement] = []
    waits: dict[int, float] = {}
    due: list[tuple[Presence, str, datetime | None]] = []
    with transaction.atomic():
        rows = (
            Presence.objects.select_for_update(of=("self",))
            .filter(pk__in=list(user_ids))
            .select_related("user")
            .order_by("pk")
        )
        for row in rows:
            status, last_active_at = visible(row, now)
            if status == row.told:
                continue
            if row.told_at is not None:
                since = (now - row.told_at).total_seconds()
                if 0 <= since < debounce:
                    waits[row.pk] = debounce - since
                    continue
            row.told, row.told_at = status, now
            due.append((row, status, last_active_at))
        if due:
            told = [row for row, _, _ in due]
            Presence.objects.bulk_update(told, ["told", "told_at"], batch_size=500)
    audiences = audience_groups([row.pk for row, _, _ in due])
    seq = f"{now.timestamp():.6f}"
    for row, status, last_active_at in due:
        groups = audiences.get(row.pk)
        if groups:
            text = events.presence_frame(
                user=row.user, status=status, last_active_at=last_active_at
            )
            announcements.append(Announcement(row.pk, groups, text, seq))
    return announcements, waits


def audience_groups(user_ids: Iterable[int]) -> dict[int, list[str]]:
    """For each user, the groups reaching everyone who shares a conversation
    with them: their rooms' groups and their direct conversations' other
    users'. One query."""
    groups: dict[int, list[str]] = {}
    memberships = Membership.objects.filter(user_id__in=list(user_ids)).values_list(
        "user_id",
        "conversation_id",
        "conversation__kind",
        "conversation__direct_low_id",
        "conversation__direct_high_id",
    )
    for user_id, pk, kind, low, high in memberships:
        if kind == Conversation.Kind.ROOM:
            group = events.room_group(pk)
        else:
            group = events.user_group(high if low == user_id else low)
        groups.setdefault(user_id, []).append(group)
    return groups


def announce_now(user_id: int) -> None:
    """Tell the others of the user's visible status if it is due (a sync
    caller: the account page); a debounced one the runtime's sweep sends."""
    from asgiref.sync import async_to_sync

    announcements, _ = take_announcements(
        [user_id], timezone.now(), settings.CHAT_PRESENCE_DEBOUNCE_SECONDS
    )
    for announcement in announcements:
        async_to_sync(announcement.publish)()


# --- the setting ----------------------------------------------------------------


def set_hidden(*, user: User, hidden: bool) -> bool:
    """Hide (or show again) the user's presence; whether it changed. Others
    are told once it commits: `offline` when hidden, the status when shown."""
    with transaction.atomic():
        Presence.objects.get_or_create(user=user)
        changed = (
            Presence.objects.filter(pk=user.pk)
            .exclude(hidden=hidden)
            .update(hidden=hidden)
        )
        if changed and settings.CHAT_PRESENCE_ENABLED:
            transaction.on_commit(lambda: announce_now(user.pk))
    return bool(changed)


def is_hidden(user: User) -> bool:
    return Presence.objects.filter(pk=user.pk, hidden=True).exists()


# --- reads ----------------------------------------------------------------------


def sharing_users(user: User):
    """Everyone else who shares a conversation with `user`."""
    mine = Membership.objects.filter(user=user).values("conversation_id")
    return (
        User.objects.filter(memberships__conversation_id__in=mine)
        .exclude(pk=user.pk)
        .distinct()
    )


def presence_payload(user: User, row: Presence | None, now: datetime) -> dict:
    status, last_active_at = visible(row, now)
    if not settings.CHAT_PRESENCE_ENABLED:
        status, last_active_at = OFFLINE, None
    return {
        "id": user.pk,
        "username": user.username,
        "status": status,
        "last_active_at": events.isoformat(last_active_at) if last_active_at else None,
    }


def presence_of_sharing_users(user: User) -> list[dict]:
    """GET /api/presence/: everyone who shares a conversation with `user`."""
    users = list(sharing_users(user).order_by("username"))
    rows = Presence.objects.in_bulk([other.pk for other in users])
    now = timezone.now()
    return [presence_payload(other, rows.get(other.pk), now) for other in users]


def statuses_of(user_ids: Iterable[int]) -> dict[int, str]:
    """Each user's status as the others see it (a room's member list)."""
    rows = Presence.objects.in_bulk(list(user_ids))
    now = timezone.now()
    return {
        user_id: (
            visible(rows.get(user_id), now)[0]
            if settings.CHAT_PRESENCE_ENABLED
            else OFFLINE
        )
        for user_id in user_ids
    }


# --- for other parts of the server (missed-message email, web push) -----------


def was_online_at(user_id: int, when: datetime) -> bool:
    """Whether the user had an online (not away) connection at `when`, as far
    as the stored spans know (a killed process's are closed by the sweep)."""
    return (
        OnlineSpan.objects.filter(user_id=user_id, started_at__lte=when)
        .filter(Q(ended_at=None) | Q(ended_at__gte=when))
        .exists()
    )


def has_open_page(user_id: int) -> bool:
    """Whether the user has a live connection now, in any process.

    With REDIS_URL, their records in Redis; in the serving process, its own
    records; elsewhere (a manage.py command on the embedded engine) what the
    database last held.
    """
    if settings.REDIS_URL:
        try:
            values = _redis().hvals(records_key(user_id))
        except Exception:
            logger.warning("could not read presence records", exc_info=True)
        else:
            now = time.time()
            records = (Record.load(value) for value in values)
            return any(r is not None and r.open and r.expires > now for r in records)
    if _open_here is not None:
        return _open_here(user_id)
    return Presence.objects.filter(pk=user_id).exclude(status=OFFLINE).exists()


_sync_client = None


def _redis():
    global _sync_client
    if _sync_client is None:
        import redis

        _sync_client = redis.Redis.from_url(
            settings.REDIS_URL, socket_timeout=2, socket_connect_timeout=2
        )
    return _sync_client
