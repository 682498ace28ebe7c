"""manage.py commands, run as their own processes, reach connected clients live."""

import asyncio

import pytest

from tests.live import manage, message_frame, open_chat

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


async def test_postmessage_reaches_connected_members_once(
    daphne_server, alice, bob, carol, lobby
):
    """A message posted from the command line arrives live, once, at each member.

    On the embedded default the command's process has no way into daphne's
    in-memory layer: it leaves the event in the outbox, and the server's relay
    publishes it. With Redis the
    command publishes to the shared layer itself. Either way: exactly once.
    """
    async with (
        open_chat(daphne_server, alice.token) as a,
        open_chat(daphne_server, bob.token) as b,
    ):
        done = await asyncio.to_thread(
            manage, "postmessage", lobby, "你吃饭了没?", "--as", "carol"
        )
        assert done.returncode == 0, done.stderr
        got_a = await a.recv(timeout=5)
        got_b = await b.recv(timeout=5)
        expected = message_frame(
            id=got_a["id"],
            room=lobby,
            sender=carol.payload,
            body="你吃饭了没?",
            client_id=got_a["client_id"],
        )
        assert got_a == expected
        assert got_b == expected
        await asyncio.gather(a.assert_silent(2.5), b.assert_silent(2.5))


@pytest.fixture
def secret(make_room, alice, bob) -> str:
    """A private room of alice's with bob in it."""
    return make_room("secret", owner=alice.user, private=True, members=[bob.user]).slug


async def test_addmember_changes_reach_open_sockets_at_once(
    daphne_server, alice, bob, carol, secret
):
    """An operator adds carol, then removes bob: their open sockets follow.

    Carol's socket hears the room from then on; bob's stops hearing it, so a
    removed member reads nothing more of a private room, live or by sync.
    """
    async with (
        open_chat(daphne_server, alice.token) as a,
        open_chat(daphne_server, bob.token) as b,
        open_chat(daphne_server, carol.token) as c,
    ):
        added = await asyncio.to_thread(manage, "addmember", secret, "carol")
        assert added.returncode == 0, added.stderr
        joined = await c.recv(timeout=5)
        assert joined["type"] == "room.joined"
        assert joined["room"] == secret

        removed = await asyncio.to_thread(
            manage, "addmember", secret, "bob", "--remove"
        )
        assert removed.returncode == 0, removed.stderr
        assert await b.recv(timeout=5) == {
            "type": "room.left",
            "room": secret,
            "reason": "kicked",
        }

        await a.send(
            type="message.send", room=secret, body="bob is gone", client_id="g"
        )
        ack = await a.recv()
        assert ack["type"] == "ack"
        assert (await c.recv())["id"] == ack["id"]
        await b.assert_silent(1.5)
        await b.send(type="sync", after=b.hello["last_id"])
        assert await b.recv() == {
            "type": "sync.done",
            "last_id": b.hello["last_id"],
            "more": False,
        }
