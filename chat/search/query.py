"""The search read: messages the caller can read now that match, newest first."""

from dataclasses import dataclass

from django.db import connection

from accounts.models import User
from chat.errors import InvalidInput
from chat.models import Conversation, Message
from chat.selectors import (
    direct_conversation,
    member_conversation_ids,
    parse_cursor,
    readable_room,
    user_by_username,
    with_message_relations,
)

from .text import Term, highlight, postgres_tsquery, query_terms, sqlite_match

DEFAULT_LIMIT = 20
MAX_LIMIT = 100


@dataclass(frozen=True)
class Found:
    message: Message
    highlight: str


def parse_search_limit(value) -> int:
    """1 to MAX_LIMIT (larger: MAX_LIMIT), DEFAULT_LIMIT if not given."""
    if value is None or value == "":
        return DEFAULT_LIMIT
    digits = isinstance(value, str) and value.isascii() and value.isdigit()
    if digits and len(value) < 20 and int(value) >= 1:
        return min(int(value), MAX_LIMIT)
    raise InvalidInput("invalid", "'limit' must be a whole number of 1 or more.")


def search_messages(
    *,
    user: User,
    query,
    room=None,
    with_user=None,
    sender=None,
    before=None,
    limit: int = DEFAULT_LIMIT,
) -> tuple[list[Found], bool]:
    """Messages `user` can read now matching `query`, newest first, and whether
    more remain (ask again with `before` = the last id).

    `room` (a slug) or `with_user` (a username) narrows it to one conversation
    (refused as history is: a room I am not in is 403); `sender` to one author.
    """
    if not isinstance(query, str) or not query.strip():
        raise InvalidInput("invalid", "'q' must be the text to search for.")
    if room and with_user:
        raise InvalidInput("invalid", "Give 'room' or 'with', not both.")
    before_id = parse_cursor(before, name="before")
    conversations = _conversation_ids(user=user, room=room, with_user=with_user)
    sender_id = user_by_username(sender).pk if sender else None
    terms = query_terms(query)
    if not terms or not conversations:
        return [], False
    ids = matching_ids(
        terms,
        conversations=conversations,
        sender_id=sender_id,
        before=before_id,
        limit=limit + 1,
    )
    page = with_message_relations(Message.objects.filter(id__in=ids[:limit]))
    messages = sorted(page, key=lambda m: m.id, reverse=True)
    found = [Found(m, highlight(m.body, terms)) for m in messages]
    return found, len(ids) > limit


def _conversation_ids(*, user: User, room, with_user) -> list[int]:
    if room:
        return [readable_room(user=user, slug=room).pk]
    if with_user:
        other = user_by_username(with_user)
        if other.pk == user.pk:
            raise InvalidInput("invalid", "A direct conversation needs another user.")
        conversation: Conversation | None = direct_conversation(user=user, other=other)
        return [conversation.pk] if conversation else []
    return member_conversation_ids(user)


# PostgreSQL first reads this many of the newest messages in reach and checks
# each: a common word fills a page there. Only if it does not is the whole
# index read (chat/search/__init__.py says why both).
RECENT_WINDOW = 200


def matching_ids(
    terms: list[Term],
    *,
    conversations: list[int],
    sender_id: int | None,
    before: int | None,
    limit: int,
) -> list[int]:
    """Ids of the newest `limit` matching messages, read on the engine's index."""
    sqlite = connection.vendor == "sqlite"
    where, params = _conditions(
        conversations=conversations, sender_id=sender_id, before=before, sqlite=sqlite
    )
    with connection.cursor() as cursor:
        if sqlite:
            cursor.execute(sqlite_sql(where), [sqlite_match(terms), *params, limit])
            return [row[0] for row in cursor.fetchall()]
        query = postgres_tsquery(terms)
        cursor.execute(
            postgres_recent_sql(where), [*params, RECENT_WINDOW, query, limit]
        )
        ids = [row[0] for row in cursor.fetchall()]
        if len(ids) >= limit:
            return ids
        cursor.execute(postgres_indexed_sql(where), [query, *params, limit])
        return [row[0] for row in cursor.fetchall()]


def _conditions(*, conversations, sender_id, before, sqlite: bool):
    """The filters as SQL on `m` (fixed text) and their values."""
    params: list = []
    if sqlite:
        where = [f"m.conversation_id IN ({', '.join(['%s'] * len(conversations))})"]
        params += conversations
    else:
        where = ["m.conversation_id = ANY(%s)"]
        params.append(conversations)
    where.append("m.deleted_at IS NULL")
    if sender_id is not None:
        where.append("m.sender_id = %s")
        params.append(sender_id)
    if before is not None:
        where.append("m.id < %s")
        params.append(before)
    return " AND ".join(where), params


def sqlite_sql(where: str) -> str:
    """FTS5 hands out matches by rowid, newest first: LIMIT stops it early."""
    return (
        "SELECT m.id FROM chat_message_search s "  # noqa: S608
        "JOIN chat_message m ON m.id = s.rowid "
        f"WHERE chat_message_search MATCH %s AND {where} "
        "ORDER BY s.rowid DESC LIMIT %s"
    )


# The expression of the index message_search.
DOCUMENT = "chat_search_document(m.body) @@ to_tsquery('simple', %s)"


def postgres_recent_sql(where: str) -> str:
    """The newest messages in reach, each checked: a common word's page."""
    return (
        "SELECT recent.id FROM (SELECT m.id, m.body FROM chat_message m "  # noqa: S608
        f"WHERE {where} ORDER BY m.id DESC LIMIT %s) AS recent "
        f"WHERE {DOCUMENT.replace('m.body', 'recent.body')} "
        "ORDER BY recent.id DESC LIMIT %s"
    )


def postgres_indexed_sql(where: str) -> str:
    """Every match, from the GIN index: a rare word's page.

    `m.id + 0`: no index gives that order, so the planner cannot walk the
    primary key backwards computing each row's document until the page fills
    (its estimate for a rare word is 0.5 % of the rows: that walk would read
    the whole table for a word in no message).
    """
    return (
        "SELECT m.id FROM chat_message m "  # noqa: S608
        f"WHERE {DOCUMENT} AND {where} ORDER BY m.id + 0 DESC LIMIT %s"
    )
