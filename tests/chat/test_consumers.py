"""The WebSocket protocol, through the whole ASGI stack (middleware, router, consumer).

Each socket is channels' WebsocketCommunicator on `chatsite.asgi.application`, so
token authentication, routing and the channel layer of the run (in-memory or
Redis) are all in the path. Data is made in sync fixtures and committed
(`transaction=True`): the consumer reads it from its own database thread.

"Nothing else arrives" is shown two ways: a short silence, and, where a frame
must not reach a socket at all, a sentinel sent after it through the same layer
that must be the very next frame that socket reads.
"""

import json
from datetime import datetime

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator

from accounts.models import User
from chat.models import Conversation, Membership, Message
from chat.selectors import MAX_ID
from chat.services.messages import store_message
from chat.services.rooms import aadd_member, aremove_member
from chatsite.asgi import application
from tests.chat.communicator import (
    TIMEOUT,
    Person,
    assert_all_silent,
    close_thread_connections,
)

pytestmark = pytest.mark.django_db(transaction=True)

HEARTBEAT = 60


@pytest.fixture(autouse=True)
def _settings(settings):
    """No heartbeat `ping` falls inside exact frame counts."""
    settings.CHAT_HEARTBEAT_SECONDS = HEARTBEAT


@pytest.fixture
def secret(make_room, alice):
    """A private room of alice's, with no one else in it."""
    return make_room("secret", owner=alice.user, private=True)


@pytest.fixture
def bobs_rooms(make_room, bob):
    """A public and a private room of bob's, that alice is not in."""
    return make_room("open", owner=bob.user), make_room(
        "vault", owner=bob.user, private=True
    )


# The state of a message nobody edited, deleted, reacted to or replied with.
UNCHANGED = {
    "edited_at": None,
    "deleted": False,
    "reactions": [],
    "reply_to": None,
    "mentions": [],
    "attachments": [],
}


def message_frame(message_id, *, sender, body, client_id, room=None, recipient=None):
    """The `message` frame the protocol promises; created_at is checked apart."""
    return {
        "type": "message",
        "id": message_id,
        "room": room,
        "recipient": recipient,
        "sender": sender.public,
        "body": body,
        "client_id": client_id,
        **UNCHANGED,
    }


def without_created_at(frame: dict) -> dict:
    """The frame minus created_at, which must be ISO 8601 with a time zone."""
    frame = dict(frame)
    created_at = datetime.fromisoformat(frame.pop("created_at"))
    assert created_at.tzinfo is not None
    return frame


async def count_messages() -> int:
    return await database_sync_to_async(Message.objects.count)()


# --- hello, ping and pong -------------------------------------------------------------


async def test_hello_names_the_user_heartbeat_and_no_last_id(connect, alice):
    """A new user's hello carries their id and name, the heartbeat, last_id 0
    and last_change_id 0."""
    socket = await connect(alice)
    assert socket.hello == {
        "type": "hello",
        "user": alice.public,
        "heartbeat": HEARTBEAT,
        "last_id": 0,
        "last_change_id": 0,
    }
    await socket.assert_silent()


@pytest.fixture
def history(make_room, alice, bob, carol, lobby):
    """Messages alice may and may not see, oldest first; the newest is not hers."""
    hidden = make_room("hidden", owner=bob.user, private=True, members=[carol.user])

    def post(who: Person, **target) -> Message:
        message, created = store_message(
            sender=who.user, body=f"{who.user.username} {target}", **target
        )
        assert created
        return message

    return {
        "visible": [
            post(bob, room="lobby"),
            post(alice, to="bob"),
            post(alice, room="lobby"),
            post(bob, to="alice"),
        ],
        "hidden": [
            post(carol, room=hidden.slug),
            post(bob, to="carol"),
            post(bob, room=hidden.slug),
        ],
    }


