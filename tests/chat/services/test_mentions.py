"""chat.services.mentions and the send path's replies and mentions: who a body
names, what is stored with the message, and the unread-mention counts."""

import queue
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import DatabaseError, connection, connections, transaction
from django.test.utils import CaptureQueriesContext

from chat.errors import ChatError, Unavailable
from chat.models import Membership, Mention, Message
from chat.services import changes, mentions
from chat.services.messages import store_message, store_messages
from chat.services.reads import ReadPosition, store_read
from tests.chat.services.support import assert_refused


def unread_mentions(user, conversation) -> int:
    return Membership.objects.get(user=user, conversation=conversation).unread_mentions


# --- what a body names (no database) --------------------------------------------------


@pytest.mark.parametrize(
    ("body", "names", "everyone"),
    [
        ("hi @bob", ("bob",), False),
        ("@bob, @carol and @bob again", ("bob", "carol"), False),
        ("thanks @bob.", ("bob.",), False),
        ("mail bob@example.com", (), False),
        ("see `@bob` and\n```\n@carol\n```", (), False),
        ("an unclosed ``` @bob", (), False),
        ("@all look", (), True),
        ("@ROOM!", (), True),
        ("@all.", (), True),
        ("@allison", ("allison",), False),
        ("just an @ sign", (), False),
    ],
)
def test_named_in_reads_mentions_as_written(body, names, everyone):
    """@username at a word's start names someone; an e-mail address, code and a
    lone @ do not; @all and @room name everyone."""
    named = mentions.named_in(body)
    assert (named.names, named.everyone) == (names, everyone)


def test_a_body_without_an_at_sign_may_mention_nobody():
    """The send path's test: no "@" (or no mention after one) is plain."""
    assert not mentions.may_mention("hello there")
    assert not mentions.may_mention("write to bob@example.com")
    assert mentions.may_mention("hello @bob")
    assert not mentions.may_mention(None)


# --- mentions stored with the message -------------------------------------------------


@pytest.mark.django_db
def test_a_mention_of_a_member_is_stored_and_counted(alice, bob, lobby):
    """@bob puts bob in `mentions`, one Mention row, one unread mention for bob
    and none for the sender."""
    message, _ = store_message(sender=alice, room="lobby", body="hi @bob!")
    assert message.mentions == [bob.pk]
    assert Message.objects.get().mentions == [bob.pk]
    assert list(Mention.objects.values_list("message_id", "user_id")) == [
        (message.pk, bob.pk)
    ]
    assert unread_mentions(bob, lobby) == 1
    assert unread_mentions(alice, lobby) == 0


@pytest.mark.django_db
def test_only_members_are_mentioned_and_case_does_not_matter(alice, bob, carol, lobby):
    """@BOB is bob; carol is no member of the room: no mention; the sender
    naming herself mentions nobody."""
    message, _ = store_message(sender=alice, room="lobby", body="@BOB @carol @alice")
    assert message.mentions == [bob.pk]
    assert not Membership.objects.filter(user=carol).exists()
    assert Mention.objects.count() == 1


@pytest.mark.django_db
def test_a_member_called_with_a_trailing_dot_wins_over_the_sentence(
    alice, make_user, make_room
):
    """ "@bob." names a member called "bob." if there is one, else bob."""
    bob, bob_dot = make_user("bob"), make_user("bob.")
    room = make_room("dots", owner=alice, members=[bob, bob_dot])
    message, _ = store_message(sender=alice, room="dots", body="thanks @bob.")
    assert message.mentions == [bob_dot.pk]
    Membership.objects.filter(user=bob_dot, conversation=room).delete()
    message, _ = store_message(sender=alice, room="dots", body="thanks @bob.")
    assert message.mentions == [bob.pk]


@pytest.mark.django_db
def test_a_direct_message_mentions_the_other_user(alice, bob):
    """In a direct conversation @bob and @all both mention the other user."""
    first, _ = store_message(sender=alice, to="bob", body="@bob look")
    second, _ = store_message(sender=alice, to="bob", body="@all look")
    assert first.mentions == second.mentions == [bob.pk]
    assert unread_mentions(bob, first.conversation) == 2


@pytest.mark.django_db
def test_all_mentions_every_member_but_the_sender(alice, bob, carol, lobby):
    """@all (or @room) in a small room mentions every other member, once each."""
    Membership.objects.create(user=carol, conversation=lobby)
    message, _ = store_message(sender=bob, room="lobby", body="@room @all @alice")
    assert message.mentions == sorted([alice.pk, carol.pk])
    assert unread_mentions(alice, lobby) == unread_mentions(carol, lobby) == 1
    assert unread_mentions(bob, lobby) == 0


