"""Invites and reports across two daphne processes on PostgreSQL + Redis: an
invite accepted through one process puts the user's socket on the other in the
room at once; a report resolved with a ban through one process takes the
sender's socket on the other out of the room."""

import asyncio

import pytest

from tests.live import http_json, open_chat

from .support import SERVICES_ONLY

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True), SERVICES_ONLY]


@pytest.fixture
def den(make_room, alice, carol) -> str:
    """A private room of alice's, with carol in it."""
    return make_room("den", owner=alice.user, private=True, members=[carol.user]).slug


@pytest.fixture
def hall(make_room, alice, bob, carol) -> str:
    return make_room("hall", owner=alice.user, members=[bob.user, carol.user]).slug


async def api(server, method: str, path: str, token: str, body=None):
    return await asyncio.to_thread(
        http_json, method, f"{server.http_url}{path}", token=token, body=body
    )


async def send_and_ack(chat, **frame) -> int:
    await chat.send(type="message.send", **frame)
    frames = await chat.recv_until("ack")
    return frames[-1]["id"]


async def test_an_invite_accepted_on_one_process_joins_the_socket_on_the_other(
    start_daphnes, alice, carol, dave, den
):
    """dave's socket on process 2 gets room.joined within a second of his
    accept through process 1, then carol's next message (process 1)."""
    one, two = start_daphnes(2)
    status, _, invite = await api(one, "POST", "/api/rooms/den/invites/", alice.token)
    assert status == 201, invite
    async with (
        open_chat(two, dave.token) as d,
        open_chat(one, carol.token) as c,
    ):
        status, _, joined = await api(
            one, "POST", f"/api/invites/{invite['code']}/accept/", dave.token
        )
        assert (status, joined["changed"]) == (200, True)
        frame = await d.recv(timeout=1)
        assert (frame["type"], frame["room"]) == ("room.joined", "den")
        sent = await send_and_ack(c, room=den, body="welcome", client_id="c1")
        message = await d.recv(timeout=2)
        assert (message["type"], message["id"]) == ("message", sent)


async def test_a_ban_from_a_report_on_one_process_removes_the_sender_on_the_other(
    start_daphnes, alice, bob, carol, hall
):
    """bob's socket on process 2 gets room.left "banned" within a second of
    alice resolving carol's report of him with a ban through process 1."""
    one, two = start_daphnes(2)
    async with open_chat(two, bob.token) as b:
        said = await send_and_ack(b, room=hall, body="rude", client_id="b1")
        status, _, report = await api(
            one, "POST", f"/api/messages/{said}/report/", carol.token, {"reason": "x"}
        )
        assert status == 201, report
        status, _, resolved = await api(
            one,
            "POST",
            f"/api/rooms/hall/reports/{report['id']}/resolve/",
            alice.token,
            {"action": "ban", "expires_in": 3600},
        )
        assert (status, resolved["action"]) == (200, "ban"), resolved
        # (His own message may come back to him first.)
        frames = await b.recv_until("room.left", timeout=1)
        assert frames[-1] == {"type": "room.left", "room": "hall", "reason": "banned"}
        assert all(f["type"] == "message" for f in frames[:-1]), frames