@pytest.mark.parametrize(
    "step",
    ["accounts.middleware.tokens_for", "chat.services.admission.room_group_ids_of"],
    ids=["token_check", "reading_rooms"],
)
async def test_database_down_at_connect_closes_with_try_again_later(
    transactional_db, alice, monkeypatch, step
):
    """No database at connect: 1013 (come back later), never 4401 (log in again)."""
    from django.db import OperationalError

    def unreachable(*args, **kwargs):
        raise OperationalError("connection refused")

    monkeypatch.setattr(step, unreachable)
    communicator = WebsocketCommunicator(application, f"/ws/chat/?token={alice.token}")
    connected, _ = await communicator.connect(TIMEOUT)
    assert connected
    assert await communicator.receive_output(TIMEOUT) == {
        "type": "websocket.close",
        "code": 1013,
    }
    await communicator.disconnect(timeout=TIMEOUT)
    await close_thread_connections()


async def test_hello_last_id_is_newest_message_the_user_may_see(
    connect, alice, history
):
    """hello's last_id is the newest id alice can see, not a newer one of others."""
    newest_visible = history["visible"][-1].id
    assert newest_visible < max(m.id for m in history["hidden"])
    socket = await connect(alice)
    assert socket.hello["last_id"] == newest_visible


async def test_article_url_serves_the_same_protocol(connect, alice):
    """The `/chat` alias answers a text ping with a text pong, like /ws/chat/."""
    socket = await connect(alice, path="/chat")
    await socket.still_works()
    await socket.assert_silent()


async def test_text_ping_gets_text_pong(connect, alice):
    """A client's text `ping` is answered by the text `pong`, each time."""
    socket = await connect(alice)
    for _ in range(2):
        await socket.send_text("ping")
        assert await socket.recv() == "pong"
    await socket.assert_silent()


async def test_client_pong_is_not_answered(connect, alice):
    """A client's text `pong` (its answer to our heartbeat) gets no reply at all."""
    socket = await connect(alice)
    await socket.send_text("pong")
    await socket.still_works()
    await socket.assert_silent()


# --- messages in rooms ----------------------------------------------------------------


async def test_room_message_acked_then_delivered_once_to_each_member(
    connect, alice, bob, carol, lobby
):
    """The sender gets one ack then one message, a member one message, others none."""
    sender, member, stranger = (
        await connect(alice),
        await connect(bob),
        await connect(carol),
    )

    await sender.send(
        {
            "type": "message.send",
            "room": "lobby",
            "body": "hello all",
            "client_id": "c1",
        }
    )
    ack = await sender.recv()
    assert ack == {"type": "ack", "client_id": "c1", "id": ack["id"]}
    assert isinstance(ack["id"], int)
    expected = message_frame(
        ack["id"], sender=alice, body="hello all", client_id="c1", room="lobby"
    )
    assert without_created_at(await sender.recv()) == expected
    assert without_created_at(await member.recv()) == expected

    # A direct message sent after it is the stranger's very next frame.
    await sender.send(
        {"type": "message.send", "to": "carol", "body": "sentinel", "client_id": "c2"}
    )
    assert (await sender.recv())["type"] == "ack"
    assert (await sender.recv())["body"] == "sentinel"
    assert (await stranger.recv())["body"] == "sentinel"

    await assert_all_silent(sender, member, stranger)
    assert await count_messages() == 2


async def test_message_frame_matches_what_is_stored(connect, alice, bob, lobby):
    """The delivered frame carries the stored id, body, client_id and time."""
    sender, member = await connect(alice), await connect(bob)
    await sender.send(
        {"type": "message.send", "room": "lobby", "body": "héllo 👋", "client_id": "u"}
    )
    ack = await sender.recv()
    frame = await member.recv()
    stored = await database_sync_to_async(Message.objects.get)()
    assert ack["id"] == frame["id"] == stored.id
    assert frame["body"] == stored.body == "héllo 👋"
    assert frame["client_id"] == stored.client_id == "u"
    assert datetime.fromisoformat(frame["created_at"]) == stored.created_at


async def test_message_without_client_id_gets_one_made_up(connect, alice, lobby):
    """A message sent with no client_id is stored and acked with a server-made one."""
    socket = await connect(alice)
    await socket.send({"type": "message.send", "room": "lobby", "body": "hi"})
    ack, message = await socket.recv_many(2)
    assert ack["type"] == "ack"
    assert isinstance(ack["client_id"], str)
    assert ack["client_id"]
    assert message["client_id"] == ack["client_id"]
    assert message["id"] == ack["id"]