@pytest.fixture
def big_room(make_user, make_room, alice, settings):
    """A room of alice's with 16 members: more than CHAT_MENTION_ALL_MAX_MEMBERS."""
    assert settings.CHAT_MENTION_ALL_MAX_MEMBERS == 15
    others = [make_user(f"member{n}") for n in range(15)]
    return make_room("big", owner=alice, members=others), others


@pytest.mark.django_db
def test_all_in_a_big_room_is_for_its_owners(alice, big_room):
    """In a room of more than 15 members a member's @all is refused (forbidden)
    and stores nothing; its owner's mentions every other member."""
    room, others = big_room
    assert_refused(
        "forbidden", store_message, sender=others[0], room="big", body="@all hey"
    )
    assert not Message.objects.exists()
    # A plain @username is still anyone's.
    message, _ = store_message(sender=others[0], room="big", body="@member1 hey")
    assert message.mentions == [others[1].pk]
    message, _ = store_message(sender=alice, room="big", body="@all hey")
    assert message.mentions == sorted(user.pk for user in others)


@pytest.mark.django_db
def test_all_in_a_room_of_fifteen_is_anyone_s(alice, big_room):
    """At 15 members exactly, any member may mention @all."""
    room, others = big_room
    Membership.objects.filter(user=others[-1]).delete()
    message, _ = store_message(sender=others[0], room="big", body="@all hey")
    assert len(message.mentions) == 14


@pytest.mark.django_db
def test_a_repeated_client_id_counts_the_mention_once(alice, bob, lobby):
    """A retry of a message that mentions bob stores nothing and counts nothing."""
    store_message(sender=alice, room="lobby", body="@bob", client_id="x")
    again, created = store_message(
        sender=alice, room="lobby", body="@bob", client_id="x"
    )
    assert not created
    assert Mention.objects.count() == 1
    assert unread_mentions(bob, lobby) == 1


@pytest.mark.django_db
def test_a_mention_is_not_half_stored(alice, bob, lobby, monkeypatch):
    """If the mention's rows cannot be stored, neither is the message."""

    def fail(messages):
        raise DatabaseError("no room for mentions")

    monkeypatch.setattr(mentions, "record_new", fail)
    (result,) = store_messages([{"sender": alice, "room": "lobby", "body": "@bob"}])
    assert isinstance(result, Unavailable)
    assert not Message.objects.exists()
    assert unread_mentions(bob, lobby) == 0


# --- replies --------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_reply_points_at_a_message_of_the_same_conversation(alice, bob, lobby):
    """reply_to is stored as the message replied to."""
    parent, _ = store_message(sender=alice, room="lobby", body="question")
    reply, _ = store_message(
        sender=bob, room="lobby", body="answer", reply_to=parent.pk
    )
    assert reply.reply_to_id == parent.pk
    assert Message.objects.get(pk=reply.pk).reply_to_id == parent.pk
    assert reply.mentions == []


@pytest.mark.django_db
@pytest.mark.parametrize("where", ["other room", "direct", "missing", "text", "bool"])
def test_a_reply_to_another_conversation_is_invalid(
    alice, bob, lobby, make_room, where
):
    """reply_to of another conversation, of no message, or not an id: `invalid`,
    the same answer whether the message exists elsewhere or not at all."""
    make_room("annex", owner=alice)
    elsewhere, _ = store_message(sender=alice, room="annex", body="elsewhere")
    direct, _ = store_message(sender=alice, to="bob", body="private")
    reply_to = {
        "other room": elsewhere.pk,
        "direct": direct.pk,
        "missing": direct.pk + 1000,
        "text": "one",
        "bool": True,
    }[where]
    error = assert_refused(
        "invalid",
        store_message,
        sender=alice,
        room="lobby",
        body="re",
        reply_to=reply_to,
    )
    assert "reply_to" in error.detail
    assert not Message.objects.filter(body="re").exists()


# --- the send path's cost and order ---------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_a_plain_body_with_an_at_sign_still_goes_in_one_trip(alice, bob, lobby):
    """A body whose "@" mentions nobody (an e-mail address) costs what a plain
    one costs: on PostgreSQL one query for a room posted to before."""
    store_messages([{"sender": bob, "room": "lobby", "body": "hi"}])
    with CaptureQueriesContext(connection) as queries:
        ((message, created),) = store_messages(
            [{"sender": bob, "room": "lobby", "body": "mail me at bob@example.com"}]
        )
    assert created
    assert message.mentions == []
    if connection.vendor == "postgresql":
        assert len(queries) == 1


