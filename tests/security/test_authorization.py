"""The authorization matrix: a stranger can neither read nor write, path by path.

Two conversations are guarded: alice's private room `vault` (bob is a member)
and the direct conversation of alice and bob. dave is in neither. Every cell
is one test against a real daphne: each read path (WebSocket sync, live
fan-out, HTTP history and room pages, long poll, admin without staff rights)
and each write path (WebSocket, HTTP, a command run as dave).
"""

import asyncio

import pytest

from accounts.models import User
from chat.models import Conversation, Message
from chat.services.messages import store_message
from tests.conftest import PASSWORD
from tests.live import http_json, log_in, manage, open_chat

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

TARGETS = ["private_room", "direct"]


class World:
    """Who is who, and the messages dave must never see."""

    def __init__(self, alice, bob, dave, room: str, ids: dict[str, set[int]]):
        self.alice, self.bob, self.dave = alice, bob, dave
        self.room = room
        self.ids = ids

    def guarded(self, frames, target: str) -> list:
        """The frames (or message payloads) of the target's guarded messages."""
        return [
            f for f in frames if isinstance(f, dict) and f.get("id") in self.ids[target]
        ]


@pytest.fixture
def world(make_person, make_room) -> World:
    alice = make_person("alice")
    bob = make_person("bob")
    dave = make_person("dave", with_password=True)
    room = make_room("vault", owner=alice.user, private=True, members=[bob.user])
    ids = {target: set() for target in TARGETS}
    for i in range(3):
        message, _ = store_message(
            sender=alice.user, room="vault", body=f"room secret {i}", client_id=f"r{i}"
        )
        ids["private_room"].add(message.id)
        message, _ = store_message(
            sender=bob.user, to="alice", body=f"direct secret {i}", client_id=f"d{i}"
        )
        ids["direct"].add(message.id)
    return World(alice, bob, dave, room.slug, ids)


def guarded_count() -> int:
    return Message.objects.filter(
        conversation__in=Conversation.objects.filter(slug="vault")
        | Conversation.objects.filter(
            kind=Conversation.Kind.DIRECT,
            direct_low__username__in=["alice", "bob"],
            direct_high__username__in=["alice", "bob"],
        )
    ).count()


async def api(server, method: str, path: str, **kwargs):
    return await asyncio.to_thread(
        http_json, method, f"{server.http_url}{path}", **kwargs
    )


# --- read -------------------------------------------------------------------------


@pytest.mark.parametrize("target", TARGETS)
async def test_stranger_cannot_read_by_websocket_sync(daphne_server, world, target):
    """dave's sync returns nothing of the private room or of alice and bob's DMs."""
    async with open_chat(daphne_server, world.dave.token) as dave:
        assert dave.hello["last_id"] < min(world.ids[target])
        await dave.send(type="sync", after=0, limit=500)
        frames = await dave.recv_until("sync.done")
    assert world.guarded(frames, target) == []
    assert frames[-1]["last_id"] == 0


@pytest.mark.parametrize("target", TARGETS)
async def test_stranger_cannot_read_live_fan_out(daphne_server, world, target):
    """A message sent live reaches the members, never dave's open socket."""
    async with (
        open_chat(daphne_server, world.dave.token) as dave,
        open_chat(daphne_server, world.bob.token) as bob,
        open_chat(daphne_server, world.alice.token) as alice,
    ):
        where = {"room": world.room} if target == "private_room" else {"to": "bob"}
        await alice.send(type="message.send", body="live", client_id="live", **where)
        await alice.recv_until("ack")
        delivered = await bob.recv_until("message")
        assert delivered[-1]["body"] == "live"
        await dave.assert_silent(1)