async def test_longest_allowed_body_is_delivered(connect, alice, bob, lobby):
    """A body of exactly 4,000 characters is stored and delivered whole."""
    sender, member = await connect(alice), await connect(bob)
    body = "x" * 4000
    await sender.send(
        {"type": "message.send", "room": "lobby", "body": body, "client_id": "max"}
    )
    assert (await sender.recv())["type"] == "ack"
    assert (await member.recv())["body"] == body


async def test_repeated_client_id_gets_same_ack_and_stores_nothing(
    connect, alice, bob, lobby
):
    """Sending a client_id again, from any tab, gets the first ack and nothing new."""
    first_tab, member = await connect(alice), await connect(bob)
    frame = {"type": "message.send", "room": "lobby", "body": "once", "client_id": "r1"}
    await first_tab.send(frame)
    ack, message = await first_tab.recv_many(2)
    assert ack["type"] == "ack"
    assert message["id"] == ack["id"]
    assert (await member.recv())["id"] == ack["id"]

    await first_tab.send(frame)
    await first_tab.expect_only(ack)
    second_tab = await connect(alice)
    await second_tab.send(dict(frame, body="a different text"))
    await second_tab.expect_only(ack)

    await assert_all_silent(member, first_tab)
    stored = await database_sync_to_async(list)(Message.objects.all())
    assert [(m.id, m.body) for m in stored] == [(ack["id"], "once")]


# --- direct messages ------------------------------------------------------------------


async def test_direct_message_round_trip_reaches_every_tab(connect, alice, bob, carol):
    """A direct message reaches both users' tabs, with the right recipient."""
    alice_1, alice_2 = await connect(alice), await connect(alice)
    bob_1, bob_2 = await connect(bob), await connect(bob)
    outsider = await connect(carol)

    await alice_1.send(
        {"type": "message.send", "to": "bob", "body": "psst", "client_id": "d1"}
    )
    ack = await alice_1.recv()
    assert ack == {"type": "ack", "client_id": "d1", "id": ack["id"]}
    to_bob = message_frame(
        ack["id"], sender=alice, body="psst", client_id="d1", recipient=bob.public
    )
    assert without_created_at(await alice_1.recv()) == to_bob
    for tab in (alice_2, bob_1, bob_2):
        assert without_created_at(await tab.recv()) == to_bob

    await bob_2.send(
        {"type": "message.send", "to": "alice", "body": "yes?", "client_id": "d1"}
    )
    reply_ack = await bob_2.recv()
    assert reply_ack == {"type": "ack", "client_id": "d1", "id": reply_ack["id"]}
    assert reply_ack["id"] > ack["id"]
    to_alice = message_frame(
        reply_ack["id"],
        sender=bob,
        body="yes?",
        client_id="d1",
        recipient=alice.public,
    )
    for tab in (bob_2, bob_1, alice_1, alice_2):
        assert without_created_at(await tab.recv()) == to_alice

    # Bob's next direct message, to carol, is the first thing carol hears.
    await bob_1.send(
        {"type": "message.send", "to": "carol", "body": "sentinel", "client_id": "d2"}
    )
    assert (await outsider.recv())["body"] == "sentinel"
    await bob_1.recv_many(2)
    await bob_2.recv()

    await assert_all_silent(alice_1, alice_2, bob_1, bob_2, outsider)
    direct = Conversation.objects.filter(kind=Conversation.Kind.DIRECT)
    assert await database_sync_to_async(direct.count)() == 2


# --- sync -----------------------------------------------------------------------------


