"""The HTTP API: rooms, members, history and posting, on the WebSocket's services.

Live delivery of what the API posts is proven by the long poll's tests
(tests/chat/test_longpoll.py); here, what the API answers and stores.
"""

from io import StringIO

import pytest
from django.core.management import call_command
from rest_framework.test import APIClient

from accounts.tokens import create_token
from chat.models import Membership, Message
from chat.services.messages import send_message

pytestmark = pytest.mark.django_db


class Api:
    """An APIClient logged in with a bearer token, with JSON shortcuts."""

    def __init__(self, user):
        self.user = user
        self.client = APIClient()
        token = create_token(user=user)[1]
        self.client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")

    def get(self, url, params=None):
        return self.client.get(url, params)

    def post(self, url, data=None):
        return self.client.post(url, data, format="json")


@pytest.fixture
def api(make_user):
    """A client for a new user: `api("alice")`."""

    def make(username=None):
        return Api(make_user(username))

    return make


def assert_error(response, status: int, code: str) -> None:
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"code", "detail"}
    assert body["code"] == code
    assert isinstance(body["detail"], str)
    assert body["detail"]


def post_message(api_client, url, body, client_id=None):
    return api_client.post(url, {"body": body, "client_id": client_id})


# --- rooms ---------------------------------------------------------------------


def test_room_list_shows_public_rooms_and_my_private_ones(api, make_user, make_room):
    """A user sees public rooms and the private rooms they are in, no others."""
    alice, bob = api("alice"), api("bob")
    carol = make_user("carol")
    make_room("lobby", owner=carol, members=[bob.user])
    make_room("secret", owner=carol, private=True, members=[alice.user, bob.user])
    make_room("hidden", owner=carol, private=True)
    response = alice.get("/api/rooms/")
    assert response.status_code == 200
    assert [room["slug"] for room in response.json()] == ["lobby", "secret"]
    lobby, secret = response.json()
    assert lobby == {
        "slug": "lobby",
        "title": "lobby",
        "private": False,
        "owner": {"id": carol.pk, "username": "carol"},
        "member": False,
        "members": 2,
        "last_id": 0,
        "last_message_at": None,
        "read_id": 0,
        "unread": 0,
        "mentions": 0,
    }
    assert secret["member"] is True
    assert secret["private"] is True


def test_room_list_counts_every_member_of_a_private_room(api, make_user, make_room):
    """A private room's member count is all its members, not just me."""
    alice = api("alice")
    owner, bob = make_user("owner"), make_user("bob")
    make_room("secret", owner=owner, private=True, members=[alice.user, bob])
    [room] = alice.get("/api/rooms/").json()
    assert room["members"] == 3


def test_room_list_gives_each_room_its_newest_message_id(api, make_room):
    """`last_id` is the room's newest message, for a client to know what it missed."""
    alice = api("alice")
    make_room("a", owner=alice.user)
    make_room("b", owner=alice.user)
    first, _ = send_message(sender=alice.user, room="a", body="one")
    second, _ = send_message(sender=alice.user, room="a", body="two")
    rooms = {room["slug"]: room for room in alice.get("/api/rooms/").json()}
    assert rooms["a"]["last_id"] == second.id
    assert rooms["b"]["last_id"] == 0
    assert rooms["a"]["members"] == 1


def test_create_room_makes_me_its_owner(api):
    """POST /api/rooms/ makes a room I own and am the first member of."""
    alice = api("alice")
    response = alice.post(
        "/api/rooms/", {"slug": "team", "title": "The team", "private": True}
    )
    assert response.status_code == 201
    assert response.json() == {
        "slug": "team",
        "title": "The team",
        "private": True,
        "owner": {"id": alice.user.pk, "username": "alice"},
        "member": True,
        "members": 1,
        "last_id": 0,
        "last_message_at": None,
        "read_id": 0,
        "unread": 0,
        "mentions": 0,
    }
    membership = Membership.objects.get(conversation__slug="team")
    assert (membership.user, membership.role) == (alice.user, "owner")