@pytest.mark.parametrize("target", TARGETS)
async def test_stranger_cannot_read_http_history(daphne_server, world, target):
    """History over HTTP: 403 for the room; dave's own (empty) DM with alice."""
    token = world.dave.token
    if target == "private_room":
        for path in ("messages/", "members/", ""):
            status, _, body = await api(
                daphne_server, "GET", f"/api/rooms/{world.room}/{path}", token=token
            )
            assert (status, body["code"]) == (403, "forbidden"), path
        status, _, rooms = await api(daphne_server, "GET", "/api/rooms/", token=token)
        assert world.room not in [room["slug"] for room in rooms]
    else:
        for other in ("alice", "bob"):
            status, _, page = await api(
                daphne_server, "GET", f"/api/dm/{other}/messages/", token=token
            )
            assert status == 200
            assert page["messages"] == []
        status, _, dms = await api(daphne_server, "GET", "/api/dm/", token=token)
        assert dms == []


@pytest.mark.parametrize("target", TARGETS)
async def test_stranger_cannot_read_by_long_poll(daphne_server, world, target):
    """The long poll answers dave with nothing of theirs, now or as it arrives."""
    status, _, page = await api(
        daphne_server, "GET", "/api/messages/?after=0", token=world.dave.token
    )
    assert status == 200
    assert world.guarded(page["messages"], target) == []
    poll = asyncio.create_task(
        api(
            daphne_server,
            "GET",
            "/api/messages/?after=0&wait=3",
            token=world.dave.token,
        )
    )
    await asyncio.sleep(0.5)
    where = {"room": world.room} if target == "private_room" else {"to": "bob"}
    async with open_chat(daphne_server, world.alice.token) as alice:
        await alice.send(type="message.send", body="during", client_id="p", **where)
        await alice.recv_until("ack")
    status, _, page = await poll
    assert (status, page["messages"]) == (200, [])


@pytest.fixture
def staff_without_rights(make_person):
    """A staff user given no permission on chat models."""
    person = make_person("clerk", with_password=True)
    User.objects.filter(pk=person.id).update(is_staff=True)
    return person


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("who", ["member_not_staff", "staff_without_rights"])
async def test_stranger_cannot_read_through_the_admin(
    daphne_server, world, staff_without_rights, target, who
):
    """The admin's message list: not for a non-staff user, nor staff lacking rights."""
    username = "dave" if who == "member_not_staff" else "clerk"
    cookie = await asyncio.to_thread(log_in, daphne_server, username, PASSWORD)
    path = "/admin/chat/message/" if target == "direct" else "/admin/chat/room/"
    status, headers, body = await api(
        daphne_server, "GET", path, headers={"Cookie": cookie}
    )
    if who == "member_not_staff":
        assert status == 302
        assert headers["Location"].startswith("/admin/login/")
    else:
        assert status == 403
    assert "secret" not in str(body)


# --- write ------------------------------------------------------------------------


@pytest.mark.parametrize("target", TARGETS)
async def test_stranger_cannot_write_by_websocket(daphne_server, world, target):
    """dave's frames: forbidden in the room; a DM spoofing alice lands as dave's own."""
    before = await asyncio.to_thread(guarded_count)
    async with open_chat(daphne_server, world.dave.token) as dave:
        if target == "private_room":
            await dave.send(type="room.join", room=world.room)
            assert (await dave.recv())["code"] == "forbidden"
            await dave.send(
                type="message.send", room=world.room, body="in", client_id="w1"
            )
            error = await dave.recv()
            assert (error["code"], error["client_id"]) == ("forbidden", "w1")
        else:
            await dave.send(
                type="message.send",
                to="bob",
                body="from alice, honest",
                client_id="w2",
                sender={"id": world.alice.id, "username": "alice"},
                user="alice",
            )
            frames = await dave.recv_until("message")
            assert frames[-1]["sender"]["username"] == "dave"
    assert await asyncio.to_thread(guarded_count) == before