def expected_frames(messages) -> list[dict]:
    """What `sync` must send for these stored messages, created_at included."""
    frames = []
    for message in messages:
        conversation = message.conversation
        recipient = None
        if not conversation.is_room:
            other = ({conversation.direct_low_id, conversation.direct_high_id}) - {
                message.sender_id
            }
            recipient_user = User.objects.get(pk=other.pop())
            recipient = {"id": recipient_user.pk, "username": recipient_user.username}
        frames.append(
            {
                "type": "message",
                "id": message.id,
                "room": conversation.slug if conversation.is_room else None,
                "recipient": recipient,
                "sender": {
                    "id": message.sender.pk,
                    "username": message.sender.username,
                },
                "body": message.body,
                "client_id": message.client_id,
                "created_at": message.created_at,
                **UNCHANGED,
            }
        )
    return frames


@pytest.fixture
def visible_frames(history):
    return expected_frames(history["visible"])


def parse_times(frames: list) -> list:
    return [
        dict(frame, created_at=datetime.fromisoformat(frame["created_at"]))
        if isinstance(frame, dict) and "created_at" in frame
        else frame
        for frame in frames
    ]


async def test_sync_sends_only_what_the_user_may_see_then_done(
    connect, alice, history, visible_frames
):
    """sync from 0 sends alice's messages oldest first, none of others', then done."""
    socket = await connect(alice)
    await socket.send({"type": "sync", "after": 0})
    frames = await socket.recv_many(len(visible_frames) + 1)
    assert parse_times(frames) == [
        *visible_frames,
        {"type": "sync.done", "last_id": history["visible"][-1].id, "more": False},
    ]
    await socket.assert_silent()


async def test_sync_without_after_starts_from_the_beginning(
    connect, alice, history, visible_frames
):
    """A sync that gives no `after` sends everything visible, from the first."""
    socket = await connect(alice)
    await socket.send({"type": "sync"})
    frames = await socket.recv_many(len(visible_frames) + 1)
    assert parse_times(frames[:-1]) == visible_frames
    assert frames[-1] == {
        "type": "sync.done",
        "last_id": history["visible"][-1].id,
        "more": False,
    }


async def test_sync_after_an_id_sends_only_newer(
    connect, alice, history, visible_frames
):
    """sync after an id sends just the visible messages with a larger id."""
    socket = await connect(alice)
    after = history["visible"][1].id
    await socket.send({"type": "sync", "after": after})
    frames = await socket.recv_many(3)
    assert parse_times(frames) == [
        *visible_frames[2:],
        {"type": "sync.done", "last_id": history["visible"][-1].id, "more": False},
    ]
    await socket.assert_silent()


async def test_sync_pages_with_limit_and_more(connect, alice, history, visible_frames):
    """With a limit, sync pages through with `more` until nothing is left."""
    ids = [m.id for m in history["visible"]]
    socket = await connect(alice)

    await socket.send({"type": "sync", "after": 0, "limit": 3})
    page = await socket.recv_many(4)
    assert parse_times(page[:3]) == visible_frames[:3]
    assert page[3] == {"type": "sync.done", "last_id": ids[2], "more": True}

    await socket.send({"type": "sync", "after": ids[2], "limit": 3})
    page = await socket.recv_many(2)
    assert parse_times(page[:1]) == visible_frames[3:]
    assert page[1] == {"type": "sync.done", "last_id": ids[3], "more": False}
    await socket.assert_silent()


async def test_sync_page_that_ends_exactly_has_no_more(
    connect, alice, history, visible_frames
):
    """A page that takes the last visible message says more: false."""
    ids = [m.id for m in history["visible"]]
    socket = await connect(alice)
    await socket.send({"type": "sync", "after": ids[1], "limit": 2})
    page = await socket.recv_many(3)
    assert parse_times(page[:2]) == visible_frames[2:]
    assert page[2] == {"type": "sync.done", "last_id": ids[3], "more": False}


@pytest.mark.parametrize("after", ["newest", MAX_ID])
async def test_sync_with_nothing_newer_echoes_after(connect, alice, history, after):
    """With nothing newer, sync sends only sync.done with the `after` given."""
    if after == "newest":
        after = history["visible"][-1].id
    socket = await connect(alice)
    await socket.send({"type": "sync", "after": after})
    await socket.expect_only({"type": "sync.done", "last_id": after, "more": False})


