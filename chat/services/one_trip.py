"""Storing a batch of messages on PostgreSQL in one round trip.

The ORM's way (BEGIN, the ordering lock, a query for client_ids used before, a
savepoint, the INSERT, its release, COMMIT) is seven round trips, and on the
writer's thread each one also waits to win the GIL back from the busy event
loop: most of a batch's time went there, and a message waits for the batch
before it as well as its own.

Here the lock and the insert go to PostgreSQL as one simple query of two
statements. Sent outside a transaction, PostgreSQL runs such a query as one
transaction of its own, so the lock still covers the insert up to its commit
and ids still commit in order (chat.ordering); inside the caller's transaction
(a view's, a test's) they simply join it. `ON CONFLICT DO NOTHING` on the
(sender, client_id) constraint replaces the query for earlier client_ids: a
row that comes back as not inserted was sent before, and only then is the
earlier message read.

psycopg's client-side binding (Django's default) sends a query with its values
through the simple protocol, which takes several statements; with server-side
binding this is not available and the caller takes the ORM's way.
"""

import functools

from django.db import connection
from django.utils import timezone

from chat import ordering
from chat.models import Membership, Message, Mute


def available() -> bool:
    """Whether this connection can send the lock and the insert as one query."""
    if connection.vendor != "postgresql":
        return False
    options = connection.settings_dict.get("OPTIONS") or {}
    return not options.get("server_side_binding")


def insert_messages(rows: list[dict]) -> list[Message | None]:
    """Insert `rows` (conversation, sender, body, client_id) under the ordering
    lock, each only if its sender is a member of its conversation (checked in
    the same statement, so a conversation known from before needs no lookup)
    and not muted in it.

    Each answer is the new Message, or None where the row was not inserted:
    the sender used the client_id before (or earlier in `rows`), or is not a
    member (any more), or is muted there. Raises what the database raises;
    then nothing of the batch was stored.
    """
    now = timezone.now()
    params: list = [ordering.MESSAGES]
    for number, row in enumerate(rows):
        params += [
            row["conversation"].pk,
            row["sender"].pk,
            row["body"],
            row["client_id"],
            now,
            number,
        ]
    with connection.cursor() as cursor:
        cursor.execute(_insert_sql(len(rows)), params)
        cursor.nextset()  # past the lock's result, to the insert's
        inserted = {(sender_id, client_id): pk for pk, sender_id, client_id in cursor}
    answers: list[Message | None] = []
    for row in rows:
        pk = inserted.pop((row["sender"].pk, row["client_id"]), None)
        if pk is None:
            answers.append(None)
            continue
        message = Message(
            id=pk,
            conversation=row["conversation"],
            sender=row["sender"],
            body=row["body"],
            client_id=row["client_id"],
            created_at=now,
        )
        message._state.adding = False
        message._state.db = connection.alias
        answers.append(message)
    return answers


@functools.cache
def _insert_sql(count: int) -> str:
    q = connection.ops.quote_name

    def column(model, name: str) -> str:
        return q(model._meta.get_field(name).column)

    names = ["conversation", "sender", "body", "client_id", "created_at"]
    # A new message mentions no one (a body that may is stored the ORM's way),
    # has no reactions yet, and no files (a message with files is, too).
    names += ["mentions", "reactions", "attachments"]
    columns = ", ".join(column(Message, name) for name in names)
    row = "(%s::bigint, %s::bigint, %s::text, %s::text, %s::timestamptz, %s::int)"
    values = ", ".join([row] * count)
    member = (
        f"SELECT 1 FROM {q(Membership._meta.db_table)} m "  # noqa: S608
        f"WHERE m.{column(Membership, 'conversation')} = v.conversation "
        f"AND m.{column(Membership, 'user')} = v.sender"
    )
    # A sender muted in the room at the message's time is refused like a
    # stranger: looked up again, and told until when (messages._prepare).
    muted = (
        f"SELECT 1 FROM {q(Mute._meta.db_table)} mu "  # noqa: S608
        f"WHERE mu.{column(Mute, 'room')} = v.conversation "
        f"AND mu.{column(Mute, 'user')} = v.sender "
        f"AND (mu.{column(Mute, 'expires_at')} IS NULL "
        f"OR mu.{column(Mute, 'expires_at')} > v.created_at)"
    )
    conflict = f"{column(Message, 'sender')}, {column(Message, 'client_id')}"
    returning = f"{column(Message, 'id')}, {conflict}"
    # Names from the models and placeholders only: the values travel as params.
    # ORDER BY: the ids are drawn in the order the messages came.
    insert = (
        f"INSERT INTO {q(Message._meta.db_table)} ({columns}) "  # noqa: S608
        "SELECT v.conversation, v.sender, v.body, v.client_id, v.created_at, "
        "'[]'::jsonb, '[]'::jsonb, '[]'::jsonb "
        f"FROM (VALUES {values}) "
        "AS v (conversation, sender, body, client_id, created_at, number) "
        f"WHERE EXISTS ({member}) AND NOT EXISTS ({muted}) ORDER BY v.number"
    )
    return (
        f"SELECT pg_advisory_xact_lock(%s); {insert} "
        f"ON CONFLICT ({conflict}) DO NOTHING RETURNING {returning}"
    )
