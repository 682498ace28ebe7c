"""Reads: what a user may see. Every read path (sync, history, long poll) is here."""

import functools
from collections.abc import Iterable

from django.conf import settings
from django.db import connection
from django.db.models import (
    Count,
    Exists,
    IntegerField,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Value,
)
from django.db.models.functions import Coalesce

from accounts.models import User

from .errors import Forbidden, InvalidInput, NotFound
from .models import Conversation, Membership, Message, Mute
from .text import is_storable, quoted

MAX_ID = 2**63 - 1


def with_message_relations(messages: QuerySet) -> QuerySet:
    """What events.message_payload reads, fetched in the same query."""
    return messages.select_related(
        "sender", "conversation__direct_low", "conversation__direct_high"
    )


def _is_number_text(value) -> bool:
    """ASCII digits int() takes: not '²' (isdigit, but no int), not 5,000 digits."""
    return (
        isinstance(value, str)
        and value.isascii()
        and value.isdigit()
        and len(value) <= 20
    )


def parse_cursor(value, *, name: str, default: int | None = None) -> int | None:
    """A message id given by a client: a whole number from 0 to 2**63-1."""
    if value is None or value == "":
        return default
    if _is_number_text(value):
        value = int(value)
    if (
        isinstance(value, bool)
        or not isinstance(value, int)
        or not 0 <= value <= MAX_ID
    ):
        raise InvalidInput("invalid", f"'{name}' must be a message id (0 or more).")
    return value


def parse_limit(value) -> int:
    """A page size: 1 to CHAT_SYNC_MAX_LIMIT, CHAT_SYNC_DEFAULT_LIMIT if not given."""
    if value is None or value == "":
        return settings.CHAT_SYNC_DEFAULT_LIMIT
    if _is_number_text(value):
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InvalidInput("invalid", "'limit' must be a whole number of 1 or more.")
    return min(value, settings.CHAT_SYNC_MAX_LIMIT)


def member_conversation_ids(user: User) -> list[int]:
    return list(
        Membership.objects.filter(user=user).values_list("conversation_id", flat=True)
    )


def messages_after(*, user: User, after: int, limit: int) -> tuple[list[Message], bool]:
    """Messages visible to `user` with an id above `after`, oldest first.

    Returns at most `limit` of them and whether more remain. Each conversation
    is read on its (conversation, id) index, newest-first pages merged here:
    one query over all of them walks the whole table by id when the user's
    rooms are quiet (the common "anything new?" sync found nothing), so its
    time would grow with every other room's traffic.
    """
    ids: list[int] = []
    for conversation_id in member_conversation_ids(user):
        ids += (
            Message.objects.filter(conversation_id=conversation_id, id__gt=after)
            .order_by("id")
            .values_list("id", flat=True)[: limit + 1]
        )
    ids = sorted(ids)[: limit + 1]
    if not ids:
        return [], False
    page = Message.objects.filter(id__in=ids[:limit]).order_by("id")
    return list(with_message_relations(page)), len(ids) > limit


def last_id_created_before(moment) -> int:
    """The id of the newest message created before `moment` (0 if none)."""
    last = (
        Message.objects.filter(created_at__lt=moment)
        .order_by("-created_at", "-id")
        .values_list("id", flat=True)
        .first()
    )
    return last or 0


def last_visible_id(user: User) -> int:
    """The newest message id `user` can see, or 0 (one index probe per conversation)."""
    return last_visible_ids([user])[0]


# Users read in one query at most (their ids are the query's parameters).
USERS_PER_QUERY = 200


def last_visible_ids(users: list[User]) -> list[int]:
    """last_visible_id of each user, in one query (the handshakes of a moment).

    Plain SQL: it runs at every WebSocket handshake, and the ORM spent twenty
    times longer building this query than the database spent answering it.
    """
    newest: dict[int, int] = {}
    ids = sorted({user.pk for user in users})
    with connection.cursor() as cursor:
        for start in range(0, len(ids), USERS_PER_QUERY):
            chunk = ids[start : start + USERS_PER_QUERY]
            cursor.execute(_last_visible_ids_sql(connection.vendor, len(chunk)), chunk)
            newest.update((user_id, last or 0) for user_id, last in cursor.fetchall())
    return [newest.get(user.pk, 0) for user in users]


def _column(model, name: str) -> str:
    return connection.ops.quote_name(model._meta.get_field(name).column)


