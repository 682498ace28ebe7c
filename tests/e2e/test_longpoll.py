"""The article's polling alternative against a real daphne: a long poll."""

import asyncio
import json
from pathlib import Path
from urllib.parse import quote

import pytest

from tests.live import DaphneServer, http_json, manage, message_frame, open_chat

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def poll(server, token: str | None, query: str):
    return asyncio.to_thread(
        http_json, "GET", f"{server.http_url}/api/messages/?{query}", token=token
    )


async def test_long_poll_is_woken_by_a_websocket_message(
    daphne_server, alice, bob, lobby
):
    """A poll waiting 10 s answers as soon as a WebSocket message is stored."""
    loop = asyncio.get_running_loop()
    async with open_chat(daphne_server, alice.token) as a:
        after = a.hello["last_id"]
        waiting = asyncio.ensure_future(
            poll(daphne_server, bob.token, f"after={after}&wait=10")
        )
        # Let the poll reach its wait, so that the message has to wake it.
        await asyncio.sleep(0.5)
        assert not waiting.done(), waiting.result()
        await a.send(type="message.send", room="lobby", body="wake up", client_id="w")
        sent_at = loop.time()
        ack = await a.recv()
        assert ack["type"] == "ack", ack
        status, _, answer = await asyncio.wait_for(waiting, timeout=5)
        answered_in = loop.time() - sent_at
    assert status == 200, answer
    assert answered_in < 3, f"the poll answered {answered_in:.1f}s after the message"
    assert answer == {
        "messages": [
            message_frame(
                id=ack["id"],
                room="lobby",
                sender=alice.payload,
                body="wake up",
                client_id="w",
            )
        ],
        "more": False,
        "last_id": ack["id"],
    }


async def test_long_poll_answers_empty_when_the_wait_ends(daphne_server, bob):
    """With nothing new, the poll answers an empty page once `wait` is over."""
    loop = asyncio.get_running_loop()
    started = loop.time()
    status, _, answer = await poll(daphne_server, bob.token, "after=7&wait=1.5")
    took = loop.time() - started
    assert status == 200, answer
    assert answer == {"messages": [], "more": False, "last_id": 7}
    assert 1.4 <= took < 5, f"answered after {took:.1f}s"


async def test_long_poll_without_a_valid_token_is_401(daphne_server):
    """A poll with a wrong token gets 401 with `WWW-Authenticate: Bearer`."""
    status, headers, answer = await poll(daphne_server, "not-a-token", "wait=1")
    assert status == 401
    assert headers["WWW-Authenticate"].startswith("Bearer")
    assert answer["code"] == "unauthenticated"


@pytest.fixture
def later(make_room, bob) -> str:
    """A public room of bob's that carol has not joined (yet)."""
    return make_room("later", owner=bob.user).slug


async def test_long_poll_hears_a_room_joined_while_it_waits(
    daphne_server, alice, bob, carol, later
):
    """Carol polls, then joins a room over HTTP: the room's next message wakes her.

    Someone else's WebSocket is open on the same server, as in real life: with
    Redis, the poll must not depend on the consumers' receive loop to hear.
    """
    url = daphne_server.http_url
    loop = asyncio.get_running_loop()
    async with open_chat(daphne_server, alice.token) as a:
        waiting = asyncio.ensure_future(
            poll(daphne_server, carol.token, f"after={a.hello['last_id']}&wait=8")
        )
        await asyncio.sleep(0.5)
        status, _, _ = await asyncio.to_thread(
            http_json, "POST", f"{url}/api/rooms/later/join/", token=carol.token
        )
        assert status == 200
        await asyncio.sleep(0.3)
        status, _, posted = await asyncio.to_thread(
            http_json,
            "POST",
            f"{url}/api/rooms/later/messages/",
            token=bob.token,
            body={"body": "welcome", "client_id": "welcome"},
        )
        assert status == 201, posted
        sent_at = loop.time()
        status, _, answer = await asyncio.wait_for(waiting, timeout=10)
    answered_in = loop.time() - sent_at
    assert status == 200, answer
    assert answer["messages"] == [posted]
    assert answered_in < 3, f"the poll answered {answered_in:.1f}s after the message"


async def test_a_poll_that_starts_the_relay_does_not_take_it_down_when_it_ends(
    start_daphne, bob, lobby
):
    """A fresh server's first request is a long poll, which starts the relay of
    the command line's events; after that poll has ended, a message posted with
    manage.py still wakes the next poll at once (on Redis the command publishes
    itself)."""
    server = start_daphne()
    status, _, first = await poll(server, bob.token, "after=0")
    assert status == 200, first
    waiting = asyncio.ensure_future(
        poll(server, bob.token, f"after={first['last_id']}&wait=15")
    )
    await asyncio.sleep(1)
    done = await asyncio.to_thread(
        manage, "postmessage", lobby, "from the shell", "--as", "carol"
    )
    assert done.returncode == 0, done.stderr
    status, _, answer = await asyncio.wait_for(waiting, timeout=6)
    assert status == 200, answer
    assert [message["body"] for message in answer["messages"]] == ["from the shell"]


def server_threads(server: DaphneServer) -> int:
    """The daphne process's thread count, as the kernel sees it."""
    status = Path(f"/proc/{server.process.pid}/status").read_text()
    return int(
        next(
            line for line in status.splitlines() if line.startswith("Threads:")
        ).split()[1]
    )


