"""Set-up inside the server's own Django: users, tokens, rooms, stored history.

Run by the bench as `python -m bench.fixtures COMMAND` with the same environment
as the daphne it measures (so the same database), never imported by the bench
itself. Users, tokens, rooms and memberships are made through our services;
history rows for the page-timing scenario are inserted in bulk with SQL, since a
million messages through the service would take longer than the benchmark.
Prints one JSON object on stdout.
"""

import argparse
import json
import os
import sys
from collections.abc import Sequence


def _setup_django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chatsite.settings")
    import django

    django.setup()


def make_population(
    *,
    users: int,
    rooms: list[tuple[str, int]],
    own_rooms: tuple[str, int] | None = None,
    spread: Sequence[tuple[str, int, int, int]] = (),
) -> dict:
    """`users` users with a token each; each room has the first `count` users.

    `own_rooms` (PREFIX, N): the first N users each get a room of their own,
    PREFIX<i>, with no other member (the writers scenario).
    `spread` (PREFIX, SIZE, ROOMS, OFFSET): ROOMS rooms PREFIX<i> of SIZE
    users each, one after the other from user OFFSET (the presence scenario).
    """
    from django.contrib.auth.hashers import make_password
    from django.core.management import call_command
    from django.db import transaction

    from accounts.models import User
    from accounts.tokens import create_token
    from chat.services.rooms import create_room, join_room

    call_command("migrate", verbosity=0, interactive=False)
    unusable = make_password(None)
    with transaction.atomic():
        people = User.objects.bulk_create(
            [User(username=f"bench{i}", password=unusable) for i in range(users)]
        )
    people = list(User.objects.filter(username__startswith="bench").order_by("id"))
    tokens = []
    with transaction.atomic():
        for user in people:
            _, plaintext = create_token(user=user, name="bench")
            tokens.append(plaintext)
    room_ids = {}
    for slug, count in rooms:
        with transaction.atomic():
            room = create_room(slug=slug, owner=people[0], title=slug)
            for user in people[1:count]:
                join_room(user=user, slug=slug)
        room_ids[slug] = room.pk
    for prefix, size, count, offset in spread:
        for i in range(count):
            members = people[offset + i * size : offset + (i + 1) * size]
            if not members:
                break
            with transaction.atomic():
                room = create_room(slug=f"{prefix}{i}", owner=members[0], title=prefix)
                for user in members[1:]:
                    join_room(user=user, slug=room.slug)
            room_ids[room.slug] = room.pk
    if own_rooms is not None:
        prefix, count = own_rooms
        with transaction.atomic():
            for i, user in enumerate(people[:count]):
                room = create_room(slug=f"{prefix}{i}", owner=user, title=prefix)
                room_ids[room.slug] = room.pk
    return {
        "users": [
            {"id": user.pk, "username": user.username, "token": token}
            for user, token in zip(people, tokens, strict=True)
        ],
        "rooms": room_ids,
    }


def fill_history(*, total: int, big: str, quiet: str, quiet_count: int) -> dict:
    """Store messages until the table holds `total`, in rows written by SQL.

    The room `quiet` gets `quiet_count` messages first, the oldest ids; every
    later row goes to the room `big`. A member of the quiet room reads the same
    pages whatever the table holds, so its timings show whether a read walks the
    table (a scan grows with it) or goes straight to the room (an index does not).
    """
    from django.db import connection, transaction

    from accounts.models import User
    from chat.models import Conversation, Message
    from chat.services.rooms import create_room

    # The last two bench users are in no other room: each reads one room only.
    people = list(User.objects.filter(username__startswith="bench").order_by("-id")[:2])
    quiet_owner, owner = people[0], people[1]
    for slug, room_owner in ((big, owner), (quiet, quiet_owner)):
        if not Conversation.objects.filter(slug=slug).exists():
            create_room(slug=slug, owner=room_owner, title=slug)
    big_id = Conversation.objects.get(slug=big).pk
    quiet_id = Conversation.objects.get(slug=quiet).pk
    table = Message._meta.db_table
    if connection.vendor == "postgresql":
        series = "SELECT g AS n FROM generate_series(%s, %s) AS g"
        now = "now()"
    else:
        series = (
            "WITH RECURSIVE s(n) AS (SELECT %s UNION ALL "
            "SELECT n + 1 FROM s WHERE n < %s) SELECT n FROM s"
        )
        now = "strftime('%%Y-%%m-%%d %%H:%%M:%%f', 'now')"
    insert = (
        f"INSERT INTO {table} "  # noqa: S608 - our own table and numbers
        "(conversation_id, sender_id, body, client_id, created_at, "
        "mentions, reactions, attachments) "
        f"SELECT %s, %s, 'history message number ' || n, 'h-' || n, {now}, "
        "'[]', '[]', '[]' "
        f"FROM ({series}) AS numbers"
    )
    start = Message.objects.count()
    with transaction.atomic(), connection.cursor() as cursor:
        if not Message.objects.filter(conversation_id=quiet_id).exists():
            cursor.execute(
                insert, [quiet_id, quiet_owner.pk, start + 1, start + quiet_count]
            )
            start += quiet_count
        missing = max(0, total - start)
        if missing:
            cursor.execute(insert, [big_id, owner.pk, start + 1, start + missing])
    with connection.cursor() as cursor:
        cursor.execute(
            f"ANALYZE {table}" if connection.vendor == "postgresql" else "ANALYZE"
        )
    ids = Message.objects.filter(conversation_id=big_id).order_by("id")
    quiet_ids = Message.objects.filter(conversation_id=quiet_id).order_by("id")
    return {
        "total": Message.objects.count(),
        "inserted": missing,
        "big_first_id": ids.values_list("id", flat=True).first() or 0,
        "big_last_id": ids.reverse().values_list("id", flat=True).first() or 0,
        "quiet_last_id": quiet_ids.reverse().values_list("id", flat=True).first() or 0,
        "big_reader": owner.username,
        "quiet_reader": quiet_owner.username,
    }


