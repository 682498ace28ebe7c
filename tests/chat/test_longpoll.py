"""`GET /api/messages/?after=&wait=`: the long poll, through Django's ASGI handler.

The data is made by sync fixtures and committed (transaction=True): the view
reads in its own thread. What happens during a wait is done from a thread, the
way a request on another connection would, and that thread's connection is
closed afterwards.
"""

import asyncio
import time
from datetime import timedelta

import pytest
from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer
from django.db import connections, transaction
from django.test import AsyncClient
from django.urls import resolve
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.tokens import create_token, revoke_token
from chat import events
from chat.models import MessageChange
from chat.services.changes import delete_message, edit_message, prune_changes, react
from chat.services.messages import send_message, store_message
from chat.services.rooms import add_member, leave_room

pytestmark = pytest.mark.django_db(transaction=True)

URL = "/api/messages/"


@pytest.fixture
async def close_thread_connections():
    """Close what the view's worker thread opened, before the test DB goes."""
    yield
    await sync_to_async(connections.close_all)()


@pytest.fixture
def people(make_user, close_thread_connections):
    """alice, bob and carol, each with a token: `people["alice"]` -> (user, token)."""
    return {
        name: (user := make_user(name), create_token(user=user)[1])
        for name in ("alice", "bob", "carol")
    }


def in_thread(function, /, **kwargs):
    """Run a sync service in a worker thread, as another request would."""

    def run():
        try:
            return function(**kwargs)
        finally:
            connections.close_all()

    return sync_to_async(run, thread_sensitive=False)()


async def poll(token: str | None, **params):
    """One long poll; returns the status, the JSON body and the seconds it took."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    started = time.monotonic()
    response = await AsyncClient().get(URL, params, headers=headers)
    return response, response.json(), time.monotonic() - started


def ids(body: dict) -> list[int]:
    return [message["id"] for message in body["messages"]]


async def started(coroutine) -> asyncio.Task:
    """Start a poll and make sure it is waiting, not answered already."""
    task = asyncio.create_task(coroutine)
    await asyncio.sleep(0.3)
    assert not task.done(), "the poll answered before anything happened"
    return task


# --- answering -------------------------------------------------------------------


@pytest.fixture
def lobby(people, make_room):
    """alice and bob (its owner) in room `lobby`, with three messages by bob."""
    alice, bob = people["alice"][0], people["bob"][0]
    make_room("lobby", owner=bob, members=[alice])
    return [
        send_message(sender=bob, room="lobby", body=f"m{n}")[0].id for n in range(3)
    ]


async def test_answers_at_once_when_there_is_something_newer(people, lobby):
    """With messages after `after` the poll answers at once, however long the wait."""
    response, body, took = await poll(people["alice"][1], after=lobby[0], wait=20)
    assert response.status_code == 200
    assert took < 2
    assert body == {
        "messages": body["messages"],
        "more": False,
        "last_id": lobby[2],
    }
    assert ids(body) == lobby[1:]
    assert body["messages"][0]["type"] == "message"
    assert body["messages"][0]["room"] == "lobby"
    assert body["messages"][0]["body"] == "m1"


async def test_limit_pages_with_more(people, lobby):
    """`limit` caps the answer and `more` says that the rest is waiting."""
    _, body, _ = await poll(people["alice"][1], after=0, limit=2)
    assert (ids(body), body["more"], body["last_id"]) == (lobby[:2], True, lobby[1])
    _, body, _ = await poll(people["alice"][1], after=lobby[1], limit=2)
    assert (ids(body), body["more"], body["last_id"]) == (lobby[2:], False, lobby[2])


async def test_no_wait_answers_empty_at_once(people, lobby):
    """Without `wait`, nothing newer means an empty answer straight away."""
    response, body, took = await poll(people["alice"][1], after=lobby[-1])
    assert response.status_code == 200
    assert body == {"messages": [], "more": False, "last_id": lobby[-1]}
    assert took < 1


async def test_answers_empty_when_the_wait_ends(people, lobby):
    """Nothing new within `wait` seconds: an empty answer, at the deadline."""
    _, body, took = await poll(people["alice"][1], after=lobby[-1], wait=0.8)
    assert body == {"messages": [], "more": False, "last_id": lobby[-1]}
    assert 0.75 <= took < 3


# --- waking ------------------------------------------------------------------------


async def test_room_message_wakes_the_poll_at_once(people, lobby):
    """A message posted while the poll waits is answered at once, alone."""
    bob = people["bob"][0]
    task = await started(poll(people["alice"][1], after=lobby[-1], wait=20))
    message, _ = await in_thread(send_message, sender=bob, room="lobby", body="new")
    response, body, took = await asyncio.wait_for(task, timeout=5)
    assert response.status_code == 200
    assert ids(body) == [message.id]
    assert body["last_id"] == message.id
    assert body["messages"][0]["body"] == "new"
    assert took < 5


def post_over_http(*, token: str, url: str, data: dict):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client.post(url, data, format="json")


async def test_message_posted_over_http_wakes_the_poll(people, lobby):
    """`POST /api/rooms/<slug>/messages/` reaches a waiting poll: one path, live."""
    task = await started(poll(people["alice"][1], after=lobby[-1], wait=20))
    response = await in_thread(
        post_over_http,
        token=people["bob"][1],
        url="/api/rooms/lobby/messages/",
        data={"body": "over http", "client_id": "h-1"},
    )
    assert response.status_code == 201
    _, body, _ = await asyncio.wait_for(task, timeout=5)
    assert body["messages"] == [response.json()]


async def test_direct_message_wakes_the_recipient(people):
    """A direct message reaches the recipient's waiting poll, with its recipient."""
    alice, bob = people["alice"][0], people["bob"][0]
    task = await started(poll(people["bob"][1], after=0, wait=20))
    message, _ = await in_thread(send_message, sender=alice, to="bob", body="psst")
    _, body, _ = await asyncio.wait_for(task, timeout=5)
    assert ids(body) == [message.id]
    assert body["messages"][0]["recipient"] == {"id": bob.pk, "username": "bob"}