@pytest.mark.django_db(transaction=True)
def test_a_batch_with_mentions_and_replies_keeps_arrival_order(alice, bob, lobby):
    """Plain messages, mentions and replies in one batch get ids in the order
    they came, under the ordering lock, each with its own mentions."""
    parent, _ = store_message(sender=alice, room="lobby", body="first")
    with CaptureQueriesContext(connection) as queries:
        results = store_messages(
            [
                {"sender": alice, "room": "lobby", "body": "plain"},
                {"sender": alice, "room": "lobby", "body": "@bob look"},
                {"sender": bob, "room": "lobby", "body": "re", "reply_to": parent.pk},
                {"sender": bob, "room": "lobby", "body": "@all", "reply_to": "x"},
                {"sender": alice, "room": "lobby", "body": "plain again"},
            ]
        )
    plain, mention, reply, refused, last = results
    assert isinstance(refused, ChatError)
    assert refused.code == "invalid"
    stored = [plain[0], mention[0], reply[0], last[0]]
    assert [m.pk for m in stored] == sorted(m.pk for m in stored)
    assert [m.body for m in Message.objects.filter(pk__gt=parent.pk)] == [
        "plain",
        "@bob look",
        "re",
        "plain again",
    ]
    assert (mention[0].mentions, reply[0].reply_to_id) == ([bob.pk], parent.pk)
    assert unread_mentions(bob, lobby) == 1
    if connection.vendor == "postgresql":
        assert any("pg_advisory_xact_lock" in q["sql"] for q in queries)


# --- the count follows the read position ----------------------------------------------


@pytest.mark.django_db
def test_reading_past_a_mention_recounts(alice, bob, lobby):
    """Reading up to the first of two mentions leaves one; reading all, none;
    the read position answers with the count."""
    first, _ = store_message(sender=alice, room="lobby", body="@bob one")
    store_message(sender=alice, room="lobby", body="between")
    second, _ = store_message(sender=alice, room="lobby", body="@bob two")
    assert unread_mentions(bob, lobby) == 2
    position = store_read(user=bob, room="lobby", message_id=first.pk)
    assert (position.unread, position.mentions) == (2, 1)
    assert unread_mentions(bob, lobby) == 1
    # An older id moves nothing and keeps the count.
    position = store_read(user=bob, room="lobby", message_id=first.pk - 1)
    assert (position.changed, position.mentions) == (False, 1)
    position = store_read(user=bob, room="lobby", message_id=second.pk)
    assert (position.unread, position.mentions) == (0, 0)
    assert unread_mentions(bob, lobby) == 0


# --- edits and deletion (mentions.change_mentions) ------------------------------------


@pytest.mark.django_db
def test_an_edit_counts_a_new_mention_once_and_an_old_one_never_again(
    alice, bob, carol, lobby
):
    """Adding @carol counts once; keeping @bob counts nothing; taking @bob away
    stops counting it; a deletion ([]) leaves no mention."""
    Membership.objects.create(user=carol, conversation=lobby)
    message, _ = store_message(sender=alice, room="lobby", body="@bob")
    for body in ["@bob @carol", "@carol @bob again"]:
        ids = mentions.mentions_for_edit(message=message, editor=alice, body=body)
        mentions.change_mentions(message, ids)
        assert message.mentions == ids
        assert unread_mentions(bob, lobby) == unread_mentions(carol, lobby) == 1
    ids = mentions.mentions_for_edit(message=message, editor=alice, body="@carol")
    mentions.change_mentions(message, ids)
    assert (unread_mentions(bob, lobby), unread_mentions(carol, lobby)) == (0, 1)
    mentions.change_mentions(message, [])
    assert message.mentions == []
    assert not Mention.objects.exists()
    assert unread_mentions(carol, lobby) == 0


@pytest.mark.django_db
def test_an_edit_of_a_message_already_read_counts_nothing(alice, bob, lobby):
    """A mention added to a message bob has read is no unread mention."""
    message, _ = store_message(sender=alice, room="lobby", body="hello")
    store_read(user=bob, room="lobby", message_id=message.pk)
    mentions.change_mentions(message, [bob.pk])
    assert Mention.objects.count() == 1
    assert unread_mentions(bob, lobby) == 0