def test_create_room_refuses_a_taken_name(api, make_room):
    """A second room with the same slug gets 409 `exists`."""
    alice = api("alice")
    make_room("team")
    assert_error(alice.post("/api/rooms/", {"slug": "team"}), 409, "exists")


@pytest.mark.parametrize(
    "data", [{}, {"slug": "Not A Slug"}, {"slug": ""}, {"slug": "x" * 51}]
)
def test_create_room_refuses_bad_names(api, data):
    """A missing or malformed slug gets 400 `invalid` and makes no room."""
    alice = api("alice")
    assert_error(alice.post("/api/rooms/", data), 400, "invalid")
    assert alice.get("/api/rooms/").json() == []


def test_join_and_leave_a_public_room(api, make_room):
    """Join then leave a public room; repeating either changes nothing."""
    alice = api("alice")
    make_room("lobby")
    url = "/api/rooms/lobby/"
    assert alice.post(url + "join/").json() == {
        "room": "lobby",
        "member": True,
        "changed": True,
    }
    assert alice.post(url + "join/").json()["changed"] is False
    assert Membership.objects.filter(user=alice.user).count() == 1
    assert alice.post(url + "leave/").json() == {
        "room": "lobby",
        "member": False,
        "changed": True,
    }
    assert alice.post(url + "leave/").json()["changed"] is False
    assert Membership.objects.filter(user=alice.user).count() == 0


def test_stranger_cannot_join_a_private_room(api, make_user, make_room):
    """Joining someone else's private room is refused with `forbidden`."""
    alice = api("alice")
    make_room("secret", owner=make_user("owner"), private=True)
    assert_error(alice.post("/api/rooms/secret/join/"), 403, "forbidden")
    assert not Membership.objects.filter(user=alice.user).exists()


def test_join_unknown_room_is_404(api):
    """A room that does not exist is `not_found`."""
    assert_error(api("alice").post("/api/rooms/nowhere/join/"), 404, "not_found")


# --- members -------------------------------------------------------------------


def test_owner_adds_a_member_to_a_private_room(api, make_user, make_room):
    """The owner adds a user: 201 the first time, 200 when already a member."""
    owner = api("owner")
    bob = make_user("bob")
    make_room("secret", owner=owner.user, private=True)
    url = "/api/rooms/secret/members/"
    response = owner.post(url, {"username": "bob"})
    assert response.status_code == 201
    assert response.json() == {"room": "secret", "member": True, "changed": True}
    again = owner.post(url, {"username": "bob"})
    assert again.status_code == 200
    assert again.json()["changed"] is False
    assert Membership.objects.filter(user=bob, conversation__slug="secret").count() == 1
    members = owner.get(url).json()
    assert [m["user"]["username"] for m in members] == ["owner", "bob"]
    assert [m["role"] for m in members] == ["owner", "member"]


@pytest.mark.parametrize("is_member", [False, True])
def test_only_the_owner_adds_members(api, make_user, make_room, is_member):
    """A stranger or a plain member adding someone gets 403 `forbidden`."""
    alice = api("alice")
    carol = make_user("carol")
    members = [alice.user] if is_member else []
    make_room("secret", owner=make_user("owner"), private=True, members=members)
    response = alice.post("/api/rooms/secret/members/", {"username": "carol"})
    assert_error(response, 403, "forbidden")
    assert not Membership.objects.filter(user=carol).exists()


def test_adding_unknown_user_is_404(api, make_room):
    """The owner adding a user who does not exist gets `not_found`."""
    owner = api("owner")
    make_room("secret", owner=owner.user, private=True)
    response = owner.post("/api/rooms/secret/members/", {"username": "ghost"})
    assert_error(response, 404, "not_found")


def test_text_no_database_can_hold_is_a_400_not_a_500(api, make_room):
    """JSON may carry lone surrogates; a username or body with one is refused."""
    owner = api("owner")
    make_room("secret", owner=owner.user, private=True)
    for url, payload in [
        ("/api/rooms/secret/members/", '{"username": "gh\\ud800st"}'),
        ("/api/rooms/secret/messages/", '{"body": "hi \\udfff", "client_id": "c"}'),
    ]:
        response = owner.client.post(url, payload, content_type="application/json")
        assert_error(response, 400, "invalid")
    assert Message.objects.count() == 0