async def test_my_own_message_from_another_device_wakes_me(people, lobby):
    """Every device of a user hears what the user posts elsewhere."""
    alice = people["alice"][0]
    task = await started(poll(people["alice"][1], after=lobby[-1], wait=20))
    message, _ = await in_thread(send_message, sender=alice, room="lobby", body="me")
    _, body, _ = await asyncio.wait_for(task, timeout=5)
    assert ids(body) == [message.id]


async def test_a_batch_of_frames_wakes_the_poll(people, lobby):
    """A layer message carrying several frames (a busy process's fan-out)
    wakes the poll like one frame, and it answers with every new message."""
    bob = people["bob"][0]
    task = await started(poll(people["alice"][1], after=lobby[-1], wait=20))

    def store_both():
        # One commit: a poll woken by anything else sees both or neither.
        with transaction.atomic():
            return [
                store_message(sender=bob, room="lobby", body=body)[0]
                for body in ("one", "two")
            ]

    stored = await in_thread(store_both)
    batch = events.frames_event([events.message_event(m) for m in stored])
    assert batch["type"] == events.FRAMES
    group = events.room_group(stored[0].conversation_id)
    await get_channel_layer().group_send(group, batch)
    _, body, took = await asyncio.wait_for(task, timeout=5)
    assert ids(body) == [message.id for message in stored]
    assert took < 5


@pytest.fixture
def rooms(people, make_room):
    """carol's private `quiet` (empty), alice's `mine`, bob's `secret` and `public`."""
    alice, bob, carol = (people[name][0] for name in ("alice", "bob", "carol"))
    make_room("quiet", owner=carol, private=True)
    make_room("mine", owner=alice)
    make_room("secret", owner=bob, private=True, members=[carol])
    make_room("public", owner=bob)


