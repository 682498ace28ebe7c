"""Messages that change, against a real daphne: live change frames, a change made
by another process, and catching up on changes after a reconnect."""

import asyncio

import pytest

from tests.live import manage, open_chat

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


async def post(chat, **frame) -> int:
    """message.send; its id, once its ack and its own frame were read."""
    await chat.send(type="message.send", **frame)
    ack = await chat.recv()
    assert ack["type"] == "ack", ack
    assert (await chat.recv())["id"] == ack["id"]
    return ack["id"]


async def test_edit_reaction_and_delete_reach_both_members_live(
    daphne_server, alice, bob, lobby
):
    """Each change is one frame on the actor's socket and one on the other
    member's, with change_ids that increase; a sync then shows the tombstone."""
    async with (
        open_chat(daphne_server, alice.token) as a,
        open_chat(daphne_server, bob.token) as b,
    ):
        said = await post(a, room=lobby, body="helo", client_id="c1")
        assert (await b.recv())["id"] == said
        told = []
        for chat, frame in [
            (a, {"type": "message.edit", "id": said, "body": "hello"}),
            (b, {"type": "reaction.add", "id": said, "emoji": "👍"}),
            (a, {"type": "message.delete", "id": said}),
        ]:
            await chat.send(**frame)
            mine = await chat.recv()
            other = b if chat is a else a
            assert await other.recv() == mine
            told.append(mine)
        assert [frame["type"] for frame in told] == [
            "message.edited",
            "message.reactions",
            "message.deleted",
        ]
        assert told[1]["reactions"] == [{"emoji": "👍", "count": 1, "users": [bob.id]}]
        ids = [frame["change_id"] for frame in told]
        assert ids == sorted(set(ids))  # increasing, each its own
        await asyncio.gather(a.assert_silent(), b.assert_silent())

        await b.send(type="sync", after=said - 1)
        tombstone, done = await b.recv_until("sync.done")
        assert (tombstone["id"], tombstone["deleted"], tombstone["body"]) == (
            said,
            True,
            "",
        )
        assert tombstone["reactions"] == []
        assert done == {"type": "sync.done", "last_id": said, "more": False}


EDIT_FROM_THE_COMMAND_LINE = """
from accounts.models import User
from chat.services.changes import edit_message
edit_message(user=User.objects.get(username="alice"), message_id={id}, body="fixed")
"""


async def test_a_change_made_by_another_process_arrives_live_once(
    daphne_server, alice, bob, lobby
):
    """An edit made in a manage.py process reaches the open sockets once: on
    the embedded default through the outbox and the server's relay, with
    Redis through the shared layer."""
    async with (
        open_chat(daphne_server, alice.token) as a,
        open_chat(daphne_server, bob.token) as b,
    ):
        said = await post(a, room=lobby, body="typo", client_id="c1")
        assert (await b.recv())["id"] == said
        code = EDIT_FROM_THE_COMMAND_LINE.format(id=said)
        done = await asyncio.to_thread(manage, "shell", "-c", code)
        assert done.returncode == 0, done.stderr
        got_a, got_b = await a.recv(timeout=10), await b.recv(timeout=10)
        assert got_a == got_b
        assert (got_a["type"], got_a["id"], got_a["body"]) == (
            "message.edited",
            said,
            "fixed",
        )
        assert got_a["change_id"] > a.hello["last_change_id"]
        await asyncio.gather(a.assert_silent(1.5), b.assert_silent(1.5))


async def test_a_reconnected_client_catches_up_on_changes_from_its_hello(
    daphne_server, alice, bob, lobby
):
    """bob keeps his hello's last_change_id; changes made while he was away
    come with his next sync, and a cursor below what is kept gets a reset."""
    async with open_chat(daphne_server, alice.token) as a:
        said = await post(a, room=lobby, body="helo", client_id="c1")
    async with open_chat(daphne_server, bob.token) as b:
        cursor = b.hello["last_change_id"]
    async with open_chat(daphne_server, alice.token) as a:
        await a.send(type="message.edit", id=said, body="hello")
        edited = await a.recv()
    async with open_chat(daphne_server, bob.token) as b:
        assert b.hello["last_change_id"] == edited["change_id"]
        await b.send(type="sync", after=said, changes_after=cursor)
        assert await b.recv_until("sync.done") == [
            edited,
            {
                "type": "sync.done",
                "last_id": said,
                "more": False,
                "last_change_id": edited["change_id"],
            },
        ]