def test_adding_without_a_username_is_400(api, make_room):
    """The request must name the user."""
    owner = api("owner")
    make_room("secret", owner=owner.user, private=True)
    assert_error(owner.post("/api/rooms/secret/members/", {}), 400, "invalid")


def test_stranger_cannot_list_members_of_a_private_room(api, make_user, make_room):
    """The member list is for members."""
    alice = api("alice")
    make_room("secret", owner=make_user("owner"), private=True)
    assert_error(alice.get("/api/rooms/secret/members/"), 403, "forbidden")


# --- posting -------------------------------------------------------------------


def test_post_to_a_room_stores_and_returns_the_message(api, make_room):
    """POST stores once and answers 201 with the WebSocket's `message` shape."""
    alice = api("alice")
    make_room("lobby", owner=alice.user)
    response = post_message(alice, "/api/rooms/lobby/messages/", "hello", "c-1")
    assert response.status_code == 201
    stored = Message.objects.get()
    body = response.json()
    assert body.pop("created_at").endswith("Z")
    assert body == {
        "type": "message",
        "id": stored.id,
        "room": "lobby",
        "recipient": None,
        "sender": {"id": alice.user.pk, "username": "alice"},
        "body": "hello",
        "client_id": "c-1",
        "edited_at": None,
        "deleted": False,
        "reactions": [],
        "reply_to": None,
        "mentions": [],
        "attachments": [],
    }


def test_retried_client_id_returns_the_same_message(api, make_room):
    """A retry with the same client_id gets 200 and the first message; one stored."""
    alice = api("alice")
    make_room("lobby", owner=alice.user)
    url = "/api/rooms/lobby/messages/"
    first = post_message(alice, url, "hello", "c-1")
    retry = post_message(alice, url, "hello", "c-1")
    assert (first.status_code, retry.status_code) == (201, 200)
    assert retry.json() == first.json()
    assert Message.objects.count() == 1


def test_post_without_client_id_gets_one(api, make_room):
    """A client that sends no client_id still gets its message stored, with an id."""
    alice = api("alice")
    make_room("lobby", owner=alice.user)
    response = alice.post("/api/rooms/lobby/messages/", {"body": "hi"})
    assert response.status_code == 201
    assert response.json()["client_id"] == Message.objects.get().client_id != ""


@pytest.mark.parametrize(
    ("data", "code"),
    [
        ({"body": "x" * 4001, "client_id": "c"}, "too_long"),
        ({"body": "", "client_id": "c"}, "empty"),
        ({"body": "   \n", "client_id": "c"}, "empty"),
        ({"client_id": "c"}, "empty"),
        ({"body": None, "client_id": "c"}, "empty"),
        ({"body": 42, "client_id": "c"}, "invalid"),
        ({"body": ["a"], "client_id": "c"}, "invalid"),
        ({"body": "nul\x00", "client_id": "c"}, "invalid"),
        ({"body": "ok", "client_id": "c" * 65}, "invalid"),
        ({"body": "ok", "client_id": 7}, "invalid"),
    ],
)
def test_bad_posts_get_400_and_store_nothing(api, make_room, data, code):
    """The WebSocket's rules: too long, empty, wrong types -> 400 with the code."""
    alice = api("alice")
    make_room("lobby", owner=alice.user)
    assert_error(alice.post("/api/rooms/lobby/messages/", data), 400, code)
    assert Message.objects.count() == 0


def test_body_of_exactly_the_limit_is_stored(api, make_room):
    """4,000 characters is allowed."""
    alice = api("alice")
    make_room("lobby", owner=alice.user)
    response = alice.post("/api/rooms/lobby/messages/", {"body": "é" * 4000})
    assert response.status_code == 201
    assert len(Message.objects.get().body) == 4000