async def test_wake_up_without_a_visible_message_keeps_waiting(people, rooms, lobby):
    """Being added to an empty room wakes the poll but it waits out its time."""
    alice, carol = people["alice"][0], people["carol"][0]
    task = await started(poll(people["alice"][1], after=lobby[-1], wait=1.5))
    await in_thread(add_member, slug="quiet", username="alice", actor=carol)
    _, body, took = await asyncio.wait_for(task, timeout=5)
    assert body == {"messages": [], "more": False, "last_id": lobby[-1]}
    assert took >= 1.4
    assert await alice.memberships.filter(conversation__slug="quiet").aexists()


async def test_room_joined_during_the_wait_is_heard(people, rooms, lobby):
    """A room I am added to while waiting delivers its next message to my poll."""
    carol = people["carol"][0]
    task = await started(poll(people["alice"][1], after=lobby[-1], wait=20))
    await in_thread(add_member, slug="quiet", username="alice", actor=carol)
    await asyncio.sleep(0.3)
    assert not task.done()
    message, _ = await in_thread(
        send_message, sender=carol, room="quiet", body="welcome"
    )
    _, body, _ = await asyncio.wait_for(task, timeout=5)
    assert ids(body) == [message.id]


async def test_room_left_during_the_wait_is_not_heard(people, lobby):
    """After leaving a room, its messages neither wake nor reach my poll."""
    alice, bob = people["alice"][0], people["bob"][0]
    task = await started(poll(people["alice"][1], after=lobby[-1], wait=1.5))
    await in_thread(leave_room, user=alice, slug="lobby")
    await in_thread(send_message, sender=bob, room="lobby", body="after you left")
    _, body, took = await asyncio.wait_for(task, timeout=5)
    assert body == {"messages": [], "more": False, "last_id": lobby[-1]}
    assert took >= 1.4


class BrokenLayer:
    """A channel layer that is down."""

    async def new_channel(self, prefix="x"):
        return f"{prefix}.broken!1"

    async def group_add(self, group, channel):
        raise ConnectionError("layer down")

    async def group_discard(self, group, channel):
        raise ConnectionError("layer down")


async def test_without_the_layer_the_poll_still_answers(people, lobby, monkeypatch):
    """With the channel layer down, a waiting poll still finds a new message."""
    monkeypatch.setattr("chat.api.longpoll.get_channel_layer", BrokenLayer)
    bob = people["bob"][0]
    task = await started(poll(people["alice"][1], after=lobby[-1], wait=10))
    message = await in_thread(store_message, sender=bob, room="lobby", body="slow")
    response, body, took = await asyncio.wait_for(task, timeout=5)
    assert response.status_code == 200
    assert ids(body) == [message[0].id]
    assert took < 3


# --- privacy -----------------------------------------------------------------------


async def test_only_my_conversations_are_visible(people, rooms):
    """Private rooms, other rooms and other people's direct messages never show."""
    alice, bob = people["alice"][0], people["bob"][0]
    await in_thread(send_message, sender=bob, room="secret", body="classified")
    await in_thread(send_message, sender=bob, room="public", body="not joined")
    await in_thread(send_message, sender=bob, to="carol", body="between us")
    visible, _ = await in_thread(send_message, sender=alice, room="mine", body="hi")
    _, body, _ = await poll(people["alice"][1], after=0, wait=0.5)
    assert ids(body) == [visible.id]


async def test_other_peoples_messages_do_not_wake_me(people, rooms):
    """A message in a private room I am not in leaves my poll waiting, then empty."""
    bob = people["bob"][0]
    task = await started(poll(people["alice"][1], after=0, wait=1.2))
    await in_thread(send_message, sender=bob, room="secret", body="classified")
    await in_thread(send_message, sender=bob, to="carol", body="between us")
    _, body, took = await asyncio.wait_for(task, timeout=5)
    assert body == {"messages": [], "more": False, "last_id": 0}
    assert took >= 1.1


# --- authentication, input, method -----------------------------------------------