# The search scenario's needles: this many messages of the big room, spread
# evenly over its ids, are rewritten to hold Chinese and an English phrase.
NEEDLES = 100
NEEDLE_BODY = "Quarterly report: 我家在上海东边, number "


def plant_needles(*, room: str, count: int = NEEDLES) -> dict:
    """Rewrite `count` evenly spread messages of `room` as search needles.

    The same number of needles at every size: a search whose time grows with
    the table reads the table, one that stays flat reads its index. Runs again
    after a larger fill: the needles of the smaller one are put back first.
    """
    from django.db import connection, transaction

    from chat.models import Conversation, Message

    room_id = Conversation.objects.get(slug=room).pk
    messages = Message.objects.filter(conversation_id=room_id)
    with transaction.atomic():
        old = messages.filter(body__startswith=NEEDLE_BODY)
        for message in old:
            message.body = f"history message number {message.client_id[2:]}"
            message.save(update_fields=["body"])
        ids = list(messages.order_by("id").values_list("id", flat=True))
        step = max(1, len(ids) // count)
        chosen = ids[step - 1 :: step][:count]
        for pk in chosen:
            messages.filter(pk=pk).update(body=f"{NEEDLE_BODY}{pk}")
    with connection.cursor() as cursor:
        cursor.execute(
            "ANALYZE" if connection.vendor == "sqlite" else "ANALYZE chat_message"
        )
    return {"needles": len(chosen), "first": chosen[0] if chosen else 0}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.fixtures")
    commands = parser.add_subparsers(dest="command", required=True)
    population = commands.add_parser("population")
    population.add_argument("--users", type=int, required=True)
    population.add_argument(
        "--room", action="append", default=[], help="SLUG:MEMBERS, repeatable"
    )
    population.add_argument(
        "--own-rooms", help="PREFIX:N, a room of its own for each of the first N"
    )
    population.add_argument(
        "--spread",
        action="append",
        default=[],
        help="PREFIX:SIZE:ROOMS:OFFSET, ROOMS rooms of SIZE users from OFFSET",
    )
    history = commands.add_parser("history")
    history.add_argument("--total", type=int, required=True)
    history.add_argument("--big", default="history")
    history.add_argument("--quiet", default="history-quiet")
    history.add_argument("--quiet-count", type=int, default=100)
    needles = commands.add_parser("needles")
    needles.add_argument("--room", default="history")
    needles.add_argument("--count", type=int, default=NEEDLES)
    args = parser.parse_args(argv)
    _setup_django()
    if args.command == "population":
        rooms = []
        for spec in args.room:
            slug, _, count = spec.partition(":")
            rooms.append((slug, int(count)))
        own = None
        if args.own_rooms:
            prefix, _, count = args.own_rooms.partition(":")
            own = (prefix, int(count))
        spread = []
        for spec in args.spread:
            prefix, size, count, offset = spec.split(":")
            spread.append((prefix, int(size), int(count), int(offset)))
        result = make_population(
            users=args.users, rooms=rooms, own_rooms=own, spread=spread
        )
    elif args.command == "needles":
        result = plant_needles(room=args.room, count=args.count)
    else:
        result = fill_history(
            total=args.total,
            big=args.big,
            quiet=args.quiet,
            quiet_count=args.quiet_count,
        )
    json.dump(result, sys.stdout)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
