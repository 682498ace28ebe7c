"""Invites and reports against a real daphne: accepting an invite over HTTP
puts the user's open socket in the room at once (room.joined, then its live
messages), and a report resolved with `delete` reaches every reader's socket
as message.deleted."""

import asyncio

import pytest

from tests.live import http_json, open_chat

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def call(server, method: str, path: str, token: str, body=None):
    return http_json(method, f"{server.http_url}{path}", token=token, body=body)


@pytest.fixture
def den(make_room, alice) -> str:
    return make_room("den", owner=alice.user, private=True).slug


@pytest.fixture
def hall(make_room, alice, bob, carol) -> str:
    return make_room("hall", owner=alice.user, members=[bob.user, carol.user]).slug


async def test_an_accepted_invite_joins_the_open_socket(
    daphne_server, alice, dave, den
):
    """dave's socket gets room.joined and alice's next message, once."""
    status, _, invite = await asyncio.to_thread(
        call, daphne_server, "POST", "/api/rooms/den/invites/", alice.token, {}
    )
    assert status == 201, invite
    async with (
        open_chat(daphne_server, alice.token) as a,
        open_chat(daphne_server, dave.token) as d,
    ):
        status, _, joined = await asyncio.to_thread(
            call,
            daphne_server,
            "POST",
            f"/api/invites/{invite['code']}/accept/",
            dave.token,
        )
        assert (status, joined["changed"]) == (200, True)
        frame = await d.recv(timeout=5)
        assert (frame["type"], frame["room"]) == ("room.joined", "den")
        await a.send(type="message.send", room="den", body="welcome", client_id="a1")
        await a.recv_until("ack")
        message = await d.recv_until("message")
        assert message[-1]["body"] == "welcome"
        await d.assert_silent(0.3)


async def test_a_report_resolved_by_deletion_reaches_the_readers(
    daphne_server, alice, bob, carol, hall
):
    """carol reports bob's message; alice deletes it from the queue: carol's
    socket gets message.deleted for it."""
    status, _, sent = await asyncio.to_thread(
        call,
        daphne_server,
        "POST",
        "/api/rooms/hall/messages/",
        bob.token,
        {"body": "rude", "client_id": "b1"},
    )
    assert status == 201, sent
    status, _, report = await asyncio.to_thread(
        call,
        daphne_server,
        "POST",
        f"/api/messages/{sent['id']}/report/",
        carol.token,
        {"reason": "rude"},
    )
    assert status == 201, report
    async with open_chat(daphne_server, carol.token) as c:
        status, _, resolved = await asyncio.to_thread(
            call,
            daphne_server,
            "POST",
            f"/api/rooms/hall/reports/{report['id']}/resolve/",
            alice.token,
            {"action": "delete"},
        )
        assert (status, resolved["action"]) == (200, "delete")
        frames = await c.recv_until("message.deleted")
        assert frames[-1]["id"] == sent["id"]