async def test_sync_huge_limit_is_capped_not_refused(connect, alice, history):
    """A limit past the maximum is served (capped), not refused."""
    socket = await connect(alice)
    await socket.send({"type": "sync", "after": 0, "limit": 10**30})
    frames = await socket.recv_many(5)
    assert frames[-1] == {
        "type": "sync.done",
        "last_id": history["visible"][-1].id,
        "more": False,
    }


async def test_sync_of_a_stranger_sends_nothing_of_others(connect, dave, history):
    """A user in no conversation gets an empty sync, whatever others wrote."""
    socket = await connect(dave)
    assert socket.hello["last_id"] == 0
    await socket.send({"type": "sync", "after": 0})
    await socket.expect_only({"type": "sync.done", "last_id": 0, "more": False})


# --- joining and leaving rooms --------------------------------------------------------


async def test_join_public_room_then_receive_its_messages(connect, alice, carol, lobby):
    """Joining a public room answers room.joined on every tab; live messages follow."""
    sender = await connect(alice)
    joining_tab, other_tab = await connect(carol), await connect(carol)

    await joining_tab.send({"type": "room.join", "room": "lobby"})
    joined = {
        "type": "room.joined",
        "room": "lobby",
        "detail": {"slug": "lobby", "title": "lobby", "private": False},
    }
    assert await joining_tab.recv() == joined
    assert await other_tab.recv() == joined
    assert await database_sync_to_async(
        Membership.objects.filter(user=carol.user, conversation=lobby).exists
    )()

    await sender.send(
        {"type": "message.send", "room": "lobby", "body": "welcome", "client_id": "w"}
    )
    ack = await sender.recv()
    for tab in (joining_tab, other_tab):
        frame = await tab.recv()
        assert (frame["id"], frame["body"]) == (ack["id"], "welcome")
        await tab.assert_silent()


async def test_join_a_room_already_in_is_answered_and_changes_nothing(
    connect, bob, lobby
):
    """Joining a room one is in answers room.joined to that tab alone."""
    tab, other_tab = await connect(bob), await connect(bob)
    await tab.send({"type": "room.join", "room": "lobby"})
    assert (await tab.recv())["type"] == "room.joined"
    await other_tab.assert_silent()
    count = Membership.objects.filter(user=bob.user, conversation=lobby).count
    assert await database_sync_to_async(count)() == 1


async def test_join_private_room_is_forbidden(connect, carol, secret):
    """A stranger's join of a private room is refused with `forbidden`."""
    socket = await connect(carol)
    await socket.send({"type": "room.join", "room": "secret"})
    error = await socket.recv()
    assert isinstance(error.pop("detail"), str)
    assert error == {"type": "error", "code": "forbidden", "client_id": None}
    await socket.assert_silent()
    exists = Membership.objects.filter(user=carol.user, conversation=secret).exists
    assert not await database_sync_to_async(exists)()
    await socket.still_works()


async def test_leave_room_stops_its_live_messages(connect, alice, bob, lobby):
    """After room.leave, no tab of the leaver gets the room's messages."""
    sender = await connect(alice)
    leaving_tab, other_tab = await connect(bob), await connect(bob)

    await leaving_tab.send({"type": "room.leave", "room": "lobby"})
    left = {"type": "room.left", "room": "lobby", "reason": "left"}
    assert await leaving_tab.recv() == left
    assert await other_tab.recv() == left

    await sender.send(
        {"type": "message.send", "room": "lobby", "body": "gone?", "client_id": "l1"}
    )
    await sender.send(
        {"type": "message.send", "to": "bob", "body": "sentinel", "client_id": "l2"}
    )
    for tab in (leaving_tab, other_tab):
        assert (await tab.recv())["body"] == "sentinel"
        await tab.assert_silent()

    await leaving_tab.send(
        {"type": "message.send", "room": "lobby", "body": "back", "client_id": "l3"}
    )
    error = await leaving_tab.recv()
    assert (error["type"], error["code"], error["client_id"]) == (
        "error",
        "forbidden",
        "l3",
    )