@pytest.mark.parametrize("token", [None, "wrongpre.secret", "garbage"])
async def test_needs_a_valid_token(people, token):
    """No token or a wrong one: 401, `WWW-Authenticate: Bearer`, a JSON reason."""
    response, body, _ = await poll(token, after=0, wait=5)
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert body["code"] == "unauthenticated"
    assert set(body) == {"code", "detail"}


@pytest.mark.parametrize("header", ["Bearer\t{token}", "bearer   {token} "])
async def test_reads_the_bearer_header_as_the_api_does(people, header):
    """The long poll accepts every spelling of the header that the API accepts."""
    token = people["alice"][1]
    response = await AsyncClient().get(
        URL,
        {"after": 0, "wait": 0},
        headers={"Authorization": header.format(token=token)},
    )
    assert response.status_code == 200
    assert set(response.json()) == {"messages", "more", "last_id"}


@pytest.fixture
def revoked_token(make_user, close_thread_connections):
    token_row, token = create_token(user=make_user("dave"))
    revoke_token(token_row)
    return token


async def test_revoked_token_is_refused(revoked_token):
    """A revoked token gets 401 on the long poll as everywhere."""
    token = revoked_token
    response, body, _ = await poll(token, after=0)
    assert response.status_code == 401
    assert body["code"] == "unauthenticated"


@pytest.fixture
def session_client(people):
    """An AsyncClient logged in as alice by session cookie."""
    client = AsyncClient()
    client.force_login(people["alice"][0])
    return client


async def test_session_works_too(session_client, lobby):
    """A logged-in page may long-poll without a token."""
    response = await session_client.get(URL, {"after": lobby[0]})
    assert response.status_code == 200
    assert ids(response.json()) == lobby[1:]


@pytest.mark.parametrize(
    "params",
    [
        {"after": "abc"},
        {"after": "-1"},
        {"after": "²"},
        {"after": "9" * 5000},
        {"wait": "99"},
        {"wait": "30.5"},
        {"wait": "-1"},
        {"wait": "soon"},
        {"wait": "nan"},
        {"wait": "inf"},
        {"limit": "0"},
        {"limit": "many"},
    ],
)
async def test_bad_parameters_get_400(people, params):
    """Malformed `after`, `wait` or `limit`: 400 `invalid` with a reason, at once."""
    response, body, took = await poll(people["alice"][1], **params)
    assert response.status_code == 400
    assert body["code"] == "invalid"
    assert isinstance(body["detail"], str)
    assert took < 1


async def test_wait_of_the_maximum_is_allowed(people, lobby, settings):
    """`wait` may be exactly the maximum."""
    settings.CHAT_LONG_POLL_MAX_SECONDS = 1
    response, body, took = await poll(people["alice"][1], after=lobby[-1], wait=1)
    assert response.status_code == 200
    assert body["messages"] == []
    assert took >= 0.95


async def test_other_methods_get_json_405(people):
    """Only GET: anything else is a JSON 405 naming the allowed method.

    CSRF checks are on, as for a real client: a POST without a CSRF token still
    gets the JSON answer, not Django's HTML CSRF page.
    """
    response = await AsyncClient(enforce_csrf_checks=True).post(
        URL, {}, headers={"Authorization": f"Bearer {people['alice'][1]}"}
    )
    assert response.status_code == 405
    assert response["Allow"] == "GET"
    assert response.json()["code"] == "method_not_allowed"


# --- holding no thread --------------------------------------------------------------


def test_the_view_is_a_coroutine():
    """Django runs the long poll in the event loop, not in a worker thread."""
    assert asyncio.iscoroutinefunction(resolve(URL).func)


async def test_waiting_polls_do_not_queue_behind_each_other(people, lobby):
    """Five polls waiting 0.6 s each all end in about 0.6 s, not one after another."""
    token = people["alice"][1]
    started_at = time.monotonic()
    answers = await asyncio.gather(
        *(poll(token, after=lobby[-1], wait=0.6) for _ in range(5))
    )
    took = time.monotonic() - started_at
    assert [body["messages"] for _, body, _ in answers] == [[]] * 5
    assert took < 2


