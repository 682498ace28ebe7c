"""Messages that change, across two daphne processes on PostgreSQL + Redis: a
client that was away learns every change by `sync` with `changes_after`, and
a process that dies before it could publish a change loses it for nobody."""

import pytest

from tests.live import open_chat

from .support import SERVICES_ONLY, TcpProxy

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True), SERVICES_ONLY]


async def send_and_ack(chat, **frame) -> int:
    """Send a message.send and return its id (its own message frame read too)."""
    await chat.send(type="message.send", **frame)
    ack = await chat.recv()
    assert ack["type"] == "ack", ack
    assert (await chat.recv())["id"] == ack["id"]
    return ack["id"]


async def change(chat, frame_type: str, **frame) -> dict:
    """Send a change frame; the change frame it comes back as (every member's
    connection gets it, the actor's included)."""
    await chat.send(type=frame_type, **frame)
    told = await chat.recv()
    assert "change_id" in told, told
    return told


async def sync_changes(chat, *, after: int, changes_after: int) -> list:
    """A sync with changes_after: every frame up to and including sync.done."""
    await chat.send(type="sync", after=after, changes_after=changes_after)
    return await chat.recv_until("sync.done", timeout=10)


async def test_a_client_away_learns_an_edit_a_delete_and_a_reaction_once_in_order(
    start_daphnes, alice, bob, carol, lobby
):
    """While bob is away, alice (process 1) edits a room message and deletes a
    direct message to him, and carol (process 2) reacts: bob's sync from his
    hello's cursors, on process 2, sends the three in change_id order, each
    once, then sync.done with the last change_id."""
    one, two = start_daphnes(2)
    async with open_chat(one, alice.token) as a:
        in_room = await send_and_ack(a, room=lobby, body="helo", client_id="r1")
        direct = await send_and_ack(a, to="bob", body="oops", client_id="d1")
    async with open_chat(one, bob.token) as b:
        last_id, cursor = b.hello["last_id"], b.hello["last_change_id"]
    assert last_id == direct

    async with open_chat(one, alice.token) as a, open_chat(two, carol.token) as c:
        edited = await change(a, "message.edit", id=in_room, body="hello")
        assert await c.recv() == edited  # live on the other process
        deleted = await change(a, "message.delete", id=direct)
        reacted = await change(c, "reaction.add", id=in_room, emoji="👍")
        assert await a.recv() == reacted
    assert cursor < edited["change_id"] < deleted["change_id"] < reacted["change_id"]

    async with open_chat(two, bob.token) as b:
        frames = await sync_changes(b, after=last_id, changes_after=cursor)
        assert frames == [
            edited,
            deleted,
            reacted,
            {
                "type": "sync.done",
                "last_id": last_id,
                "more": False,
                "last_change_id": reacted["change_id"],
            },
        ]
        assert edited["body"] == "hello"
        assert reacted["reactions"] == [
            {"emoji": "👍", "count": 1, "users": [carol.id]}
        ]
        # From the new cursor: nothing again.
        again = await sync_changes(b, after=last_id, changes_after=reacted["change_id"])
        assert [frame["type"] for frame in again] == ["sync.done"]
        await b.assert_silent()


async def test_a_process_killed_before_publishing_a_change_loses_it_for_nobody(
    start_daphnes, own_redis, alice, bob, lobby
):
    """Process 1 stores alice's edit and reaction but cannot publish them (its
    Redis cut off), then dies by SIGKILL: bob, live on process 2, never hears
    of them, and his sync with changes_after brings both."""
    proxy = TcpProxy(own_redis.port).start()
    try:
        (one,) = start_daphnes(1, REDIS_URL=f"redis://127.0.0.1:{proxy.port}/0")
        (two,) = start_daphnes(1, REDIS_URL=own_redis.url)
        async with open_chat(one, alice.token) as a, open_chat(two, bob.token) as b:
            said = await send_and_ack(a, room=lobby, body="helo", client_id="r1")
            assert (await b.recv())["id"] == said  # live across processes
            cursor = b.hello["last_change_id"]

            proxy.cut()  # process 1 can no longer reach the layer
            # Stored and told to alice's own socket (this process's), never
            # to the layer; then process 1 dies with them unpublished.
            edited = await change(a, "message.edit", id=said, body="hello")
            reacted = await change(a, "reaction.add", id=said, emoji="🎉")
            one.kill()
            await b.assert_silent(1)

            frames = await sync_changes(b, after=said, changes_after=cursor)
            assert frames == [
                edited,
                reacted,
                {
                    "type": "sync.done",
                    "last_id": said,
                    "more": False,
                    "last_change_id": reacted["change_id"],
                },
            ]
    finally:
        proxy.stop()