async def test_owner_adding_a_member_subscribes_their_open_sockets(
    connect, alice, carol, secret
):
    """A member the owner adds gets room.joined and live messages at once."""
    owner, member = await connect(alice), await connect(carol)

    await aadd_member(slug="secret", username="carol", actor=alice.user)
    assert await member.recv() == {
        "type": "room.joined",
        "room": "secret",
        "detail": {"slug": "secret", "title": "secret", "private": True},
    }
    await owner.assert_silent()

    await owner.send(
        {"type": "message.send", "room": "secret", "body": "hi", "client_id": "s1"}
    )
    ack = await owner.recv()
    assert (await member.recv())["id"] == ack["id"]

    await aremove_member(slug="secret", username="carol", actor=alice.user)
    assert await member.recv() == {
        "type": "room.left",
        "room": "secret",
        "reason": "kicked",
    }
    await owner.send(
        {"type": "message.send", "room": "secret", "body": "bye", "client_id": "s2"}
    )
    await owner.send(
        {"type": "message.send", "to": "carol", "body": "sentinel", "client_id": "s3"}
    )
    assert (await member.recv())["body"] == "sentinel"
    await member.assert_silent()


# --- bad input ------------------------------------------------------------------------

SEND = {"type": "message.send", "room": "lobby", "body": "ok", "client_id": "bad"}
BAD_FRAMES = {
    # What the client sends (text, bytes or a dict as JSON), and the error code.
    "invalid_json": ("{nope", "invalid_json"),
    "deeply_nested_json": ("[" * 10_000, "invalid_json"),
    "frame_too_long": ("[" * 100_000, "too_long"),
    "json_array": ("[1, 2]", "invalid"),
    "json_number": ("42", "invalid"),
    "binary_frame": (b"\x00\x01binary", "invalid_frame"),
    "unknown_type": ({"type": "message.pin", "client_id": "bad"}, "unknown_type"),
    "missing_type": ({"room": "lobby", "body": "ok"}, "unknown_type"),
    "non_string_type": ({"type": 7}, "unknown_type"),
    "layer_event_type": ({"type": "chat.frame", "text": "forged"}, "unknown_type"),
    "socket_event_type": ({"type": "websocket.disconnect"}, "unknown_type"),
    "method_name_type": ({"type": "send_heartbeats"}, "unknown_type"),
    "missing_body": (dict(SEND, body=None), "empty"),
    "empty_body": (dict(SEND, body=""), "empty"),
    "blank_body": (dict(SEND, body=" \n\t "), "empty"),
    "body_too_long": (dict(SEND, body="x" * 4001), "too_long"),
    "body_not_string": (dict(SEND, body=5), "invalid"),
    "body_list": (dict(SEND, body=["ok"]), "invalid"),
    "nul_in_body": (dict(SEND, body="a\x00b"), "invalid"),
    "lone_surrogate_in_body": (
        '{"type":"message.send","room":"lobby","body":"a\\ud800b","client_id":"bad"}',
        "invalid",
    ),
    "unknown_room": (dict(SEND, room="nowhere"), "not_found"),
    "private_room_not_in": (dict(SEND, room="vault"), "forbidden"),
    "public_room_not_in": (dict(SEND, room="open"), "forbidden"),
    "room_not_string": (dict(SEND, room=5), "invalid"),
    "room_empty": (dict(SEND, room=""), "invalid"),
    "dm_unknown_user": ({**SEND, "room": None, "to": "nobody"}, "not_found"),
    "dm_self": ({**SEND, "room": None, "to": "alice"}, "invalid"),
    "dm_to_not_string": ({**SEND, "room": None, "to": ["bob"]}, "invalid"),
    "room_and_to": ({**SEND, "to": "bob"}, "invalid"),
    "neither_room_nor_to": ({**SEND, "room": None}, "invalid"),
    "client_id_not_string": (dict(SEND, client_id=5), "invalid"),
    "client_id_too_long": (dict(SEND, client_id="c" * 65), "invalid"),
    "client_id_with_nul": (dict(SEND, client_id="c\x00"), "invalid"),
    "client_id_lone_surrogate": (dict(SEND, client_id="c\ud800"), "invalid"),
    "room_lone_surrogate": (dict(SEND, room="x\udfff"), "not_found"),
    "sync_after_negative": ({"type": "sync", "after": -1}, "invalid"),
    "sync_after_past_max": ({"type": "sync", "after": MAX_ID + 1}, "invalid"),
    "sync_after_huge": ({"type": "sync", "after": 10**40}, "invalid"),
    "sync_after_infinite": ('{"type":"sync","after":1e400}', "invalid_json"),
    "sync_after_fraction": ({"type": "sync", "after": 1.5}, "invalid"),
    "sync_after_bool": ({"type": "sync", "after": True}, "invalid"),
    "sync_after_text": ({"type": "sync", "after": "abc"}, "invalid"),
    "sync_limit_zero": ({"type": "sync", "limit": 0}, "invalid"),
    "sync_limit_negative": ({"type": "sync", "limit": -3}, "invalid"),
    "sync_limit_text": ({"type": "sync", "limit": "many"}, "invalid"),
    "join_unknown_room": ({"type": "room.join", "room": "nowhere"}, "not_found"),
    "join_room_not_string": ({"type": "room.join", "room": 5}, "invalid"),
    "join_without_room": ({"type": "room.join"}, "invalid"),
    "leave_unknown_room": ({"type": "room.leave", "room": "nowhere"}, "not_found"),
    "leave_without_room": ({"type": "room.leave"}, "invalid"),
}


