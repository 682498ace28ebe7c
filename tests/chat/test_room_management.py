"""Managing a room over HTTP and in the admin: rename, privacy, kick, roles, delete.

Each change goes through chat.services.rooms; what the members' connections are
told is read off the channel layer, after the commit.
"""

import json

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from chat import events
from chat.models import Conversation, Membership, Message
from chat.selectors import room_owner
from chat.services.messages import send_message
from chat.services.rooms import set_role
from tests.chat.test_api import Api, api, assert_error  # noqa: F401 (a fixture)
from tests.chat.test_commands import layer_listener  # noqa: F401 (a fixture)

pytestmark = pytest.mark.django_db

LAST_OWNER_DETAIL = "'owner' is the last owner of 'secret': name a new owner first."


@pytest.fixture
def secret(api, make_room):  # noqa: F811 (the imported fixture)
    """A private room `secret`: its owner and bob, a member; carol is outside."""
    owner, bob, carol = api("owner"), api("bob"), api("carol")
    make_room("secret", owner=owner.user, private=True, members=[bob.user])
    return owner, bob, carol


def patch(client: Api, url: str, data):
    # json.dumps escapes what is not ASCII, lone surrogates included.
    return client.client.patch(url, json.dumps(data), content_type="application/json")


def delete(client: Api, url: str):
    return client.client.delete(url)


def roles(slug: str) -> list[tuple[str, str]]:
    return list(
        Membership.objects.filter(conversation__slug=slug)
        .order_by("joined_at", "pk")
        .values_list("user__username", "role")
    )


# --- rename and privacy ---------------------------------------------------------


def test_owner_renames_and_opens_a_room_and_members_hear_it(
    secret,
    layer_listener,  # noqa: F811 (the imported fixture)
    django_capture_on_commit_callbacks,
):
    """PATCH answers the room as GET shows it; its sockets get one room.updated."""
    owner, bob, _ = secret
    room = Conversation.objects.get(slug="secret")
    layer_listener.listen(events.room_group(room.pk))
    with django_capture_on_commit_callbacks(execute=True):
        response = patch(
            owner, "/api/rooms/secret/", {"title": "Our den", "private": False}
        )
    assert response.status_code == 200, response.content
    assert response.json() == owner.get("/api/rooms/secret/").json()
    assert (response.json()["title"], response.json()["private"]) == (
        "Our den",
        False,
    )
    event = layer_listener.receive()
    assert event["type"] == events.FRAME
    assert json.loads(event["text"]) == {
        "type": "room.updated",
        "room": "secret",
        "detail": {
            "slug": "secret",
            "title": "Our den",
            "private": False,
            "owner": {"id": owner.user.pk, "username": "owner"},
            "members": 2,
        },
    }
    layer_listener.assert_silent()


def test_patch_with_one_field_keeps_the_other(secret):
    """Only what is sent changes: a rename keeps the room private."""
    owner, _, _ = secret
    body = patch(owner, "/api/rooms/secret/", {"title": "Renamed"}).json()
    assert (body["title"], body["private"]) == ("Renamed", True)
    body = patch(owner, "/api/rooms/secret/", {"private": False}).json()
    assert (body["title"], body["private"]) == ("Renamed", False)


def test_patch_without_a_change_tells_nobody(
    secret,
    layer_listener,  # noqa: F811 (the imported fixture)
    django_capture_on_commit_callbacks,
):
    """A PATCH that changes nothing answers 200 and sends no room.updated."""
    owner, _, _ = secret
    room = Conversation.objects.get(slug="secret")
    layer_listener.listen(events.room_group(room.pk))
    with django_capture_on_commit_callbacks(execute=True):
        response = patch(owner, "/api/rooms/secret/", {"title": "secret"})
    assert response.status_code == 200
    layer_listener.assert_silent()


@pytest.mark.parametrize(
    "body",
    [
        {"title": "x" * 201},
        {"title": 5},
        {"title": "a\x00b"},
        {"title": "\ud800"},
        {"private": "maybe"},
        {"private": None},
        ["title"],
    ],
    ids=[
        "long-title",
        "number-title",
        "nul-title",
        "surrogate-title",
        "word-private",
        "null-private",
        "list",
    ],
)
def test_patch_with_bad_input_is_invalid(secret, body):
    """A bad title or privacy is 400 `invalid`, and nothing changes."""
    owner, _, _ = secret
    assert_error(patch(owner, "/api/rooms/secret/", body), 400, "invalid")
    room = Conversation.objects.get(slug="secret")
    assert (room.title, room.is_private) == ("secret", True)