def test_post_that_is_not_an_object_is_400(api, make_room):
    """A JSON array or garbage is refused with a JSON reason."""
    alice = api("alice")
    make_room("lobby", owner=alice.user)
    url = "/api/rooms/lobby/messages/"
    assert_error(alice.post(url, ["hello"]), 400, "invalid")
    garbage = alice.client.post(url, "{oops", content_type="application/json")
    assert_error(garbage, 400, "parse_error")
    assert Message.objects.count() == 0


def test_form_encoded_post_is_accepted(api, make_room):
    """A plain form post (curl -d) works like JSON."""
    alice = api("alice")
    make_room("lobby", owner=alice.user)
    response = alice.client.post(
        "/api/rooms/lobby/messages/",
        "body=from+curl&client_id=f-1",
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 201
    assert Message.objects.get().body == "from curl"


def test_multipart_post_is_refused_with_415(api, make_room):
    """No endpoint takes files: a multipart body (curl -F) gets 415, stores nothing."""
    alice = api("alice")
    make_room("lobby", owner=alice.user)
    response = alice.client.post(
        "/api/rooms/lobby/messages/", {"body": "from curl", "client_id": "f-1"}
    )
    assert_error(response, 415, "unsupported_media_type")
    assert not Message.objects.exists()


def test_posting_needs_membership(api, make_user, make_room):
    """A non-member posting to a public room is told to join first (403)."""
    alice = api("alice")
    make_room("lobby", owner=make_user("owner"))
    response = post_message(alice, "/api/rooms/lobby/messages/", "hi", "c")
    assert_error(response, 403, "forbidden")
    assert Message.objects.count() == 0


def test_posting_to_unknown_room_is_404(api):
    """A room that does not exist is `not_found`."""
    response = post_message(api("alice"), "/api/rooms/nowhere/messages/", "hi", "c")
    assert_error(response, 404, "not_found")


# --- history -------------------------------------------------------------------


@pytest.fixture
def history(api, make_room):
    """alice in room `lobby` with five messages; returns her client and the ids."""
    alice = api("alice")
    make_room("lobby", owner=alice.user)
    ids = [
        send_message(sender=alice.user, room="lobby", body=f"m{n}")[0].id
        for n in range(5)
    ]
    return alice, ids


def page(api_client, url, **params):
    response = api_client.get(url, params)
    assert response.status_code == 200, response.content
    body = response.json()
    return [m["id"] for m in body["messages"]], body["more"], body["last_id"]


def test_history_pages_by_after_before_and_limit(history):
    """The newest page by default; `after`, `before` and `limit` page through."""
    alice, ids = history
    url = "/api/rooms/lobby/messages/"
    assert page(alice, url) == (ids, False, ids[-1])
    assert page(alice, url, limit=2) == (ids[3:], True, ids[4])
    assert page(alice, url, limit=2, before=ids[3]) == (ids[1:3], True, ids[2])
    assert page(alice, url, limit=2, after=ids[0]) == (ids[1:3], True, ids[2])
    assert page(alice, url, after=ids[2]) == (ids[3:], False, ids[4])
    assert page(alice, url, after=ids[4]) == ([], False, ids[4])
    assert page(alice, url, after=ids[0], before=ids[3]) == (ids[1:3], False, ids[2])


def test_history_items_are_message_frames(history):
    """Each history item has exactly the WebSocket `message` frame's fields."""
    alice, ids = history
    first = alice.get("/api/rooms/lobby/messages/").json()["messages"][0]
    assert set(first) == {
        "type",
        "id",
        "room",
        "recipient",
        "sender",
        "body",
        "client_id",
        "edited_at",
        "deleted",
        "reactions",
        "reply_to",
        "mentions",
        "attachments",
        "created_at",
    }
    assert (first["type"], first["body"], first["room"]) == ("message", "m0", "lobby")


@pytest.mark.parametrize(
    "params",
    [
        {"after": "abc"},
        {"after": "-1"},
        {"after": "1.5"},
        {"after": "²"},
        {"after": "9" * 5000},
        {"after": str(2**63)},
        {"before": "x"},
        {"limit": "0"},
        {"limit": "-3"},
        {"limit": "ten"},
        {"limit": "9" * 5000},
    ],
)
def test_history_refuses_bad_parameters(history, params):
    """Malformed paging parameters get 400 `invalid`, never a server error."""
    alice, _ = history
    response = alice.get("/api/rooms/lobby/messages/", params)
    assert_error(response, 400, "invalid")


def test_history_limit_is_capped(history, settings):
    """A limit above the maximum is lowered to it rather than refused."""
    alice, ids = history
    settings.CHAT_SYNC_MAX_LIMIT = 3
    assert page(alice, "/api/rooms/lobby/messages/", limit=1000) == (
        ids[2:],
        True,
        ids[4],
    )


def test_private_room_history_is_hidden_from_strangers(api, make_user, make_room):
    """A stranger cannot read a private room, whatever the parameters."""
    owner, alice = make_user("owner"), api("alice")
    make_room("secret", owner=owner, private=True)
    send_message(sender=owner, room="secret", body="classified")
    for params in ({}, {"after": 0}, {"before": 10**6}):
        response = alice.get("/api/rooms/secret/messages/", params)
        assert_error(response, 403, "forbidden")
        assert "classified" not in response.content.decode()


def test_public_room_history_needs_joining(api, make_user, make_room):
    """A public room's history is for members: join, then read."""
    owner, alice = make_user("owner"), api("alice")
    make_room("lobby", owner=owner)
    message, _ = send_message(sender=owner, room="lobby", body="welcome")
    assert_error(alice.get("/api/rooms/lobby/messages/"), 403, "forbidden")
    alice.post("/api/rooms/lobby/join/")
    assert page(alice, "/api/rooms/lobby/messages/") == (
        [message.id],
        False,
        message.id,
    )


def test_former_member_loses_the_history(history, api):
    """Leaving a room ends reading it."""
    bob = api("bob")
    bob.post("/api/rooms/lobby/join/")
    assert bob.get("/api/rooms/lobby/messages/").status_code == 200
    bob.post("/api/rooms/lobby/leave/")
    assert_error(bob.get("/api/rooms/lobby/messages/"), 403, "forbidden")


# --- direct messages -------------------------------------------------------------


def test_direct_message_round_trip(api):
    """alice posts to bob; both read the same conversation, with its recipient."""
    alice, bob = api("alice"), api("bob")
    response = post_message(alice, "/api/dm/bob/messages/", "hi bob", "d-1")
    assert response.status_code == 201
    sent = response.json()
    assert sent["room"] is None
    assert sent["recipient"] == {"id": bob.user.pk, "username": "bob"}
    assert sent["sender"] == {"id": alice.user.pk, "username": "alice"}
    reply = post_message(bob, "/api/dm/alice/messages/", "hi alice", "d-1").json()
    assert reply["recipient"] == {"id": alice.user.pk, "username": "alice"}
    expected = ([sent["id"], reply["id"]], False, reply["id"])
    assert page(alice, "/api/dm/bob/messages/") == expected
    assert page(bob, "/api/dm/alice/messages/") == expected


def test_direct_retry_stores_once(api):
    """A retried direct message is answered 200 with the same message."""
    alice, _ = api("alice"), api("bob")
    first = post_message(alice, "/api/dm/bob/messages/", "hi", "d-1")
    retry = post_message(alice, "/api/dm/bob/messages/", "hi", "d-1")
    assert (first.status_code, retry.status_code) == (201, 200)
    assert retry.json()["id"] == first.json()["id"]
    assert Message.objects.count() == 1


def test_direct_messages_are_invisible_to_a_third_user(api):
    """carol reading her conversation with alice sees nothing of alice and bob's."""
    alice, bob, carol = api("alice"), api("bob"), api("carol")
    post_message(alice, "/api/dm/bob/messages/", "private", "d-1")
    assert page(carol, "/api/dm/alice/messages/") == ([], False, 0)
    assert page(carol, "/api/dm/bob/messages/", after=0) == ([], False, 0)
    assert "private" not in carol.get("/api/dm/bob/messages/").content.decode()
    assert page(bob, "/api/dm/alice/messages/")[0] != []


def test_empty_direct_conversation_still_checks_parameters(api):
    """Bad parameters are refused even before the first direct message."""
    alice, _ = api("alice"), api("bob")
    assert_error(alice.get("/api/dm/bob/messages/", {"after": "x"}), 400, "invalid")


def test_direct_message_to_unknown_user_is_404(api):
    """Writing to or reading with a user who does not exist is `not_found`."""
    alice = api("alice")
    assert_error(post_message(alice, "/api/dm/ghost/messages/", "hi"), 404, "not_found")
    assert_error(alice.get("/api/dm/ghost/messages/"), 404, "not_found")
    assert Message.objects.count() == 0


def test_direct_message_to_inactive_user_is_404(api, make_user):
    """A deactivated user cannot be written to."""
    alice = api("alice")
    make_user("gone", is_active=False)
    assert_error(post_message(alice, "/api/dm/gone/messages/", "hi"), 404, "not_found")


def test_direct_message_to_myself_is_refused(api):
    """A direct conversation needs another user: writing or reading, 400."""
    alice = api("alice")
    assert_error(post_message(alice, "/api/dm/alice/messages/", "hi"), 400, "invalid")
    assert_error(alice.get("/api/dm/alice/messages/"), 400, "invalid")
    assert Message.objects.count() == 0


# --- authentication and error shape -------------------------------------------


@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("get", "/api/rooms/"),
        ("post", "/api/rooms/"),
        ("post", "/api/rooms/lobby/join/"),
        ("post", "/api/rooms/lobby/leave/"),
        ("get", "/api/rooms/lobby/members/"),
        ("post", "/api/rooms/lobby/members/"),
        ("get", "/api/rooms/lobby/messages/"),
        ("post", "/api/rooms/lobby/messages/"),
        ("get", "/api/dm/alice/messages/"),
        ("post", "/api/dm/alice/messages/"),
    ],
)
@pytest.mark.parametrize("authorization", [None, "Bearer wrongtoken.secret"])
def test_every_endpoint_needs_a_valid_token(
    make_user, make_room, method, url, authorization
):
    """No token or a wrong one: 401, `WWW-Authenticate: Bearer`, JSON, no effect."""
    make_room("lobby", owner=make_user("alice"))
    client = APIClient()
    if authorization:
        client.credentials(HTTP_AUTHORIZATION=authorization)
    response = getattr(client, method)(url, {"body": "x"}, format="json")
    assert_error(response, 401, "unauthenticated")
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert Message.objects.count() == 0
    assert Membership.objects.count() == 1