@functools.cache
def _last_visible_ids_sql(vendor: str, count: int) -> str:
    q = connection.ops.quote_name
    message_id = _column(Message, "id")
    newest = (
        f"SELECT m.{message_id} FROM {q(Message._meta.db_table)} m "  # noqa: S608
        f"WHERE m.{_column(Message, 'conversation')} = "
        f"b.{_column(Membership, 'conversation')} "
        f"ORDER BY m.{message_id} DESC LIMIT 1"
    )
    user = f"b.{_column(Membership, 'user')}"
    return (
        f"SELECT {user}, MAX(({newest})) "  # noqa: S608
        f"FROM {q(Membership._meta.db_table)} b "
        f"WHERE {user} IN ({', '.join(['%s'] * count)}) GROUP BY {user}"
    )


def conversation_history(
    *, conversation: Conversation, after: int | None, before: int | None, limit: int
) -> tuple[list[Message], bool]:
    """A page of one conversation's messages, oldest first.

    With `after`: the oldest `limit` newer than it; otherwise the newest `limit`
    (older than `before` if given). The flag says whether more lie beyond the page.
    """
    messages = with_message_relations(Message.objects.filter(conversation=conversation))
    if before is not None:
        messages = messages.filter(id__lt=before)
    if after is not None:
        rows = list(messages.filter(id__gt=after).order_by("id")[: limit + 1])
        return rows[:limit], len(rows) > limit
    rows = list(messages.order_by("-id")[: limit + 1])
    return list(reversed(rows[:limit])), len(rows) > limit


