"""chat.services.messages: storing (alone and in batches), sending, purging."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from chat.errors import ChatError
from chat.models import Conversation, Membership, Message
from chat.selectors import room_owner
from chat.services import messages as messages_service
from chat.services.messages import (
    purge_messages,
    store_message,
    store_messages,
)
from chat.services.rooms import (
    join_room,
    leave_room,
    remove_member,
)
from tests.chat.services.support import assert_refused

# --- store_message --------------------------------------------------------------------


@pytest.mark.django_db
def test_store_message_in_a_room(alice, lobby):
    """A member's message is stored in the room, with body, sender and client_id."""
    message, created = store_message(
        sender=alice, room="lobby", body="hi", client_id="c1"
    )
    assert created
    stored = Message.objects.get()
    assert stored == message
    assert (stored.conversation, stored.sender, stored.body, stored.client_id) == (
        lobby,
        alice,
        "hi",
        "c1",
    )


@pytest.mark.django_db
def test_store_message_repeated_client_id_stores_nothing(alice, lobby, make_room):
    """A client_id this sender used already returns the first message, unchanged."""
    make_room("other", owner=alice)
    first, created = store_message(
        sender=alice, room="lobby", body="one", client_id="x"
    )
    assert created
    again, created = store_message(
        sender=alice, room="other", body="two", client_id="x"
    )
    assert not created
    assert again.pk == first.pk
    assert again.body == "one"
    assert again.conversation == first.conversation
    assert Message.objects.count() == 1


@pytest.mark.django_db
def test_store_message_client_id_is_per_sender(alice, bob, lobby):
    """Two senders may use the same client_id: each message is stored."""
    first, _ = store_message(sender=alice, room="lobby", body="a", client_id="same")
    second, created = store_message(
        sender=bob, room="lobby", body="b", client_id="same"
    )
    assert created
    assert first.pk != second.pk
    assert Message.objects.count() == 2


@pytest.mark.django_db
@pytest.mark.parametrize("client_id", [None, ""])
def test_store_message_without_client_id_makes_one(alice, lobby, client_id):
    """With no client_id the server makes a fresh one for each message."""
    first, _ = store_message(sender=alice, room="lobby", body="a", client_id=client_id)
    second, _ = store_message(sender=alice, room="lobby", body="b", client_id=client_id)
    assert first.client_id
    assert second.client_id
    assert first.client_id != second.client_id
    assert Message.objects.count() == 2


@pytest.mark.django_db
def test_store_message_direct_makes_one_conversation(alice, bob):
    """Direct messages both ways share one conversation of the two users."""
    first, _ = store_message(sender=alice, to="bob", body="hi")
    reply, _ = store_message(sender=bob, to="alice", body="hello")
    assert first.conversation_id == reply.conversation_id
    conversation = Conversation.objects.get(kind=Conversation.Kind.DIRECT)
    assert set(conversation.memberships.values_list("user__username", flat=True)) == {
        "alice",
        "bob",
    }


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        ({"room": "lobby", "body": None}, "empty"),
        ({"room": "lobby", "body": ""}, "empty"),
        ({"room": "lobby", "body": "  \n "}, "empty"),
        ({"room": "lobby", "body": "x" * 4001}, "too_long"),
        ({"room": "lobby", "body": 12}, "invalid"),
        ({"room": "lobby", "body": "a\x00b"}, "invalid"),
        ({"room": "lobby", "body": "a\ud800b"}, "invalid"),
        ({"room": "lobby", "body": "ok", "client_id": 5}, "invalid"),
        ({"room": "lobby", "body": "ok", "client_id": "c" * 65}, "invalid"),
        ({"room": "lobby", "body": "ok", "client_id": "c\x00"}, "invalid"),
        ({"room": "nowhere", "body": "ok"}, "not_found"),
        ({"room": "vault", "body": "ok"}, "forbidden"),
        ({"room": "lobby", "body": "ok"}, "forbidden"),
        ({"room": 5, "body": "ok"}, "invalid"),
        ({"to": "nobody", "body": "ok"}, "not_found"),
        ({"to": "gone", "body": "ok"}, "not_found"),
        ({"to": "carol", "body": "ok"}, "invalid"),
        ({"room": "lobby", "to": "bob", "body": "ok"}, "invalid"),
        ({"body": "ok"}, "invalid"),
    ],
    ids=[
        "body_missing",
        "body_empty",
        "body_blank",
        "body_too_long",
        "body_not_text",
        "body_nul",
        "body_surrogate",
        "client_id_not_text",
        "client_id_too_long",
        "client_id_nul",
        "unknown_room",
        "private_room_not_in",
        "public_room_not_in",
        "room_not_text",
        "unknown_user",
        "inactive_user",
        "to_self",
        "room_and_to",
        "neither",
    ],
)
def test_store_message_refusals_store_nothing(
    carol, lobby, vault, make_user, kwargs, code
):
    """Each bad message is refused with its code, and nothing is stored."""
    make_user("gone", is_active=False)
    if kwargs.get("room") == "lobby" and code != "forbidden":
        carol = room_owner(lobby)
    assert_refused(code, store_message, sender=carol, **kwargs)
    assert Message.objects.count() == 0
    assert not Conversation.objects.filter(kind=Conversation.Kind.DIRECT).exists()