def test_revoked_token_is_refused_at_once(api, make_room):
    """A token revoked through the API gets 401 on the next request."""
    alice = api("alice")
    make_room("lobby", owner=alice.user)
    assert alice.client.delete("/api/auth/token/").status_code == 204
    response = post_message(alice, "/api/rooms/lobby/messages/", "hi")
    assert_error(response, 401, "unauthenticated")
    assert Message.objects.count() == 0


def test_session_reads_but_posts_need_csrf(make_user, make_room):
    """A logged-in page may read; a post without its CSRF token is refused."""
    alice = make_user("alice")
    make_room("lobby", owner=alice)
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(alice)
    assert client.get("/api/rooms/").status_code == 200
    response = client.post("/api/rooms/lobby/messages/", {"body": "hi"}, format="json")
    assert_error(response, 403, "forbidden")
    assert Message.objects.count() == 0


def test_wrong_method_is_json_405(api):
    """A method an endpoint does not take gets 405 in JSON."""
    response = api("alice").client.delete("/api/rooms/")
    assert_error(response, 405, "method_not_allowed")


def test_unknown_api_url_is_json_404(api):
    """Unknown URLs under /api/ answer JSON too; a missing slash is named."""
    alice = api("alice")
    assert_error(alice.get("/api/nothing-here/"), 404, "not_found")
    response = alice.post("/api/rooms")
    assert_error(response, 404, "not_found")
    assert "/api/rooms/" in response.json()["detail"]