# --- changes (`changes_after`) --------------------------------------------------


def last_change_id() -> int:
    from chat.change_feed import last_change_id as read

    return read()


def change_kinds(body: dict) -> list[tuple[str, int]]:
    return [(change["type"], change["id"]) for change in body["changes"]]


@pytest.fixture
def cursor(lobby):
    """The newest change id once the lobby's messages are in (0 if none yet)."""
    return last_change_id()


async def test_without_changes_after_the_answer_is_as_before(people, lobby, cursor):
    """A poll that does not ask for changes gets v1's answer, changes or not."""
    bob = people["bob"][0]
    await in_thread(edit_message, user=bob, message_id=lobby[0], body="edited")
    _, body, _ = await poll(people["alice"][1], after=lobby[-1])
    assert body == {"messages": [], "more": False, "last_id": lobby[-1]}


async def test_a_change_does_not_end_a_v1_wait(people, lobby, cursor):
    """Without `changes_after` an edit wakes the poll only to look: it waits on."""
    bob = people["bob"][0]
    task = await started(poll(people["alice"][1], after=lobby[-1], wait=1.2))
    await in_thread(edit_message, user=bob, message_id=lobby[0], body="edited")
    _, body, _ = await asyncio.wait_for(task, timeout=5)
    assert body == {"messages": [], "more": False, "last_id": lobby[-1]}


async def test_pending_changes_are_answered_at_once(people, lobby, cursor):
    """Changes after `changes_after`: answered at once, beside the (no) messages."""
    bob = people["bob"][0]
    stored = await in_thread(edit_message, user=bob, message_id=lobby[1], body="edited")
    _, body, _ = await poll(
        people["alice"][1], after=lobby[-1], changes_after=cursor, wait=20
    )
    assert set(body) == {"messages", "more", "last_id", "changes", "last_change_id"}
    assert (body["messages"], body["last_id"], body["more"]) == ([], lobby[-1], False)
    [change] = body["changes"]
    assert change["type"] == "message.edited"
    assert (change["id"], change["body"], change["room"]) == (
        lobby[1],
        "edited",
        "lobby",
    )
    assert change["change_id"] == stored.change.id
    assert body["last_change_id"] == stored.change.id


async def test_a_change_wakes_a_waiting_poll(people, lobby, cursor):
    """An edit stored while the poll waits is answered at once, as its frame."""
    bob = people["bob"][0]
    task = await started(
        poll(people["alice"][1], after=lobby[-1], changes_after=cursor, wait=20)
    )
    stored = await in_thread(edit_message, user=bob, message_id=lobby[0], body="woken")
    response, body, _ = await asyncio.wait_for(task, timeout=5)
    assert response.status_code == 200
    assert change_kinds(body) == [("message.edited", lobby[0])]
    assert body["changes"][0]["body"] == "woken"
    assert body["last_change_id"] == stored.change.id
    assert body["messages"] == []


async def test_a_reaction_over_http_wakes_the_other_side_of_a_dm(people):
    """bob reacts over HTTP to alice's direct message: alice's poll hears it."""
    alice, bob = people["alice"][0], people["bob"][0]
    message, _ = await in_thread(send_message, sender=alice, to="bob", body="hi")
    start = await sync_to_async(last_change_id)()
    task = await started(
        poll(people["alice"][1], after=message.id, changes_after=start, wait=20)
    )

    def put_reaction():
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {people['bob'][1]}")
        return client.put(f"/api/messages/{message.id}/reactions/%F0%9F%91%8D/")

    response = await in_thread(put_reaction)
    assert response.status_code == 200, response.content
    _, body, _ = await asyncio.wait_for(task, timeout=5)
    [change] = body["changes"]
    assert change["type"] == "message.reactions"
    assert change["room"] is None
    assert change["reactions"] == [{"emoji": "👍", "count": 1, "users": [bob.pk]}]


