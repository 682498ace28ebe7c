"""Managing a room over HTTP reaches the members' open sockets on a real daphne."""

import asyncio

import pytest

from tests.live import http_json, open_chat

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def secret(make_room, alice, bob, carol) -> str:
    """A private room of alice's with bob and carol in it."""
    return make_room(
        "secret", owner=alice.user, private=True, members=[bob.user, carol.user]
    ).slug


async def api(server, method: str, path: str, token: str, body=None):
    return await asyncio.to_thread(
        http_json, method, f"{server.http_url}{path}", token=token, body=body
    )


async def test_removed_member_hears_room_left_and_nothing_after(
    daphne_server, alice, bob, carol, secret
):
    """bob, kicked over HTTP, gets room.left "kicked" and no later room message."""
    async with (
        open_chat(daphne_server, alice.token) as a,
        open_chat(daphne_server, bob.token) as b,
        open_chat(daphne_server, carol.token) as c,
    ):
        status, _, _ = await api(
            daphne_server, "DELETE", f"/api/rooms/{secret}/members/bob/", alice.token
        )
        assert status == 204
        assert await b.recv() == {
            "type": "room.left",
            "room": secret,
            "reason": "kicked",
        }

        await a.send(type="message.send", room=secret, body="after bob", client_id="k1")
        # alice gets her ack and her own message, in either order.
        answers = {frame["type"]: frame for frame in [await a.recv(), await a.recv()]}
        assert set(answers) == {"ack", "message"}
        assert (await c.recv())["id"] == answers["ack"]["id"]
        # A sentinel by another path: bob's socket is alive and got nothing else.
        await a.send(type="message.send", to="bob", body="sentinel", client_id="k2")
        sentinel = await b.recv()
        assert sentinel["body"] == "sentinel"
        # Nothing of the room reaches bob; over Redis the layer may repeat the
        # sentinel itself (clients drop a repeated id, docs/protocol.md).
        while True:
            try:
                frame = await b.recv(timeout=1.0)
            except TimeoutError:
                break
            assert frame.get("id") == sentinel["id"], frame
        await b.send(type="message.send", room=secret, body="still?", client_id="k3")
        refused = await b.recv()
        assert (refused["type"], refused["code"]) == ("error", "forbidden")


async def test_deleted_room_tells_every_member_and_goes_quiet(
    daphne_server, alice, bob, carol, secret
):
    """Deleting a room over HTTP: each member's socket gets room.left "deleted"."""
    async with (
        open_chat(daphne_server, alice.token) as a,
        open_chat(daphne_server, bob.token) as b,
        open_chat(daphne_server, carol.token) as c,
    ):
        status, _, _ = await api(
            daphne_server, "DELETE", f"/api/rooms/{secret}/", alice.token
        )
        assert status == 204
        left = {"type": "room.left", "room": secret, "reason": "deleted"}
        for chat in (a, b, c):
            assert await chat.recv() == left
        await asyncio.gather(a.assert_silent(1.0), b.assert_silent(), c.assert_silent())
        await b.send(type="message.send", room=secret, body="hello?", client_id="d1")
        refused = await b.recv()
        assert (refused["type"], refused["code"]) == ("error", "not_found")


async def test_renaming_a_room_reaches_its_members(
    daphne_server, alice, bob, dave, secret
):
    """PATCH: every member's socket gets one room.updated; a stranger's none."""
    async with (
        open_chat(daphne_server, alice.token) as a,
        open_chat(daphne_server, bob.token) as b,
        open_chat(daphne_server, dave.token) as d,
    ):
        status, _, body = await api(
            daphne_server,
            "PATCH",
            f"/api/rooms/{secret}/",
            alice.token,
            {"title": "The den", "private": False},
        )
        assert status == 200, body
        expected = {
            "type": "room.updated",
            "room": secret,
            "detail": {
                "slug": secret,
                "title": "The den",
                "private": False,
                "owner": alice.payload,
                "members": 3,
            },
        }
        assert await a.recv() == expected
        assert await b.recv() == expected
        await asyncio.gather(a.assert_silent(), b.assert_silent(), d.assert_silent())