# --- schema ----------------------------------------------------------------------


def test_schema_is_served(api):
    """/api/schema/ serves the OpenAPI document with every endpoint."""
    response = api("alice").client.get("/api/schema/", HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    paths = response.json()["paths"]
    assert {
        "/api/auth/token/",
        "/api/rooms/",
        "/api/rooms/{slug}/join/",
        "/api/rooms/{slug}/leave/",
        "/api/rooms/{slug}/members/",
        "/api/rooms/{slug}/messages/",
        "/api/dm/{username}/messages/",
        "/api/messages/",
        "/api/messages/{message_id}/",
        "/api/messages/{message_id}/reactions/{emoji}/",
        "/api/changes/",
    } <= set(paths)
    poll = paths["/api/messages/"]["get"]
    assert {p["name"] for p in poll["parameters"]} == {
        "after",
        "wait",
        "limit",
        "changes_after",
    }


def test_schema_generates_without_warnings(tmp_path):
    """`manage.py spectacular --validate --fail-on-warn` succeeds."""
    call_command(
        "spectacular",
        validate=True,
        fail_on_warn=True,
        file=str(tmp_path / "schema.yml"),
        stdout=StringIO(),
        stderr=StringIO(),
    )
    assert (tmp_path / "schema.yml").read_text().startswith("openapi:")


# --- one room, and my direct conversations --------------------------------------------


def test_room_detail_shows_a_public_room_to_anyone(api, make_user, make_room):
    """Any user sees a public room's details, with whether they are in it."""
    owner, bob = api("owner"), api("bob")
    room = make_room("lobby", owner=owner.user)
    message, _ = send_message(sender=owner.user, room="lobby", body="hi")
    response = bob.get("/api/rooms/lobby/")
    assert response.status_code == 200
    assert response.json() == {
        "slug": "lobby",
        "title": room.title,
        "private": False,
        "owner": {"id": owner.user.pk, "username": "owner"},
        "member": False,
        "members": 1,
        "last_id": message.id,
        "last_message_at": message.created_at.isoformat().replace("+00:00", "Z"),
        "read_id": 0,
        "unread": 0,
        "mentions": 0,
    }


def test_room_detail_of_a_private_room_is_for_members(api, make_room):
    """A private room's details: its members see them, a stranger gets 403."""
    owner, stranger = api("owner"), api("stranger")
    make_room("secret", owner=owner.user, private=True)
    assert owner.get("/api/rooms/secret/").json()["member"] is True
    assert_error(stranger.get("/api/rooms/secret/"), 403, "forbidden")
    assert_error(stranger.get("/api/rooms/nowhere/"), 404, "not_found")


def test_dm_list_shows_my_direct_conversations_newest_first(api, make_user):
    """GET /api/dm/ lists the people I talk to, the latest conversation first."""
    alice = api("alice")
    bob, carol = make_user("bob"), make_user("carol")
    make_user("dave")
    send_message(sender=alice.user, to="bob", body="hi bob")
    latest, _ = send_message(sender=carol, to="alice", body="hi alice")
    send_message(sender=bob, to="dave", body="not alice's")
    response = alice.get("/api/dm/")
    assert response.status_code == 200
    assert [(c["user"], c["last_id"]) for c in response.json()] == [
        ({"id": carol.pk, "username": "carol"}, latest.id),
        ({"id": bob.pk, "username": "bob"}, latest.id - 1),
    ]
    assert api("erin").get("/api/dm/").json() == []


def test_a_disallowed_host_gets_json_under_api(client, settings):
    """Django's own 400 (a Host not allowed) is JSON for API clients, HTML for pages."""
    settings.DEBUG = False
    response = client.get("/api/rooms/", HTTP_HOST="evil.example")
    assert_error(response, 400, "bad_request")
    page = client.get("/accounts/login/", HTTP_HOST="evil.example")
    assert page.status_code == 400
    assert page["Content-Type"].startswith("text/html")
