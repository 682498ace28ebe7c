"""Moderation over HTTP (docs/protocol.md, "Moderation"): roles in the member
list, kicks, bans, mutes and the audit log, with the refusals each has."""

import json

import pytest

from chat import events
from chat.models import Conversation, Membership
from tests.chat.test_api import Api, api, assert_error  # noqa: F401 (a fixture)
from tests.chat.test_commands import layer_listener  # noqa: F401 (a fixture)

pytestmark = pytest.mark.django_db


@pytest.fixture
def hall(api, make_room):  # noqa: F811 (the imported fixture)
    """A public room `hall`: its owner, dave a moderator, bob a member."""
    owner, dave, bob = api("owner"), api("dave"), api("bob")
    room = make_room("hall", owner=owner.user, members=[dave.user, bob.user])
    Membership.objects.filter(conversation=room, user=dave.user).update(
        role=Membership.Role.MODERATOR
    )
    return owner, dave, bob


def delete(client: Api, url: str):
    return client.client.delete(url)


def test_the_member_list_shows_each_role(hall):
    owner, _, bob = hall
    response = bob.get("/api/rooms/hall/members/")
    assert [(m["user"]["username"], m["role"]) for m in response.json()] == [
        ("owner", "owner"),
        ("dave", "moderator"),
        ("bob", "member"),
    ]


def test_the_owner_sets_a_role_and_a_room_keeps_an_owner(hall):
    """moderator is a role the owner gives; the last owner stepping down: 409."""
    owner, _, bob = hall
    response = owner.post("/api/rooms/hall/members/bob/role/", {"role": "moderator"})
    assert response.status_code == 200, response.content
    assert response.json()["role"] == "moderator"
    assert_error(
        owner.post("/api/rooms/hall/members/owner/role/", {"role": "member"}),
        409,
        "last_owner",
    )


def test_a_moderator_kicks_a_member_but_not_an_owner(
    hall,
    layer_listener,  # noqa: F811 (the imported fixture)
    django_capture_on_commit_callbacks,
):
    """204 and room.left "kicked" on bob's sockets; owner: 403."""
    _, dave, bob = hall
    room = Conversation.objects.get(slug="hall")
    layer_listener.listen(events.user_group(bob.user.pk))
    with django_capture_on_commit_callbacks(execute=True):
        assert delete(dave, "/api/rooms/hall/members/bob/").status_code == 204
    event = layer_listener.receive()
    assert event["group"] == events.room_group(room.pk)
    assert json.loads(event["text"]) == {
        "type": "room.left",
        "room": "hall",
        "reason": "kicked",
    }
    assert_error(delete(dave, "/api/rooms/hall/members/owner/"), 403, "forbidden")


def test_a_ban_is_201_listed_refuses_rejoin_and_lifts(
    hall,
    layer_listener,  # noqa: F811 (the imported fixture)
    django_capture_on_commit_callbacks,
):
    """POST bans/ answers the ban; bob's sockets get room.left "banned"; his
    join is 403 forbidden saying banned and until when; GET lists it; DELETE
    lifts it (204) and he joins again."""
    owner, dave, bob = hall
    layer_listener.listen(events.user_group(bob.user.pk))
    with django_capture_on_commit_callbacks(execute=True):
        response = dave.post(
            "/api/rooms/hall/bans/",
            {"username": "bob", "reason": "spam", "expires_in": 3600},
        )
    assert response.status_code == 201, response.content
    ban = response.json()
    assert ban["user"] == {"id": bob.user.pk, "username": "bob"}
    assert (ban["reason"], ban["by"]["username"]) == ("spam", "dave")
    assert ban["expires_at"].endswith("Z")
    left = json.loads(layer_listener.receive()["text"])
    assert left == {"type": "room.left", "room": "hall", "reason": "banned"}
    refused = bob.post("/api/rooms/hall/join/")
    assert_error(refused, 403, "forbidden")
    assert "banned" in refused.json()["detail"]
    assert ban["expires_at"] in refused.json()["detail"]
    assert owner.get("/api/rooms/hall/bans/").json() == [ban]
    assert delete(owner, "/api/rooms/hall/bans/bob/").status_code == 204
    assert_error(delete(owner, "/api/rooms/hall/bans/bob/"), 404, "not_found")
    assert bob.post("/api/rooms/hall/join/").status_code == 200


