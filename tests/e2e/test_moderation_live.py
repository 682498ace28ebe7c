"""Moderation against a real daphne: `manage.py ban`, `mute` and `setrole` run
as their own processes reach open sockets live (on the embedded default through
the outbox and the server's relay; with Redis through the shared layer), and a
mute made over HTTP refuses the muted user's frames."""

import asyncio

import pytest

from tests.live import http_json, manage, open_chat

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def hall(make_room, alice, bob) -> str:
    return make_room("hall", owner=alice.user, members=[bob.user]).slug


async def test_the_ban_command_takes_an_open_socket_out_of_the_room(
    daphne_server, alice, bob, hall
):
    """bob's socket gets room.left "banned"; alice's next message does not
    reach him; the command's --lift lets his room.join through again."""
    async with (
        open_chat(daphne_server, alice.token) as a,
        open_chat(daphne_server, bob.token) as b,
    ):
        done = await asyncio.to_thread(
            manage, "ban", hall, "bob", "--reason", "spam", "--expires-in", "60"
        )
        assert done.returncode == 0, done.stderr
        assert await b.recv(timeout=5) == {
            "type": "room.left",
            "room": hall,
            "reason": "banned",
        }
        await a.send(type="message.send", room=hall, body="gone", client_id="a1")
        await a.recv_until("ack")
        await b.assert_silent(0.5)
        await b.send(type="room.join", room=hall)
        assert (await b.recv())["code"] == "forbidden"
        done = await asyncio.to_thread(manage, "ban", hall, "bob", "--lift")
        assert done.returncode == 0, done.stderr
        await b.send(type="room.join", room=hall)
        assert (await b.recv())["type"] == "room.joined"


async def test_a_mute_over_http_refuses_the_users_frames_and_the_setrole_command(
    daphne_server, alice, bob, hall
):
    async with open_chat(daphne_server, bob.token) as b:
        status, _, mute = await asyncio.to_thread(
            http_json,
            "POST",
            f"{daphne_server.http_url}/api/rooms/hall/mutes/",
            token=alice.token,
            body={"username": "bob", "expires_in": 120},
        )
        assert status == 201, mute
        await b.send(type="message.send", room=hall, body="hey", client_id="b1")
        error = await b.recv()
        assert (error["code"], error["until"], error["client_id"]) == (
            "muted",
            mute["expires_at"],
            "b1",
        )
    done = await asyncio.to_thread(manage, "setrole", hall, "bob", "moderator")
    assert done.returncode == 0, done.stderr
    status, _, members = await asyncio.to_thread(
        http_json,
        "GET",
        f"{daphne_server.http_url}/api/rooms/hall/members/",
        token=alice.token,
    )
    assert [(m["user"]["username"], m["role"]) for m in members] == [
        ("alice", "owner"),
        ("bob", "moderator"),
    ]