@pytest.mark.django_db
def test_store_message_longest_body_is_kept_whole(alice, lobby):
    """A body of exactly 4,000 characters is stored as sent."""
    body = "é" * 4000
    message, _ = store_message(sender=alice, room="lobby", body=body)
    assert Message.objects.get(pk=message.pk).body == body


def test_a_batch_answers_each_message_as_if_sent_alone(alice, bob, carol, lobby):
    """Group commit: new ones stored once and in order, repeats (before or in the
    batch) answered with the first, a refused one refused alone."""
    _check_a_batch_answers_each_message_as_if_sent_alone(alice, bob, carol)


@pytest.mark.django_db(transaction=True)
def test_a_batch_outside_a_transaction_answers_the_same(alice, bob, carol, lobby):
    """The writer's thread stores in autocommit: on PostgreSQL the lock and the
    insert then go as one query (chat.services.one_trip), with the same answers."""
    with CaptureQueriesContext(connection) as queries:
        _check_a_batch_answers_each_message_as_if_sent_alone(alice, bob, carol)
    sqls = [q["sql"] for q in queries]
    inserts = [index for index, sql in enumerate(sqls) if "INSERT" in sql]
    assert len(inserts) == 2  # the message before the batch, and the batch
    if connection.vendor == "postgresql":
        batch = sqls[inserts[0] + 1 :]
        assert "pg_advisory_xact_lock" in sqls[inserts[1]]
        assert not [sql for sql in batch if "SAVEPOINT" in sql or sql == "COMMIT"]
        assert [sql for sql in batch if "pg_advisory" in sql] == [sqls[inserts[1]]]


def _check_a_batch_answers_each_message_as_if_sent_alone(alice, bob, carol):
    before, _ = store_message(sender=alice, room="lobby", body="old", client_id="a0")
    results = store_messages(
        [
            {"sender": alice, "room": "lobby", "body": "one", "client_id": "a1"},
            {"sender": bob, "room": "lobby", "body": "two", "client_id": "b1"},
            {"sender": alice, "room": "lobby", "body": "again", "client_id": "a0"},
            {"sender": carol, "room": "lobby", "body": "no", "client_id": "c1"},
            {"sender": alice, "room": "lobby", "body": "one!", "client_id": "a1"},
        ]
    )
    (one, new1), (two, new2), (old, new3), refused, (repeat, new5) = results
    assert (new1, new2, new3, new5) == (True, True, False, False)
    assert before.pk < one.pk < two.pk
    assert old.pk == before.pk
    assert repeat.pk == one.pk
    assert isinstance(refused, ChatError)
    assert refused.code == "forbidden"
    stored = list(Message.objects.values_list("client_id", "body"))
    assert stored == [("a0", "old"), ("a1", "one"), ("b1", "two")]