def test_members_neither_ban_nor_see_bans(hall):
    _, _, bob = hall
    assert_error(
        bob.post("/api/rooms/hall/bans/", {"username": "dave"}), 403, "forbidden"
    )
    assert_error(bob.get("/api/rooms/hall/bans/"), 403, "forbidden")
    assert_error(bob.get("/api/rooms/hall/mutes/"), 403, "forbidden")


@pytest.mark.parametrize(
    "body",
    [
        [],
        {"username": 5},
        {"username": "bob", "expires_in": "later"},
        {"username": "bob", "expires_in": -1},
        {"username": "bob", "reason": ["x"]},
        {"username": "bob", "reason": "x" * 501},
    ],
)
def test_bad_ban_input_is_400_invalid(hall, body):
    owner, _, _ = hall
    assert_error(owner.post("/api/rooms/hall/bans/", body), 400, "invalid")


def test_an_unknown_user_or_room_is_404(hall):
    owner, _, _ = hall
    assert_error(
        owner.post("/api/rooms/hall/bans/", {"username": "ghost"}), 404, "not_found"
    )
    assert_error(
        owner.post("/api/rooms/nowhere/mutes/", {"username": "bob"}), 404, "not_found"
    )


def test_a_muted_member_reads_but_posting_is_403_muted_with_until(hall):
    owner, _, bob = hall
    response = owner.post(
        "/api/rooms/hall/mutes/", {"username": "bob", "expires_in": 600}
    )
    assert response.status_code == 201, response.content
    until = response.json()["expires_at"]
    refused = bob.post("/api/rooms/hall/messages/", {"body": "hi"})
    assert refused.status_code == 403
    assert refused.json()["code"] == "muted"
    assert refused.json()["until"] == until
    assert bob.get("/api/rooms/hall/messages/").status_code == 200
    assert [
        m["user"]["username"] for m in owner.get("/api/rooms/hall/mutes/").json()
    ] == ["bob"]
    assert delete(owner, "/api/rooms/hall/mutes/bob/").status_code == 204
    assert bob.post("/api/rooms/hall/messages/", {"body": "hi"}).status_code == 201


def test_a_moderator_cannot_mute_another_moderator(hall, api):  # noqa: F811
    owner, dave, _ = hall
    owner.post("/api/rooms/hall/members/bob/role/", {"role": "moderator"})
    assert_error(
        dave.post("/api/rooms/hall/mutes/", {"username": "bob"}), 403, "forbidden"
    )


def test_the_audit_log_is_for_moderators_newest_first_in_pages(hall):
    """Entries name actor, action, target, room, reason, time; bob: 403."""
    owner, dave, bob = hall
    dave.post("/api/rooms/hall/mutes/", {"username": "bob", "reason": "loud"})
    delete(dave, "/api/rooms/hall/mutes/bob/")
    owner.post("/api/rooms/hall/members/bob/role/", {"role": "moderator"})
    page = owner.get("/api/rooms/hall/audit/", {"limit": 2}).json()
    assert [e["action"] for e in page["entries"]] == ["role_changed", "unmuted"]
    assert page["more"] is True
    first = page["entries"][0]
    assert first["actor"] == {"id": owner.user.pk, "username": "owner"}
    assert first["target"] == {"id": bob.user.pk, "username": "bob"}
    assert first["room"] == "hall"
    assert first["detail"] == {"from": "member", "to": "moderator"}
    assert first["created_at"].endswith("Z")
    rest = dave.get(
        "/api/rooms/hall/audit/", {"before": page["entries"][-1]["id"]}
    ).json()
    assert [(e["action"], e["reason"]) for e in rest["entries"]] == [("muted", "loud")]
    assert rest["more"] is False
    assert_error(
        Api(Membership.objects.get(user__username="owner").user).get(
            "/api/rooms/hall/audit/", {"before": "x"}
        ),
        400,
        "invalid",
    )


def test_members_cannot_read_the_audit_log(hall):
    _, _, bob = hall
    assert_error(bob.get("/api/rooms/hall/audit/"), 403, "forbidden")


def test_staff_act_in_every_room(hall, make_user):
    staff = Api(make_user("root", is_staff=True))
    assert staff.post("/api/rooms/hall/bans/", {"username": "dave"}).status_code == 201
    assert staff.get("/api/rooms/hall/audit/").status_code == 200