def test_only_an_owner_or_staff_changes_a_room(secret, make_user):
    """A member or a stranger gets 403; staff may; an unknown room is 404."""
    owner, bob, carol = secret
    for who in (bob, carol):
        assert_error(patch(who, "/api/rooms/secret/", {"title": "x"}), 403, "forbidden")
    staff = Api(make_user("staff", is_staff=True))
    assert patch(staff, "/api/rooms/secret/", {"title": "Staff"}).status_code == 200
    assert Conversation.objects.get(slug="secret").title == "Staff"
    assert_error(patch(owner, "/api/rooms/nowhere/", {"title": "x"}), 404, "not_found")


def test_a_page_changes_a_room_with_its_session_and_csrf_token(
    secret, make_user, make_room
):
    """The browser's panel: the session cookie alone is refused, with CSRF is 200."""
    owner, _, _ = secret
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(owner.user)
    url = "/api/rooms/secret/"
    refused = client.patch(url, {"title": "x"}, format="json")
    assert_error(refused, 403, "forbidden")
    client.get("/")  # a page sets the CSRF cookie
    token = client.cookies["csrftoken"].value
    done = client.patch(url, {"title": "x"}, format="json", HTTP_X_CSRFTOKEN=token)
    assert done.status_code == 200, done.content
    assert Conversation.objects.get(slug="secret").title == "x"


# --- removing members (kick) ------------------------------------------------------


def test_owner_removes_a_member_and_their_sockets_leave(
    secret,
    layer_listener,  # noqa: F811 (the imported fixture)
    django_capture_on_commit_callbacks,
):
    """DELETE members/<username>/ is 204; bob's sockets get room.left "kicked"."""
    owner, bob, _ = secret
    room = Conversation.objects.get(slug="secret")
    layer_listener.listen(events.user_group(bob.user.pk))
    with django_capture_on_commit_callbacks(execute=True):
        response = delete(owner, "/api/rooms/secret/members/bob/")
    assert response.status_code == 204
    assert roles("secret") == [("owner", "owner")]
    assert layer_listener.receive() == {
        "type": events.UNSUBSCRIBE,
        "group": events.room_group(room.pk),
        "text": '{"type":"room.left","room":"secret","reason":"kicked"}',
        "origin": None,
    }
    layer_listener.assert_silent()
    assert_error(bob.get("/api/rooms/secret/messages/"), 403, "forbidden")
    # Removing someone who is not (or no longer) a member changes nothing.
    assert delete(owner, "/api/rooms/secret/members/bob/").status_code == 204


def test_only_an_owner_removes_members(secret):
    """A member removing another gets 403; an unknown user is 404."""
    owner, bob, _ = secret
    assert_error(delete(bob, "/api/rooms/secret/members/owner/"), 403, "forbidden")
    assert_error(delete(owner, "/api/rooms/secret/members/ghost/"), 404, "not_found")
    assert roles("secret") == [("owner", "owner"), ("bob", "member")]


def test_owner_adds_to_a_private_room_and_can_remove_again(secret):
    """POST members/ by the owner fills a private room; DELETE empties it."""
    owner, _, carol = secret
    assert (
        owner.post("/api/rooms/secret/members/", {"username": "carol"}).status_code
        == 201
    )
    assert carol.get("/api/rooms/secret/").status_code == 200
    assert delete(owner, "/api/rooms/secret/members/carol/").status_code == 204
    assert_error(carol.get("/api/rooms/secret/"), 403, "forbidden")


# --- roles and the last owner ------------------------------------------------------


def test_owner_names_another_owner_then_steps_down(secret):
    """POST role/ names bob owner; the first owner may then step down."""
    owner, bob, _ = secret
    response = owner.post("/api/rooms/secret/members/bob/role/", {"role": "owner"})
    assert response.status_code == 200, response.content
    assert response.json() == {
        "room": "secret",
        "user": {"id": bob.user.pk, "username": "bob"},
        "role": "owner",
    }
    stepped = owner.post("/api/rooms/secret/members/owner/role/", {"role": "member"})
    assert stepped.json()["role"] == "member"
    assert roles("secret") == [("owner", "member"), ("bob", "owner")]
    assert owner.get("/api/rooms/secret/").json()["owner"]["username"] == "bob"
    # No longer an owner: no more managing.
    assert_error(
        patch(owner, "/api/rooms/secret/", {"title": "mine"}), 403, "forbidden"
    )