def conversation_history_around(
    *, conversation: Conversation, around: int, limit: int
) -> tuple[list[Message], bool, bool]:
    """A page of one conversation centred on the message `around`, oldest first:
    up to half of `limit` older than it, then it and newer ones.

    Returns the page and whether older and newer messages lie beyond it.
    """
    messages = with_message_relations(Message.objects.filter(conversation=conversation))
    older = list(messages.filter(id__lt=around).order_by("-id")[: limit + 1])
    newer = list(messages.filter(id__gte=around).order_by("id")[: limit + 1])
    # Half before it; more when the newer side runs out, less when the older does.
    keep_older = min(len(older), max(limit // 2, limit - len(newer)))
    keep_newer = min(len(newer), limit - keep_older)
    page = list(reversed(older[:keep_older])) + newer[:keep_newer]
    return page, len(older) > keep_older, len(newer) > keep_newer


def _require_name(value, field: str, what: str) -> None:
    if not isinstance(value, str) or not value:
        raise InvalidInput("invalid", f"'{field}' must be {what}.")


def room_by_slug(slug) -> Conversation:
    _require_name(slug, "room", "a room's name")
    if not is_storable(slug):
        raise NotFound(f"No room named {quoted(slug)}.")
    try:
        return Conversation.objects.get(kind=Conversation.Kind.ROOM, slug=slug)
    except Conversation.DoesNotExist:
        raise NotFound(f"No room named {quoted(slug)}.") from None


def room_membership(*, user: User, slug) -> Membership:
    """`user`'s membership of the room `slug`, with the room; refuses strangers."""
    _require_name(slug, "room", "a room's name")
    if not is_storable(slug):
        raise NotFound(f"No room named {quoted(slug)}.")
    membership = (
        Membership.objects.select_related("conversation")
        .filter(
            user=user,
            conversation__kind=Conversation.Kind.ROOM,
            conversation__slug=slug,
        )
        .first()
    )
    if membership is None:
        room = room_by_slug(slug)
        raise Forbidden(f"You are not a member of '{room.slug}': join it first.")
    return membership


def room_memberships(
    pairs: Iterable[tuple[int, str]],
) -> dict[tuple[int, str], Membership]:
    """The memberships, with their room, of the (user id, room slug) pairs that
    have one, in one query (the batch writer's room_membership lookups).

    A pair whose slug is no room's name, or whose user is no member, is left
    out: room_membership then says why. Each has `muted`: whether its user
    may not write in the room now.
    """
    wanted = {
        (user_id, slug)
        for user_id, slug in pairs
        if isinstance(slug, str) and slug and is_storable(slug)
    }
    if not wanted:
        return {}
    muted = Mute.objects.filter(
        Mute.in_force(), room=OuterRef("conversation_id"), user=OuterRef("user_id")
    )
    memberships = (
        Membership.objects.select_related("conversation")
        .filter(
            conversation__kind=Conversation.Kind.ROOM,
            conversation__slug__in={slug for _, slug in wanted},
            user_id__in={user_id for user_id, _ in wanted},
        )
        .annotate(muted=Exists(muted))
    )
    # Users and slugs were asked for apart: keep the pairs that were asked.
    found = {(m.user_id, m.conversation.slug): m for m in memberships}
    return {pair: membership for pair, membership in found.items() if pair in wanted}


def readable_room(*, user: User, slug) -> Conversation:
    """A room whose messages `user` may read: a member's, else refused."""
    return room_membership(user=user, slug=slug).conversation


def user_by_username(username) -> User:
    _require_name(username, "to", "a username")
    if not is_storable(username):
        raise NotFound(f"No user named {quoted(username, 150)}.")
    try:
        return User.objects.get(username=username, is_active=True)
    except User.DoesNotExist:
        raise NotFound(f"No user named {quoted(username, 150)}.") from None


def direct_conversation(*, user: User, other: User) -> Conversation | None:
    low, high = sorted([user.pk, other.pk])
    return Conversation.objects.filter(
        kind=Conversation.Kind.DIRECT, direct_low_id=low, direct_high_id=high
    ).first()


def rooms_visible_to(user: User) -> QuerySet:
    """Public rooms, and private rooms `user` is a member of."""
    return (
        Conversation.objects.filter(kind=Conversation.Kind.ROOM)
        .filter(Q(is_private=False) | Q(memberships__user=user))
        .distinct()
    )


def room_group_ids(user: User) -> list[int]:
    """The rooms whose live messages `user`'s connections receive."""
    return room_group_ids_of([user])[0]


def room_group_ids_of(users: list[User]) -> list[list[int]]:
    """room_group_ids of each user, in one query (plain SQL, as last_visible_ids)."""
    rooms: dict[int, list[int]] = {}
    ids = sorted({user.pk for user in users})
    with connection.cursor() as cursor:
        for start in range(0, len(ids), USERS_PER_QUERY):
            chunk = ids[start : start + USERS_PER_QUERY]
            cursor.execute(
                _room_group_ids_sql(connection.vendor, len(chunk)),
                [Conversation.Kind.ROOM.value, *chunk],
            )
            for user_id, room_id in cursor.fetchall():
                rooms.setdefault(user_id, []).append(room_id)
    return [list(rooms.get(user.pk, ())) for user in users]


@functools.cache
def _room_group_ids_sql(vendor: str, count: int) -> str:
    q = connection.ops.quote_name
    conversation = _column(Membership, "conversation")
    user = f"b.{_column(Membership, 'user')}"
    return (
        f"SELECT {user}, b.{conversation} "  # noqa: S608
        f"FROM {q(Membership._meta.db_table)} b "
        f"INNER JOIN {q(Conversation._meta.db_table)} c "
        f"ON c.{_column(Conversation, 'id')} = b.{conversation} "
        f"WHERE c.{_column(Conversation, 'kind')} = %s "
        f"AND {user} IN ({', '.join(['%s'] * count)})"
    )


def is_member(*, user: User, conversation: Conversation) -> bool:
    return Membership.objects.filter(user=user, conversation=conversation).exists()


def with_owners(rooms: QuerySet) -> QuerySet:
    """Rooms with their owner memberships, the longest-standing first
    (`owner_memberships`, read by room_owners)."""
    owners = (
        Membership.objects.filter(role=Membership.Role.OWNER)
        .select_related("user")
        .order_by("joined_at", "pk")
    )
    return rooms.prefetch_related(
        Prefetch("memberships", queryset=owners, to_attr="owner_memberships")
    )


def room_owners(room: Conversation) -> list[User]:
    """A room's owners, the longest-standing first (prefetched by with_owners)."""
    memberships = getattr(room, "owner_memberships", None)
    if memberships is None:
        memberships = (
            room.memberships.filter(role=Membership.Role.OWNER)
            .select_related("user")
            .order_by("joined_at", "pk")
        )
    return [membership.user for membership in memberships]


def room_owner(room: Conversation) -> User | None:
    """The room's longest-standing owner, the one its `owner` field names."""
    owners = room_owners(room)
    return owners[0] if owners else None


def is_owner(*, user: User, conversation: Conversation) -> bool:
    return Membership.objects.filter(
        user=user, conversation=conversation, role=Membership.Role.OWNER
    ).exists()


MODERATING_ROLES = (Membership.Role.OWNER, Membership.Role.MODERATOR)


def is_moderator(*, user: User, conversation: Conversation) -> bool:
    """An owner or a moderator of the room (staff are not asked here)."""
    return Membership.objects.filter(
        user=user, conversation=conversation, role__in=MODERATING_ROLES
    ).exists()


def role_in(*, user: User, conversation: Conversation) -> str | None:
    """`user`'s role in the room, None if not a member."""
    return (
        Membership.objects.filter(user=user, conversation=conversation)
        .values_list("role", flat=True)
        .first()
    )


def member_count(room: Conversation) -> int:
    return Membership.objects.filter(conversation=room).count()


def with_room_counts(rooms: QuerySet, user: User) -> QuerySet:
    """Rooms with their owners, `member_count` and `with_activity` for `user`.

    Subqueries, not joins: a join would count only the memberships that matched
    another filter on the rooms, and multiply members by messages.
    """
    member_count = (
        Membership.objects.filter(conversation=OuterRef("pk"))
        .order_by()
        .values("conversation")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return with_activity(
        with_owners(rooms).annotate(
            member_count=Coalesce(
                Subquery(member_count, output_field=IntegerField()), Value(0)
            )
        ),
        user,
    )


def rooms_of(user: User) -> list[Conversation]:
    """The rooms `user` is in, the newest activity first (`with_activity`)."""
    rooms = Conversation.objects.filter(
        kind=Conversation.Kind.ROOM, memberships__user=user
    )
    return list(with_activity(rooms, user).order_by("-last_id", "slug"))


def public_rooms_to_join(user: User, *, limit: int = 50) -> QuerySet:
    """Public rooms `user` is not in, by name."""
    return (
        Conversation.objects.filter(kind=Conversation.Kind.ROOM, is_private=False)
        .exclude(memberships__user=user)
        .order_by("slug")[:limit]
    )


def read_position(user: User, conversation: Conversation) -> int:
    """How far `user` has read `conversation` (0 if not a member)."""
    return (
        conversation.memberships.filter(user=user)
        .values_list("last_read_id", flat=True)
        .first()
        or 0
    )


def direct_conversations_of(user: User) -> list[tuple[Conversation, User]]:
    """`user`'s direct conversations with the other user, most recently active first.

    Each has the annotations of `with_activity`.
    """
    conversations = with_activity(
        Conversation.objects.filter(
            kind=Conversation.Kind.DIRECT, memberships__user=user
        ).select_related("direct_low", "direct_high"),
        user,
    ).order_by("-last_id", "-pk")
    return [
        (c, c.direct_high if c.direct_low_id == user.pk else c.direct_low)
        for c in conversations
    ]


def with_activity(conversations: QuerySet, user: User) -> QuerySet:
    """Conversations with their newest message and `user`'s unread count.

    Annotates `last_id` (0 if none), `last_message_at`, `read_id` (`user`'s read
    position, 0 if not a member), `unread`: the messages of others after it, and
    `mentions`: those of them that mention `user` (Membership.unread_mentions).
    Each is a subquery over the (conversation, id) index; where `user` is no
    member the position is NULL, so the count reads no rows at all.
    """
    newest = Message.objects.filter(conversation=OuterRef("pk")).order_by("-id")
    membership = Membership.objects.filter(user=user, conversation=OuterRef("pk"))
    position = membership.values("last_read_id")[:1]
    annotated = conversations.annotate(
        last_id=Coalesce(
            Subquery(newest.values("id")[:1], output_field=IntegerField()), Value(0)
        ),
        last_message_at=Subquery(newest.values("created_at")[:1]),
        membership_read_id=Subquery(position, output_field=IntegerField()),
        mentions=Coalesce(
            Subquery(
                membership.values("unread_mentions")[:1], output_field=IntegerField()
            ),
            Value(0),
        ),
    )
    unread = (
        Message.objects.filter(
            conversation=OuterRef("pk"), id__gt=OuterRef("membership_read_id")
        )
        .exclude(sender=user)
        .order_by()
        .values("conversation")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return annotated.annotate(
        read_id=Coalesce("membership_read_id", Value(0)),
        unread=Coalesce(Subquery(unread, output_field=IntegerField()), Value(0)),
    )


def unread_count(*, user: User, conversation: Conversation, after: int) -> int:
    """Messages of others in `conversation` with an id above `after`."""
    return (
        Message.objects.filter(conversation=conversation, id__gt=after)
        .exclude(sender=user)
        .count()
    )


PEOPLE_LIMIT = 20


def people_matching(*, query: str, viewer: User, limit: int = PEOPLE_LIMIT) -> list:
    """Active users whose name contains `query`, those starting with it first.

    For the people directory and the quick switcher: at most `limit`, never
    the viewer, never an inactive account. An empty query lists the first
    names in order.
    """
    query = (query or "").strip()[:150]
    if "\x00" in query:
        return []  # no username holds one, and PostgreSQL refuses it in a query
    people = User.objects.filter(is_active=True).exclude(pk=viewer.pk)
    if query:
        people = people.filter(username__icontains=query)
    found = list(people.order_by("username")[: max(limit * 5, limit)])
    lowered = query.lower()
    found.sort(key=lambda u: (not u.username.lower().startswith(lowered), u.username))
    return found[:limit]