async def test_a_deletion_wakes_the_poll(people, lobby, cursor):
    """The room's owner deletes a message: the poll gets message.deleted."""
    bob = people["bob"][0]
    task = await started(
        poll(people["alice"][1], after=lobby[-1], changes_after=cursor, wait=20)
    )
    await in_thread(delete_message, user=bob, message_id=lobby[2])
    _, body, _ = await asyncio.wait_for(task, timeout=5)
    assert change_kinds(body) == [("message.deleted", lobby[2])]


async def test_new_messages_come_in_their_current_state_once(people, lobby, cursor):
    """A message newer than `after` comes whole, edited; its edit is not repeated."""
    bob = people["bob"][0]
    await in_thread(edit_message, user=bob, message_id=lobby[2], body="fixed")
    await in_thread(edit_message, user=bob, message_id=lobby[0], body="old one")
    _, body, _ = await poll(people["alice"][1], after=lobby[1], changes_after=cursor)
    assert ids(body) == [lobby[2]]
    assert body["messages"][0]["body"] == "fixed"
    assert body["messages"][0]["edited_at"] is not None
    assert change_kinds(body) == [("message.edited", lobby[0])]


async def test_more_says_that_changes_wait_beyond_the_limit(people, lobby, cursor):
    """Two changes, `limit=1`: one, `more`, and the cursor to go on from."""
    bob = people["bob"][0]
    first = await in_thread(edit_message, user=bob, message_id=lobby[0], body="a")
    await in_thread(edit_message, user=bob, message_id=lobby[1], body="b")
    token = people["alice"][1]
    _, body, _ = await poll(token, after=lobby[-1], changes_after=cursor, limit=1)
    assert change_kinds(body) == [("message.edited", lobby[0])]
    assert (body["more"], body["last_change_id"]) == (True, first.change.id)
    _, body, _ = await poll(
        token, after=lobby[-1], changes_after=body["last_change_id"], limit=1
    )
    assert change_kinds(body) == [("message.edited", lobby[1])]
    assert body["more"] is False


async def test_changes_i_cannot_see_do_not_wake_me(people, rooms, lobby, cursor):
    """A reaction in a private room I am not in leaves my poll waiting, then empty."""
    bob = people["bob"][0]
    secret, _ = await in_thread(send_message, sender=bob, room="secret", body="s")
    start = await sync_to_async(last_change_id)()
    task = await started(
        poll(people["alice"][1], after=secret.id, changes_after=start, wait=1.2)
    )
    await in_thread(react, user=bob, message_id=secret.id, emoji="👍", add=True)
    _, body, _ = await asyncio.wait_for(task, timeout=5)
    assert (body["messages"], body["changes"]) == ([], [])
    assert body["last_change_id"] >= start


async def test_expired_changes_after_is_410(people, lobby, cursor):
    """A `changes_after` older than what is kept: 410 changes_expired, at once."""
    bob = people["bob"][0]

    def prune_the_first_of_two():
        old = react(user=bob, message_id=lobby[0], emoji="👍", add=True)
        MessageChange.objects.filter(pk=old.change.id).update(
            created_at=timezone.now() - timedelta(days=400)
        )
        react(user=bob, message_id=lobby[0], emoji="😀", add=True)
        prune_changes()

    await in_thread(prune_the_first_of_two)
    response, body, _ = await poll(
        people["alice"][1], after=lobby[-1], changes_after=cursor, wait=20
    )
    assert response.status_code == 410
    assert body["code"] == "changes_expired"
    assert set(body) == {"code", "detail"}


@pytest.mark.parametrize("value", ["-1", "x", "9" * 30, "1.0"])
async def test_a_bad_changes_after_is_400(people, value):
    """`changes_after` is a change id: a whole number from 0."""
    response, body, _ = await poll(people["alice"][1], changes_after=value)
    assert response.status_code == 400
    assert body["code"] == "invalid"