@pytest.mark.parametrize("how", ["step-down", "removed", "leave"])
def test_the_last_owner_is_never_lost_silently(secret, how):
    """Demoting, removing or the leaving of the last owner: 409 `last_owner`."""
    owner, _, _ = secret
    if how == "step-down":
        response = owner.post(
            "/api/rooms/secret/members/owner/role/", {"role": "member"}
        )
    elif how == "removed":
        response = delete(owner, "/api/rooms/secret/members/owner/")
    else:
        response = owner.post("/api/rooms/secret/leave/")
    assert_error(response, 409, "last_owner")
    assert response.json()["detail"] == LAST_OWNER_DETAIL
    assert roles("secret") == [("owner", "owner"), ("bob", "member")]


def test_staff_cannot_remove_the_last_owner_either(secret, make_user):
    """Staff act in every room, but the room keeps its last owner."""
    staff = Api(make_user("staff", is_staff=True))
    response = delete(staff, "/api/rooms/secret/members/owner/")
    assert_error(response, 409, "last_owner")
    assert (
        staff.post("/api/rooms/secret/members/bob/role/", {"role": "owner"}).status_code
        == 200
    )
    assert delete(staff, "/api/rooms/secret/members/owner/").status_code == 204
    assert roles("secret") == [("bob", "owner")]


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"role": "king"}, 400, "invalid"),
        ({"role": "admin"}, 400, "invalid"),
        ({}, 400, "invalid"),
        ({"role": ["owner"]}, 400, "invalid"),
    ],
    ids=["unknown", "admin", "missing", "list"],
)
def test_bad_roles_are_refused(secret, body, status, code):
    """Only `owner` and `member` are roles an owner gives."""
    owner, _, _ = secret
    response = owner.post("/api/rooms/secret/members/bob/role/", body)
    assert_error(response, status, code)
    assert roles("secret") == [("owner", "owner"), ("bob", "member")]


def test_roles_only_by_an_owner_and_only_of_members(secret):
    """A member cannot make themselves owner; a non-member has no role to set."""
    owner, bob, carol = secret
    assert_error(
        bob.post("/api/rooms/secret/members/bob/role/", {"role": "owner"}),
        403,
        "forbidden",
    )
    assert_error(
        owner.post("/api/rooms/secret/members/carol/role/", {"role": "owner"}),
        404,
        "not_found",
    )
    assert roles("secret") == [("owner", "owner"), ("bob", "member")]


def test_an_owner_who_leaves_and_rejoins_is_listed_as_the_room_says(
    api,  # noqa: F811 (the imported fixture)
    make_room,
):
    """With a second owner, one leaves and rejoins: a member in both places."""
    alice, bob = api("alice"), api("bob")
    make_room("lobby", owner=alice.user, members=[bob.user])
    set_role(slug="lobby", username="bob", role="owner")
    assert alice.post("/api/rooms/lobby/leave/").json()["changed"] is True
    assert alice.post("/api/rooms/lobby/join/").json()["changed"] is True
    room = alice.get("/api/rooms/lobby/").json()
    members = alice.get("/api/rooms/lobby/members/").json()
    assert room["owner"] == {"id": bob.user.pk, "username": "bob"}
    assert [(m["user"]["username"], m["role"]) for m in members] == [
        ("bob", "owner"),
        ("alice", "member"),
    ]


def test_owner_role_change_tells_the_room(
    secret,
    layer_listener,  # noqa: F811 (the imported fixture)
    django_capture_on_commit_callbacks,
):
    """A new owner reaches the room's sockets as one room.updated."""
    owner, bob, _ = secret
    room = Conversation.objects.get(slug="secret")
    layer_listener.listen(events.room_group(room.pk))
    with django_capture_on_commit_callbacks(execute=True):
        owner.post("/api/rooms/secret/members/bob/role/", {"role": "owner"})
    frame = json.loads(layer_listener.receive()["text"])
    assert (frame["type"], frame["detail"]["owner"]["username"]) == (
        "room.updated",
        "owner",
    )
    layer_listener.assert_silent()