@pytest.mark.django_db(transaction=True)
def test_a_room_posted_to_before_is_not_looked_up_again(alice, bob, lobby):
    """On PostgreSQL the insert itself checks the membership: a sender's next
    batch to the same room is one query."""
    first = store_messages([{"sender": bob, "room": "lobby", "body": "hi"}])
    with CaptureQueriesContext(connection) as queries:
        second = store_messages(
            [
                {"sender": bob, "room": "lobby", "body": "again"},
                {"sender": bob, "room": "lobby", "body": "and again"},
            ]
        )
    assert [created for _, created in first + second] == [True] * 3
    assert [m.body for m in Message.objects.all()] == ["hi", "again", "and again"]
    if connection.vendor == "postgresql":
        assert len(queries) == 1


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("change", ["left", "removed", "room deleted"])
def test_a_membership_ended_since_the_last_message_refuses_the_next(
    alice, bob, lobby, change
):
    """Whatever this process remembers of the rooms a sender posted to, a sender
    no longer in the room is refused with the reason, and nothing is stored."""
    store_messages([{"sender": bob, "room": "lobby", "body": "hi"}])
    if change == "left":
        leave_room(user=bob, slug="lobby")
    elif change == "removed":
        remove_member(slug="lobby", username="bob", actor=alice)
    else:
        Conversation.objects.filter(pk=lobby.pk).delete()
    (refused,) = store_messages([{"sender": bob, "room": "lobby", "body": "late"}])
    assert isinstance(refused, ChatError)
    assert refused.code == ("not_found" if change == "room deleted" else "forbidden")
    assert not Message.objects.filter(body="late").exists()
    # And back in: posting works again.
    if change != "room deleted":
        join_room(user=bob, slug="lobby")
        ((message, created),) = store_messages(
            [{"sender": bob, "room": "lobby", "body": "back"}]
        )
        assert created
        assert message.body == "back"


@pytest.mark.django_db
def test_a_batch_looks_up_its_senders_rooms_in_one_query(
    alice, bob, carol, lobby, make_room
):
    """Several senders in one room, and one in another: the batch reads the
    memberships once, not once per sender and room."""
    make_room("annex", owner=carol, members=[alice])
    requests = [
        {"sender": alice, "room": "lobby", "body": "1", "client_id": "a1"},
        {"sender": bob, "room": "lobby", "body": "2", "client_id": "b1"},
        {"sender": alice, "room": "lobby", "body": "3", "client_id": "a2"},
        {"sender": carol, "room": "annex", "body": "4", "client_id": "c1"},
        {"sender": alice, "room": "annex", "body": "5", "client_id": "a3"},
    ]
    with CaptureQueriesContext(connection) as queries:
        results = store_messages(requests)
    assert [created for _, created in results] == [True] * 5
    assert [message.conversation.slug for message, _ in results] == [
        "lobby",
        "lobby",
        "lobby",
        "annex",
        "annex",
    ]
    table = Membership._meta.db_table
    assert len([query for query in queries if table in query["sql"]]) == 1


@pytest.mark.django_db(transaction=True)
def test_a_batch_is_stored_without_a_savepoint(alice, bob, lobby, monkeypatch):
    """The ORM's way (SQLite; PostgreSQL without chat.services.one_trip): the
    lock, the look for earlier client_ids, one insert and the commit; no
    savepoint round trips."""
    monkeypatch.setattr(messages_service.one_trip, "available", lambda: False)
    requests = [
        {"sender": alice, "room": "lobby", "body": "1", "client_id": "a1"},
        {"sender": bob, "room": "lobby", "body": "2", "client_id": "b1"},
    ]
    with CaptureQueriesContext(connection) as queries:
        store_messages(requests)
    statements = [query["sql"].split()[0].upper() for query in queries]
    assert "SAVEPOINT" not in statements
    assert statements.count("INSERT") == 1
    assert statements[-1] == "COMMIT"