async def raw_poll(server: DaphneServer, token: str, query: str) -> tuple[int, dict]:
    """One long poll on a connection of its own, without a client thread."""
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    writer.write(
        (
            f"GET /api/messages/?{query} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            f"Authorization: Bearer {token}\r\nConnection: close\r\n\r\n"
        ).encode()
    )
    await writer.drain()
    raw = await reader.read()
    writer.close()
    head, _, body = raw.partition(b"\r\n\r\n")
    return int(head.split()[1]), json.loads(body)


POLLS = 50


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs /proc")
async def test_waiting_long_polls_hold_no_thread_each(start_daphne, alice, bob, lobby):
    """50 waiting polls add no more than a few threads; one message wakes them all."""
    server = start_daphne()
    async with open_chat(server, alice.token) as a:
        after = a.hello["last_id"]
        # First use: the server's shared threads and connections.
        for _ in range(8):
            status, _ = await raw_poll(server, bob.token, f"after={after}")
            assert status == 200
        await asyncio.sleep(0.5)
        before = server_threads(server)
        polls = [
            asyncio.ensure_future(raw_poll(server, bob.token, f"after={after}&wait=20"))
            for _ in range(POLLS)
        ]
        await asyncio.sleep(2)
        assert not any(poll.done() for poll in polls)
        waiting = server_threads(server)
        await a.send(type="message.send", room="lobby", body="all", client_id="all")
        ack = await a.recv()
        assert ack["type"] == "ack", ack
        answers = await asyncio.wait_for(asyncio.gather(*polls), timeout=10)
    assert waiting - before <= 4, f"{POLLS} polls: {before} -> {waiting} threads"
    assert [status for status, _ in answers] == [200] * POLLS
    assert {tuple(m["id"] for m in body["messages"]) for _, body in answers} == {
        (ack["id"],)
    }


# --- changes ---------------------------------------------------------------------

FAMILY = "👩\u200d👩\u200d👧"  # one emoji of five code points


@pytest.fixture
def posted(alice, lobby) -> int:
    """A message of alice's in the lobby; its id."""
    from chat.services.messages import store_message

    return store_message(sender=alice.user, room=lobby, body="typo hree")[0].id


async def current_change_id(server, token: str) -> int:
    status, _, page = await asyncio.to_thread(
        http_json, "GET", f"{server.http_url}/api/changes/?after=0", token=token
    )
    assert status == 200, page
    while page["more"]:
        status, _, page = await asyncio.to_thread(
            http_json,
            "GET",
            f"{server.http_url}/api/changes/?after={page['last_change_id']}",
            token=token,
        )
    return page["last_change_id"]


async def test_long_poll_with_changes_after_is_woken_by_an_edit_over_http(
    daphne_server, alice, bob, posted
):
    """bob waits with `changes_after`; alice fixes her typo with PATCH: bob's poll
    answers with the message.edited frame, and the PATCH with the message."""
    url = daphne_server.http_url
    start = await current_change_id(daphne_server, bob.token)
    waiting = asyncio.ensure_future(
        poll(daphne_server, bob.token, f"after={posted}&changes_after={start}&wait=10")
    )
    await asyncio.sleep(0.5)
    assert not waiting.done(), waiting.result()
    status, _, edited = await asyncio.to_thread(
        http_json,
        "PATCH",
        f"{url}/api/messages/{posted}/",
        token=alice.token,
        body={"body": "typo here"},
    )
    assert status == 200, edited
    assert (edited["id"], edited["body"], edited["deleted"]) == (
        posted,
        "typo here",
        False,
    )
    status, _, answer = await asyncio.wait_for(waiting, timeout=5)
    assert status == 200, answer
    assert (answer["messages"], answer["last_id"]) == ([], posted)
    [change] = answer["changes"]
    assert change == {
        "type": "message.edited",
        "id": posted,
        "room": "lobby",
        "recipient": None,
        "body": "typo here",
        "edited_at": edited["edited_at"],
        "change_id": answer["last_change_id"],
    }
    assert change["change_id"] > start


async def test_a_reaction_of_several_code_points_crosses_daphne_whole(
    daphne_server, alice, bob, posted
):
    """A ZWJ emoji, percent-encoded in the path, arrives as itself: in the PUT's
    answer, in the waiting poll of another member, and in GET /api/changes/."""
    url = daphne_server.http_url
    start = await current_change_id(daphne_server, alice.token)
    waiting = asyncio.ensure_future(
        poll(
            daphne_server, alice.token, f"after={posted}&changes_after={start}&wait=10"
        )
    )
    await asyncio.sleep(0.5)
    path = f"/api/messages/{posted}/reactions/{quote(FAMILY, safe='')}/"
    status, _, answer = await asyncio.to_thread(
        http_json, "PUT", f"{url}{path}", token=bob.token
    )
    assert status == 200, answer
    state = [{"emoji": FAMILY, "count": 1, "users": [bob.id]}]
    assert answer == {"reactions": state}
    status, _, polled = await asyncio.wait_for(waiting, timeout=5)
    assert status == 200, polled
    assert [(c["type"], c["reactions"]) for c in polled["changes"]] == [
        ("message.reactions", state)
    ]
    status, _, removed = await asyncio.to_thread(
        http_json, "DELETE", f"{url}{path}", token=bob.token
    )
    assert (status, removed) == (200, {"reactions": []})
    status, _, page = await asyncio.to_thread(
        http_json, "GET", f"{url}/api/changes/?after={start}", token=alice.token
    )
    assert status == 200, page
    assert page["changes"][-1]["reactions"] == []
