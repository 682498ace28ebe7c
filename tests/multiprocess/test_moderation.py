"""Moderation across two daphne processes on PostgreSQL + Redis (issue 18,
"How it must hold"): a ban or kick made through one process takes the user's
sockets on the other out of the room's fan-out within a second, and `sync`
never returns the room's messages sent after; a muted user's frames are refused
on every process; an expiry ends a restriction with no job run first."""

import asyncio
from datetime import timedelta

import pytest
from asgiref.sync import sync_to_async
from django.db import connection
from django.utils import timezone

from chat.models import Mute
from tests.live import http_json, open_chat

from .support import SERVICES_ONLY

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True), SERVICES_ONLY]


@pytest.fixture
def hall(make_room, alice, bob, carol) -> str:
    """A public room of alice's (the owner), with bob and carol in it."""
    return make_room("hall", owner=alice.user, members=[bob.user, carol.user]).slug


def expire_mutes() -> None:
    """Move every mute's end into the past, as time passing would (and close
    this thread's connection: the test database is dropped after)."""
    Mute.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    connection.close()


async def api(server, method: str, path: str, token: str, body=None):
    """An HTTP call to one process, off the event loop (the sockets read on)."""
    return await asyncio.to_thread(
        http_json, method, f"{server.http_url}{path}", token=token, body=body
    )


async def send_and_ack(chat, **frame) -> int:
    await chat.send(type="message.send", **frame)
    frames = [await chat.recv(), await chat.recv()]
    (ack,) = [f for f in frames if f["type"] == "ack"]
    return ack["id"]


@pytest.mark.parametrize(
    ("method", "path", "body", "reason"),
    [
        ("DELETE", "/api/rooms/hall/members/bob/", None, "kicked"),
        ("POST", "/api/rooms/hall/bans/", {"username": "bob"}, "banned"),
    ],
)
async def test_removal_on_one_process_stops_the_room_on_the_other(
    start_daphnes, alice, bob, carol, hall, method, path, body, reason
):
    """bob's socket on process 2 gets room.left within a second of alice's
    kick or ban through process 1; carol's next message (process 1) never
    reaches him, and his sync from before does not return it."""
    one, two = start_daphnes(2)
    async with (
        open_chat(two, bob.token) as b,
        open_chat(one, carol.token) as c,
    ):
        before = await send_and_ack(c, room=hall, body="before", client_id="c1")
        assert (await b.recv())["id"] == before  # live across the processes
        status, _, answer = await api(one, method, path, alice.token, body)
        assert status in (201, 204), answer
        assert await b.recv(timeout=1) == {
            "type": "room.left",
            "room": "hall",
            "reason": reason,
        }
        after = await send_and_ack(c, room=hall, body="after", client_id="c2")
        await b.assert_silent(0.5)
        await b.send(type="sync", after=0)
        frames = await b.recv_until("sync.done")
        assert [f.get("id") for f in frames[:-1]] == []  # none of the room's now
        assert after > before


async def test_a_ban_refuses_a_rejoin_on_every_process(start_daphnes, alice, bob, hall):
    one, two = start_daphnes(2)
    status, _, ban = await api(
        one,
        "POST",
        "/api/rooms/hall/bans/",
        alice.token,
        {"username": "bob", "reason": "spam", "expires_in": 3600},
    )
    assert status == 201, ban
    status, _, refused = await api(two, "POST", "/api/rooms/hall/join/", bob.token)
    assert (status, refused["code"]) == (403, "forbidden")
    assert ban["expires_at"] in refused["detail"]
    async with open_chat(one, bob.token) as b:
        await b.send(type="room.join", room="hall")
        error = await b.recv()
        assert (error["type"], error["code"]) == ("error", "forbidden")


async def test_a_mute_on_one_process_refuses_frames_on_both_until_it_expires(
    start_daphnes, alice, bob, carol, hall
):
    """Muted through process 1, bob's message.send and reaction.add on either
    process get `muted` with the until the mute answered; carol's messages
    still reach him; once its time is past (no job run), he sends again."""
    one, two = start_daphnes(2)
    async with open_chat(one, bob.token) as b1, open_chat(two, bob.token) as b2:
        said = await send_and_ack(b2, room=hall, body="hi", client_id="b0")
        assert (await b1.recv())["id"] == said
        status, _, mute = await api(
            one,
            "POST",
            "/api/rooms/hall/mutes/",
            alice.token,
            {"username": "bob", "expires_in": 600},
        )
        assert status == 201, mute
        for number, chat in enumerate((b1, b2)):
            await chat.send(
                type="message.send", room=hall, body="x", client_id=f"m{number}"
            )
            error = await chat.recv()
            assert (error["type"], error["code"], error["until"]) == (
                "error",
                "muted",
                mute["expires_at"],
            )
            await chat.send(
                type="reaction.add", id=said, emoji="👍", client_id=f"r{number}"
            )
            assert (await chat.recv())["code"] == "muted"
        async with open_chat(two, carol.token) as c:
            heard = await send_and_ack(c, room=hall, body="read on", client_id="c1")
        assert (await b1.recv())["id"] == heard
        assert (await b2.recv())["id"] == heard

        await sync_to_async(expire_mutes)()
        assert await send_and_ack(b1, room=hall, body="free", client_id="b1") > heard
