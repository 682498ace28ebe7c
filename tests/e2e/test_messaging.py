"""Conversations through a real daphne: delivery, counts, recovery, bad input."""

import asyncio

import pytest

from tests.live import http_json, message_frame, open_chat

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

# Long enough for a second copy to show up from the layer or the server's relay
# (which reads other processes' events twice a second): "exactly one" must
# outlast both.
DUPLICATE_WINDOW = 2.5


async def all_silent(*chats, seconds: float = DUPLICATE_WINDOW) -> None:
    await asyncio.gather(*(chat.assert_silent(seconds) for chat in chats))


async def test_direct_message_round_trip(daphne_server, alice, bob, carol):
    """Alice's direct message reaches Bob once, Bob's reply Alice; nobody else."""
    async with (
        open_chat(daphne_server, alice.token) as a,
        open_chat(daphne_server, bob.token) as b,
        open_chat(daphne_server, carol.token) as c,
    ):
        await a.send(type="message.send", to="bob", body="hi bob", client_id="a-1")
        ack = await a.recv()
        assert ack == {"type": "ack", "client_id": "a-1", "id": ack["id"]}
        sent = message_frame(
            id=ack["id"],
            recipient=bob.payload,
            sender=alice.payload,
            body="hi bob",
            client_id="a-1",
        )
        assert await b.recv() == sent
        # The sender's other tabs (this one too) see what they sent.
        assert await a.recv() == sent

        await b.send(type="message.send", to="alice", body="hi alice", client_id="b-1")
        reply_ack = await b.recv()
        assert reply_ack == {"type": "ack", "client_id": "b-1", "id": reply_ack["id"]}
        assert reply_ack["id"] > ack["id"]
        reply = message_frame(
            id=reply_ack["id"],
            recipient=alice.payload,
            sender=bob.payload,
            body="hi alice",
            client_id="b-1",
        )
        assert await a.recv() == reply
        assert await b.recv() == reply
        await all_silent(a, b, c)


async def test_room_conversation_reaches_each_member_exactly_once(
    daphne_server, alice, bob, carol, dave, lobby
):
    """Three members: each gets the message exactly once, the sender one ack."""
    async with (
        open_chat(daphne_server, alice.token) as a,
        open_chat(daphne_server, bob.token) as b,
        open_chat(daphne_server, carol.token) as c,
        open_chat(daphne_server, dave.token) as d,
    ):
        await b.send(type="message.send", room="lobby", body="hello all", client_id="x")
        ack = await b.recv()
        assert ack == {"type": "ack", "client_id": "x", "id": ack["id"]}
        expected = message_frame(
            id=ack["id"],
            room="lobby",
            sender=bob.payload,
            body="hello all",
            client_id="x",
        )
        for member in (a, b, c):
            assert await member.recv() == expected
        await all_silent(a, b, c, d)


@pytest.fixture
def elsewhere(make_room, alice) -> str:
    """A room alice is in and bob is not."""
    return make_room("elsewhere", members=[alice.user]).slug


async def test_offline_client_recovers_exactly_what_it_missed_with_sync(
    daphne_server, alice, bob, lobby, elsewhere
):
    """Back online, `sync` from the last id seen gives each missed message once."""
    async with open_chat(daphne_server, alice.token) as a:
        async with open_chat(daphne_server, bob.token) as b:
            await a.send(type="message.send", room="lobby", body="seen", client_id="0")
            seen = await b.recv()
            assert seen["body"] == "seen"
            assert [f["type"] for f in await a.recv_until("message")] == [
                "ack",
                "message",
            ]
        missed = []
        for n, (room, body) in enumerate(
            [("lobby", "one"), ("elsewhere", "not for bob"), ("lobby", "two")]
        ):
            await a.send(type="message.send", room=room, body=body, client_id=f"m{n}")
            frames = await a.recv_until("ack")
            assert frames[-1]["client_id"] == f"m{n}"
            if room == "lobby":
                missed.append(frames[-1]["id"])
        await a.send(type="message.send", to="bob", body="three", client_id="m3")
        missed.append((await a.recv_until("ack"))[-1]["id"])

    async with open_chat(daphne_server, bob.token) as b:
        assert b.hello["last_id"] == missed[-1]
        await b.send(type="sync", after=seen["id"], limit=2)
        first_page = [await b.recv() for _ in range(3)]
        assert [f.get("id") for f in first_page[:2]] == missed[:2]
        assert [f["body"] for f in first_page[:2]] == ["one", "two"]
        assert first_page[2] == {
            "type": "sync.done",
            "last_id": missed[1],
            "more": True,
        }

        await b.send(type="sync", after=missed[1], limit=2)
        third = await b.recv()
        assert third == message_frame(
            id=missed[2],
            recipient=bob.payload,
            sender=alice.payload,
            body="three",
            client_id="m3",
        )
        assert await b.recv() == {
            "type": "sync.done",
            "last_id": missed[2],
            "more": False,
        }

        await b.send(type="sync", after=missed[2])
        assert await b.recv() == {
            "type": "sync.done",
            "last_id": missed[2],
            "more": False,
        }
        await b.assert_silent(DUPLICATE_WINDOW)