# --- wired into the changes services (chat.services.changes) --------------------------


@pytest.mark.django_db
def test_store_edit_counts_an_added_mention_once(alice, bob, carol, lobby):
    """An edit that adds @bob counts it once; editing again with @bob still in
    it counts nothing more; the message's mentions follow the body."""
    message, _ = store_message(sender=alice, room="lobby", body="hello")
    stored = changes.store_edit(user=alice, message_id=message.pk, body="hello @bob")
    assert stored.message.mentions == [bob.pk]
    assert Message.objects.get(pk=message.pk).mentions == [bob.pk]
    assert unread_mentions(bob, lobby) == 1
    changes.store_edit(user=alice, message_id=message.pk, body="@bob hello again")
    assert unread_mentions(bob, lobby) == 1
    assert Mention.objects.count() == 1
    # The edited frame is the contract's: no mentions key in it.
    assert "mentions" not in stored.change.frame
    changes.store_edit(user=alice, message_id=message.pk, body="never mind")
    assert Message.objects.get(pk=message.pk).mentions == []
    assert unread_mentions(bob, lobby) == 0


@pytest.mark.django_db
def test_store_edit_with_all_in_a_big_room_is_forbidden_to_a_member(alice, big_room):
    """A member's edit to @all in a room of more than 15 members is refused and
    changes nothing."""
    room, others = big_room
    message, _ = store_message(sender=others[0], room="big", body="hello")
    assert_refused(
        "forbidden",
        changes.store_edit,
        user=others[0],
        message_id=message.pk,
        body="@all hello",
    )
    stored = Message.objects.get(pk=message.pk)
    assert (stored.body, stored.mentions, stored.edited_at) == ("hello", [], None)
    assert not Mention.objects.exists()


@pytest.mark.django_db
def test_a_deleted_message_no_longer_counts_its_mentions(alice, bob, lobby):
    """Deleting a message that mentions bob takes it out of his count."""
    message, _ = store_message(sender=alice, room="lobby", body="@bob look")
    store_message(sender=alice, room="lobby", body="@bob and this")
    assert unread_mentions(bob, lobby) == 2
    stored = changes.store_deletion(user=alice, message_id=message.pk)
    assert stored.message.mentions == []
    assert unread_mentions(bob, lobby) == 1
    assert Mention.objects.filter(message=message).count() == 0
    position = store_read(user=bob, room="lobby", message_id=message.pk)
    assert position.mentions == 1


# --- a read and a mention at the same moment (PostgreSQL: concurrent writers) --------


def _backend_pid() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


def _wait_until_blocked(pid: int) -> None:
    """Until the backend `pid` waits for a lock (no timing asserted)."""
    while True:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT wait_event_type FROM pg_stat_activity WHERE pid = %s", [pid]
            )
            (wait_event_type,) = cursor.fetchone()
        if wait_event_type == "Lock":
            return


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("first", ["the message", "the read"])
def test_a_mention_stored_while_the_reader_reads_is_counted_once(
    alice, bob, lobby, first
):
    """Whichever of a new mention and bob's read takes his membership row first,
    the other waits for its commit: the mention is counted, once."""
    if connection.vendor != "postgresql":
        pytest.skip("SQLite has a single writer: nothing runs at the same time")
    earlier, _ = store_message(sender=alice, room="lobby", body="hello")

    def mention():
        return store_message(sender=alice, room="lobby", body="@bob now")[0]

    def read():
        return store_read(user=bob, room="lobby", message_id=earlier.pk)

    holder, waiter = (mention, read) if first == "the message" else (read, mention)
    held, release = threading.Event(), threading.Event()
    waiter_pid: queue.Queue[int] = queue.Queue()

    def hold():
        """`holder` in a transaction kept open until released."""
        try:
            with transaction.atomic():
                result = holder()
                held.set()
                release.wait()
            return result
        finally:
            connections.close_all()

    def wait():
        try:
            waiter_pid.put(_backend_pid())
            return waiter()
        finally:
            connections.close_all()

    with ThreadPoolExecutor(2) as pool:
        holding = pool.submit(hold)
        held.wait()
        waiting = pool.submit(wait)
        _wait_until_blocked(waiter_pid.get())
        release.set()
        results = [holding.result(), waiting.result()]
    position = next(r for r in results if isinstance(r, ReadPosition))
    assert position.read_id == earlier.pk
    assert position.mentions == (1 if first == "the message" else 0)
    assert unread_mentions(bob, lobby) == 1