# --- deleting a room ----------------------------------------------------------------


def test_owner_deletes_a_room_and_every_member_hears_it(
    secret,
    layer_listener,  # noqa: F811 (the imported fixture)
    django_capture_on_commit_callbacks,
):
    """DELETE /api/rooms/<slug>/ is 204; each member's sockets get room.left."""
    owner, bob, carol = secret
    room = Conversation.objects.get(slug="secret")
    send_message(sender=bob.user, room="secret", body="soon gone")
    for who in (owner, bob, carol):
        layer_listener.listen(events.user_group(who.user.pk))
    with django_capture_on_commit_callbacks(execute=True):
        response = delete(owner, "/api/rooms/secret/")
    assert response.status_code == 204
    left = {
        "type": events.UNSUBSCRIBE,
        "group": events.room_group(room.pk),
        "text": '{"type":"room.left","room":"secret","reason":"deleted"}',
        "origin": None,
    }
    # One listener in three user groups: the two members' events, no third.
    assert [layer_listener.receive(), layer_listener.receive()] == [left, left]
    layer_listener.assert_silent()
    assert not Conversation.objects.filter(slug="secret").exists()
    assert not Message.objects.exists()
    assert_error(owner.get("/api/rooms/secret/"), 404, "not_found")


def test_only_an_owner_or_staff_deletes_a_room(secret, make_user):
    """A member gets 403 and the room stays; staff may delete it."""
    _, bob, _ = secret
    assert_error(delete(bob, "/api/rooms/secret/"), 403, "forbidden")
    assert Conversation.objects.filter(slug="secret").exists()
    staff = Api(make_user("staff", is_staff=True))
    assert delete(staff, "/api/rooms/secret/").status_code == 204
    assert_error(delete(staff, "/api/rooms/secret/"), 404, "not_found")


def test_admin_deleting_rooms_tells_their_members(
    admin_client,
    secret,
    make_room,
    layer_listener,  # noqa: F811 (the imported fixture)
    django_capture_on_commit_callbacks,
):
    """The admin's delete page and its bulk action go through delete_room."""
    owner, bob, _ = secret
    other = make_room("other", owner=bob.user)
    secret_room = Conversation.objects.get(slug="secret")
    layer_listener.listen(events.user_group(bob.user.pk))
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            reverse("admin:chat_room_delete", args=[secret_room.pk]), {"post": "yes"}
        )
    assert response.status_code == 302
    frame = json.loads(layer_listener.receive()["text"])
    assert frame == {"type": "room.left", "room": "secret", "reason": "deleted"}
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            reverse("admin:chat_room_changelist"),
            {
                "action": "delete_selected",
                "_selected_action": [other.pk],
                "post": "yes",
            },
        )
    assert response.status_code == 302
    frame = json.loads(layer_listener.receive()["text"])
    assert frame == {"type": "room.left", "room": "other", "reason": "deleted"}
    layer_listener.assert_silent()
    assert not Conversation.objects.filter(kind=Conversation.Kind.ROOM).exists()


def test_admin_refuses_to_remove_a_rooms_last_owner(admin_client, secret):
    """Ticking Delete on the last owner's row shows the refusal; they stay."""
    from tests.chat.test_admin import change_url, room_form

    owner, _, _ = secret
    room = Conversation.objects.get(slug="secret")
    response = admin_client.post(
        change_url(room), room_form(room, delete=[owner.user]), follow=True
    )
    assert response.status_code == 200
    shown = [str(m) for m in response.context["messages"]]
    assert f"owner: {LAST_OWNER_DETAIL}" in shown
    assert room_owner(room) == owner.user


# --- over the WebSocket ---------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
async def test_last_owner_leaving_over_the_socket_is_an_error(connect, alice, lobby):
    """room.leave by the last owner answers `error` last_owner; they stay in."""
    socket = await connect(alice)
    await socket.send({"type": "room.leave", "room": "lobby"})
    error = await socket.recv()
    assert (error["type"], error["code"]) == ("error", "last_owner")
    assert error["detail"] == (
        "'alice' is the last owner of 'lobby': name a new owner first."
    )
    await socket.send({"type": "room.join", "room": "lobby"})
    assert (await socket.recv())["type"] == "room.joined"