@pytest.mark.parametrize("target", TARGETS)
async def test_stranger_cannot_write_by_http(daphne_server, world, target):
    """dave's HTTP posts: 403 for the room (and its join and members); DMs are his."""
    token = world.dave.token
    before = await asyncio.to_thread(guarded_count)
    if target == "private_room":
        for path, body in (
            ("messages/", {"body": "in", "client_id": "h1"}),
            ("join/", None),
            ("members/", {"username": "dave"}),
        ):
            status, _, answer = await api(
                daphne_server,
                "POST",
                f"/api/rooms/{world.room}/{path}",
                token=token,
                body=body,
            )
            assert (status, answer["code"]) == (403, "forbidden"), path
    else:
        status, _, answer = await api(
            daphne_server,
            "POST",
            "/api/dm/bob/messages/",
            token=token,
            body={"body": "hi", "client_id": "h2", "sender": world.alice.id},
        )
        assert status == 201
        assert answer["sender"]["username"] == "dave"
    assert await asyncio.to_thread(guarded_count) == before


@pytest.mark.parametrize("target", TARGETS)
def test_stranger_cannot_write_by_a_command_run_as_them(world, target):
    """`postmessage --as dave` into the private room fails; DMs have no command."""
    before = guarded_count()
    if target == "private_room":
        done = manage("postmessage", world.room, "in", "--as", "dave")
        assert done.returncode != 0
        assert "member" in done.stderr
    else:
        # postmessage writes to rooms only: naming a DM's users reaches no room.
        done = manage("postmessage", "alice", "in", "--as", "dave")
        assert done.returncode != 0
    assert guarded_count() == before
    assert "Posted" not in done.stdout


# --- messages that change -------------------------------------------------------------


def guarded_state() -> list[tuple]:
    """What dave's attempts must leave as it was: every guarded message's state."""
    return sorted(
        Message.objects.filter(
            body__contains="secret", deleted_at__isnull=True
        ).values_list("id", "body", "edited_at", "reactions")
    )


@pytest.mark.parametrize("target", TARGETS)
async def test_stranger_cannot_change_by_http(daphne_server, world, target):
    """dave's edits, deletions and reactions on guarded messages: 404 not_found,
    as for a message that does not exist (never which), and nothing changes."""
    token = world.dave.token
    before = await asyncio.to_thread(guarded_state)
    for message_id in sorted(world.ids[target]):
        for method, path, body in (
            ("PATCH", f"/api/messages/{message_id}/", {"body": "mine now"}),
            ("DELETE", f"/api/messages/{message_id}/", None),
            ("PUT", f"/api/messages/{message_id}/reactions/%F0%9F%91%8E/", None),
            ("DELETE", f"/api/messages/{message_id}/reactions/%F0%9F%91%8E/", None),
        ):
            status, _, answer = await api(
                daphne_server, method, path, token=token, body=body
            )
            assert (status, answer["code"]) == (404, "not_found"), (method, path)
    assert await asyncio.to_thread(guarded_state) == before


@pytest.mark.parametrize("target", TARGETS)
async def test_stranger_cannot_read_changes(daphne_server, world, target):
    """alice edits a guarded message: the change feed and the long poll tell
    bob, and dave nothing."""
    message_id = min(world.ids[target])
    status, _, edited = await api(
        daphne_server,
        "PATCH",
        f"/api/messages/{message_id}/",
        token=world.alice.token if target == "private_room" else world.bob.token,
        body={"body": "secret, edited"},
    )
    assert status == 200, edited
    for person, expected in ((world.bob, [message_id]), (world.dave, [])):
        status, _, page = await api(
            daphne_server, "GET", "/api/changes/?after=0", token=person.token
        )
        assert status == 200, page
        assert [change["id"] for change in page["changes"]] == expected
        status, _, polled = await api(
            daphne_server,
            "GET",
            "/api/messages/?after=999999&changes_after=0",
            token=person.token,
        )
        assert status == 200, polled
        assert [change["id"] for change in polled["changes"]] == expected