@pytest.mark.django_db(transaction=True)
def test_a_batch_that_collides_is_stored_again_message_by_message(
    alice, bob, lobby, monkeypatch
):
    """Should the batch's insert still collide (a client_id stored since it
    looked), nothing of it stays: it is stored again one message at a time, the
    repeat answered with the earlier message, the others stored once, in order.
    (The ORM's way: chat.services.one_trip looks for nothing before it inserts.)"""
    monkeypatch.setattr(messages_service.one_trip, "available", lambda: False)
    before, _ = store_message(sender=alice, room="lobby", body="old", client_id="a0")
    real = messages_service.with_message_relations
    looks = []

    def blind_the_first_time(queryset):
        looks.append(queryset)
        return queryset.none() if len(looks) == 1 else real(queryset)

    monkeypatch.setattr(
        messages_service, "with_message_relations", blind_the_first_time
    )
    results = store_messages(
        [
            {"sender": alice, "room": "lobby", "body": "one", "client_id": "a1"},
            {"sender": alice, "room": "lobby", "body": "old!", "client_id": "a0"},
            {"sender": bob, "room": "lobby", "body": "two", "client_id": "b1"},
        ]
    )
    (one, new1), (old, new2), (two, new3) = results
    assert (new1, new2, new3) == (True, False, True)
    assert old.pk == before.pk
    assert before.pk < one.pk < two.pk
    stored = list(Message.objects.values_list("client_id", "body"))
    assert stored == [("a0", "old"), ("a1", "one"), ("b1", "two")]


@pytest.mark.django_db
@pytest.mark.parametrize("room", ["vault", "nowhere", "lob\x00by", ""])
def test_a_batch_refuses_a_room_as_a_lone_message_is_refused(
    alice, bob, lobby, vault, room
):
    """Beside members' messages, a stranger to a private room, an unknown room,
    a name no database can hold and an empty one get the error they get alone."""
    with pytest.raises(ChatError) as alone:
        store_message(sender=bob, room=room, body="x", client_id="alone")
    results = store_messages(
        [
            {"sender": alice, "room": "lobby", "body": "1", "client_id": "a1"},
            {"sender": bob, "room": room, "body": "2", "client_id": "b1"},
        ]
    )
    refused = results[1]
    assert isinstance(refused, ChatError)
    assert (refused.code, refused.detail) == (alone.value.code, alone.value.detail)
    assert results[0][1] is True


# --- purging --------------------------------------------------------------------------


@pytest.fixture
def aged_messages(alice, lobby):
    """Messages 40, 20 and 0 days old."""
    messages = []
    for days in (40, 20, 0):
        message, _ = store_message(sender=alice, room="lobby", body=f"{days} days")
        Message.objects.filter(pk=message.pk).update(
            created_at=timezone.now() - timedelta(days=days)
        )
        messages.append(message)
    return messages


@pytest.mark.django_db
def test_purge_deletes_only_older_messages(aged_messages):
    """Purging deletes messages older than the days given, keeps the rest."""
    assert purge_messages(older_than_days=30) == 1
    assert list(Message.objects.values_list("body", flat=True)) == [
        "20 days",
        "0 days",
    ]
    assert purge_messages(older_than_days=10) == 1
    assert list(Message.objects.values_list("body", flat=True)) == ["0 days"]


@pytest.mark.django_db
def test_purge_dry_run_counts_and_keeps(aged_messages):
    """A dry run says how many would go and deletes none."""
    assert purge_messages(older_than_days=10, dry_run=True) == 2
    assert Message.objects.count() == 3


@pytest.mark.django_db
def test_purge_refuses_negative_days(aged_messages):
    """A negative age is refused and deletes nothing."""
    assert_refused("invalid", purge_messages, older_than_days=-1)
    assert Message.objects.count() == 3