def echoed_client_id(payload) -> str | None:
    """The client_id an error frame repeats: a short string the client sent, or None."""
    if isinstance(payload, dict):
        client_id = payload.get("client_id")
    elif isinstance(payload, str) and payload.startswith("{"):
        try:
            client_id = json.loads(payload).get("client_id")
        except ValueError:
            return None
    else:
        return None
    if not isinstance(client_id, str) or not 0 < len(client_id) <= 64:
        return None
    # Not echoed either: text that cannot be written back as UTF-8.
    if "\x00" in client_id or any(0xD800 <= ord(c) <= 0xDFFF for c in client_id):
        return None
    return client_id


@pytest.mark.parametrize(
    ("payload", "code"), list(BAD_FRAMES.values()), ids=list(BAD_FRAMES)
)
async def test_bad_input_gets_an_error_stores_nothing_and_connection_lives(
    connect, alice, bob, lobby, bobs_rooms, payload, code
):
    """Bad input gets one error frame with its code; nothing is stored; go on."""
    socket, member = await connect(alice), await connect(bob)
    if isinstance(payload, bytes):
        await socket.communicator.send_to(bytes_data=payload)
    elif isinstance(payload, str):
        await socket.send_text(payload)
    else:
        await socket.send({k: v for k, v in payload.items() if v is not None})

    error = await socket.recv()
    assert isinstance(error.pop("detail"), str)
    assert error == {
        "type": "error",
        "code": code,
        "client_id": echoed_client_id(payload),
    }
    assert await count_messages() == 0

    # The next frames are the answers to what follows: nothing else was sent.
    await socket.still_works()
    await socket.send(
        {
            "type": "message.send",
            "room": "lobby",
            "body": "still here",
            "client_id": "g",
        }
    )
    ack = await socket.recv()
    assert ack == {"type": "ack", "client_id": "g", "id": ack["id"]}
    assert (await member.recv())["body"] == "still here"
    assert await count_messages() == 1


async def test_a_server_fault_costs_one_error_frame_not_the_connection(
    connect, alice, monkeypatch
):
    """A bug while handling a frame answers `internal`; the socket keeps working."""

    def broken(**kwargs):
        raise RuntimeError("a bug")

    socket = await connect(alice)
    monkeypatch.setattr("chat.realtime.member.messages_after", broken)
    await socket.send({"type": "sync", "after": 0})
    assert await socket.recv() == {
        "type": "error",
        "code": "internal",
        "detail": "The server failed on this frame.",
        "client_id": None,
    }
    await socket.still_works()