async def test_retried_client_id_stores_nothing_twice(daphne_server, alice, bob, lobby):
    """Resending a client_id (new socket, or over HTTP) gets the same id, no copy."""
    frame = {"type": "message.send", "room": "lobby", "body": "once", "client_id": "r"}
    async with open_chat(daphne_server, bob.token) as b:
        async with open_chat(daphne_server, alice.token) as a:
            await a.send(**frame)
            ack = await a.recv()
            assert ack == {"type": "ack", "client_id": "r", "id": ack["id"]}
            assert (await b.recv())["id"] == ack["id"]
        # The connection dropped before Alice saw her own copy; she resends.
        async with open_chat(daphne_server, alice.token) as a:
            await a.send(**frame)
            assert await a.recv() == ack
            await a.send(**frame)
            assert await a.recv() == ack
            status, _, body = await asyncio.to_thread(
                http_json,
                "POST",
                f"{daphne_server.http_url}/api/rooms/lobby/messages/",
                token=alice.token,
                body={"body": "once", "client_id": "r"},
            )
            assert (status, body["id"]) == (200, ack["id"])
            await all_silent(a, b)

    status, _, page = await asyncio.to_thread(
        http_json,
        "GET",
        f"{daphne_server.http_url}/api/rooms/lobby/messages/",
        token=bob.token,
    )
    assert status == 200
    assert [(m["id"], m["client_id"]) for m in page["messages"]] == [(ack["id"], "r")]


async def test_http_post_is_delivered_live_to_websocket_members(
    daphne_server, alice, bob, lobby
):
    """A message POSTed over HTTP reaches the room's open sockets, exactly once."""
    async with open_chat(daphne_server, bob.token) as b:
        status, _, posted = await asyncio.to_thread(
            http_json,
            "POST",
            f"{daphne_server.http_url}/api/rooms/lobby/messages/",
            token=alice.token,
            body={"body": "over http", "client_id": "h-1"},
        )
        assert status == 201, posted
        assert posted == message_frame(
            id=posted["id"],
            room="lobby",
            sender=alice.payload,
            body="over http",
            client_id="h-1",
        )
        assert await b.recv() == posted
        await b.assert_silent(DUPLICATE_WINDOW)


BAD_INPUTS = {
    "invalid-json": ('{"type": "message.send", "room": ', "invalid_json", None),
    "binary-frame": (b'{"type":"sync"}', "invalid_frame", None),
    "unknown-type": ({"type": "message.burn", "client_id": "c"}, "unknown_type", "c"),
    "delete-no-id": ({"type": "message.delete", "client_id": "c"}, "not_found", "c"),
    "missing-body": (
        {"type": "message.send", "room": "lobby", "client_id": "c"},
        "empty",
        "c",
    ),
    "too-long-body": (
        {"type": "message.send", "room": "lobby", "body": "x" * 4001, "client_id": "c"},
        "too_long",
        "c",
    ),
    "unknown-room": (
        {"type": "message.send", "room": "nowhere", "body": "hi", "client_id": "c"},
        "not_found",
        "c",
    ),
    "room-not-in": (
        {"type": "message.send", "room": "private", "body": "hi", "client_id": "c"},
        "forbidden",
        "c",
    ),
    "dm-unknown-user": (
        {"type": "message.send", "to": "nobody", "body": "hi", "client_id": "c"},
        "not_found",
        "c",
    ),
    # Valid JSON, not valid UTF-8 once decoded: nothing of it may be echoed raw.
    "lone-surrogates": (
        '{"type":"message.send","room":"x\\udfff","body":"hi","client_id":"\\ud800"}',
        "invalid",
        None,
    ),
}


@pytest.fixture
def private_room(make_room, dave) -> str:
    """A private room of dave's that alice is not in."""
    return make_room("private", owner=dave.user, private=True).slug


@pytest.mark.parametrize(
    ("sent", "code", "client_id"), BAD_INPUTS.values(), ids=BAD_INPUTS.keys()
)
async def test_bad_input_gets_an_error_and_the_connection_keeps_working(
    daphne_server, alice, dave, lobby, private_room, sent, code, client_id
):
    """Bad input: one `error` frame with a code, nothing stored, socket still good."""
    async with open_chat(daphne_server, alice.token) as a:
        if isinstance(sent, dict):
            await a.send(**sent)
        else:
            await a.ws.send(sent)
        error = await a.recv()
        assert error == {
            "type": "error",
            "code": code,
            "detail": error.get("detail"),
            "client_id": client_id,
        }
        assert isinstance(error["detail"], str)
        assert error["detail"]

        await a.send(
            type="message.send", room="lobby", body="still here", client_id="ok"
        )
        ack = await a.recv()
        assert ack == {"type": "ack", "client_id": "ok", "id": ack["id"]}
        assert (await a.recv())["id"] == ack["id"]
        await a.send(type="sync", after=a.hello["last_id"])
        assert (await a.recv())["id"] == ack["id"]
        assert await a.recv() == {
            "type": "sync.done",
            "last_id": ack["id"],
            "more": False,
        }
    # Nor did anything land in the room alice is not in.
    status, _, page = await asyncio.to_thread(
        http_json,
        "GET",
        f"{daphne_server.http_url}/api/rooms/private/messages/",
        token=dave.token,
    )
    assert (status, page["messages"]) == (200, [])
