"""Invite links: POST/GET /api/rooms/<slug>/invites/, POST /api/invites/<code>/accept/,
DELETE /api/rooms/<slug>/invites/<code>/ and /api/invites/<code>/, and the
page at the invite's url."""

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from django.db import connection, connections
from django.utils import timezone

from chat.errors import NotFound
from chat.models import AuditEntry, Invite, Membership
from chat.services.invites import accept_invite, create_invite
from tests.chat.test_api import Api, assert_error

pytestmark = pytest.mark.django_db


class InviteApi(Api):
    def delete(self, url):
        return self.client.delete(url)


@pytest.fixture
def people(make_user, make_room):
    """alice owns the private room `den`, bob moderates it, carol is outside."""
    alice, bob, carol = (InviteApi(make_user(n)) for n in ("alice", "bob", "carol"))
    room = make_room("den", owner=alice.user, private=True, members=[bob.user])
    Membership.objects.filter(conversation=room, user=bob.user).update(
        role=Membership.Role.MODERATOR
    )
    return alice, bob, carol


def make_invite(api, **fields):
    response = api.post("/api/rooms/den/invites/", fields)
    assert response.status_code == 201, response.content
    return response.json()


def is_member(api, slug="den") -> bool:
    return Membership.objects.filter(user=api.user, conversation__slug=slug).exists()


def test_owner_makes_an_invite_and_a_stranger_joins_with_it(people):
    """201 with code, url, expires_at, max_uses, uses 0; accepting joins once."""
    alice, _, carol = people
    before = timezone.now()
    invite = make_invite(alice, expires_in=3600, max_uses=5)
    assert {"code", "url", "expires_at", "max_uses", "uses"} <= set(invite)
    assert invite["url"] == f"http://testserver/invite/{invite['code']}/"
    assert (invite["max_uses"], invite["uses"]) == (5, 0)
    expires = Invite.objects.get(code=invite["code"]).expires_at
    assert before + timedelta(seconds=3590) < expires < before + timedelta(hours=2)
    assert len(invite["code"]) >= 22
    response = carol.post(f"/api/invites/{invite['code']}/accept/")
    assert response.status_code == 200, response.content
    assert response.json() == {"room": "den", "member": True, "changed": True}
    assert is_member(carol)
    # carol reads the private room now.
    assert carol.get("/api/rooms/den/messages/").status_code == 200
    listed = alice.get("/api/rooms/den/invites/").json()
    assert [(i["code"], i["uses"]) for i in listed] == [(invite["code"], 1)]


def test_invite_without_limits_never_expires(people):
    """No expires_in and no max_uses: null both, usable by anyone."""
    alice, _, carol = people
    invite = make_invite(alice)
    assert (invite["expires_at"], invite["max_uses"]) == (None, None)
    assert carol.post(f"/api/invites/{invite['code']}/accept/").status_code == 200


def test_moderator_makes_and_lists_invites_a_member_cannot(people, make_user):
    """A moderator may make and list invites; a plain member and a stranger: 403."""
    alice, bob, carol = people
    dave = InviteApi(make_user("dave"))
    Membership.objects.create(user=dave.user, conversation_id=alice_room_id())
    made = make_invite(bob, max_uses=1)
    assert [i["code"] for i in alice.get("/api/rooms/den/invites/").json()] == [
        made["code"]
    ]
    for outsider in (dave, carol):
        assert_error(outsider.post("/api/rooms/den/invites/", {}), 403, "forbidden")
        assert_error(outsider.get("/api/rooms/den/invites/"), 403, "forbidden")


def alice_room_id() -> int:
    return Membership.objects.get(user__username="alice").conversation_id


@pytest.mark.parametrize(
    "fields",
    [
        {"expires_in": 0},
        {"expires_in": -5},
        {"expires_in": "3600"},
        {"expires_in": True},
        {"expires_in": 10**12},
        {"max_uses": 0},
        {"max_uses": 1.5},
        {"max_uses": "2"},
    ],
)
def test_bad_limits_are_refused(people, fields):
    """expires_in and max_uses are whole positive numbers or null: else 400 invalid."""
    alice, _, _ = people
    assert_error(alice.post("/api/rooms/den/invites/", fields), 400, "invalid")
    assert not Invite.objects.exists()


def test_body_must_be_an_object(people):
    """A JSON list is not an invite request: 400 invalid."""
    alice, _, _ = people
    assert_error(alice.post("/api/rooms/den/invites/", [1, 2]), 400, "invalid")


def test_unusable_codes_all_get_the_same_404(people, make_user):
    """Expired, used up, revoked and unknown codes: 404 not_found, same detail."""
    alice, _, carol = people
    used_by = InviteApi(make_user("erin"))
    expired = make_invite(alice, expires_in=60)
    Invite.objects.filter(code=expired["code"]).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    used_up = make_invite(alice, max_uses=1)
    assert used_by.post(f"/api/invites/{used_up['code']}/accept/").status_code == 200
    revoked = make_invite(alice)
    assert alice.delete(f"/api/rooms/den/invites/{revoked['code']}/").status_code == 204
    answers = []
    for code in (expired["code"], used_up["code"], revoked["code"], "x" * 24):
        response = carol.post(f"/api/invites/{code}/accept/")
        assert_error(response, 404, "not_found")
        answers.append(response.json())
    assert all(answer == answers[0] for answer in answers)
    assert not is_member(carol)


def test_a_member_accepting_uses_nothing_up(people):
    """A member already: 200 with changed false, the invite's uses unchanged."""
    alice, bob, _ = people
    invite = make_invite(alice, max_uses=1)
    response = bob.post(f"/api/invites/{invite['code']}/accept/")
    assert response.json() == {"room": "den", "member": True, "changed": False}
    assert Invite.objects.get(code=invite["code"]).uses == 0


def test_revoke_by_either_url_is_audited_once(people):
    """DELETE under the room or under /api/invites/: 204, one invite_revoked entry."""
    alice, bob, carol = people
    first, second = make_invite(alice), make_invite(alice)
    assert_error(carol.delete(f"/api/invites/{first['code']}/"), 403, "forbidden")
    assert bob.delete(f"/api/invites/{first['code']}/").status_code == 204
    assert alice.delete(f"/api/rooms/den/invites/{second['code']}/").status_code == 204
    assert alice.delete(f"/api/invites/{second['code']}/").status_code == 204
    assert alice.get("/api/rooms/den/invites/").json() == []
    actions = list(
        AuditEntry.objects.filter(room_slug="den")
        .order_by("id")
        .values_list("action", "actor_name")
    )
    assert actions == [
        ("invite_created", "alice"),
        ("invite_created", "alice"),
        ("invite_revoked", "bob"),
        ("invite_revoked", "alice"),
    ]


def test_revoke_under_another_room_is_not_found(people, make_room):
    """A code revoked under a room that is not its own: 404, the invite still works."""
    alice, _, carol = people
    make_room("other", owner=alice.user)
    invite = make_invite(alice)
    response = alice.delete(f"/api/rooms/other/invites/{invite['code']}/")
    assert_error(response, 404, "not_found")
    assert carol.post(f"/api/invites/{invite['code']}/accept/").status_code == 200


def test_the_last_use_goes_to_one_person(people, make_user):
    """max_uses 1: the first to accept joins, the second gets 404."""
    alice, _, carol = people
    dave = make_user("dave")
    invite = create_invite(slug="den", actor=alice.user, max_uses=1)
    accept_invite(code=invite.code, user=carol.user)
    with pytest.raises(NotFound, match="not valid"):
        accept_invite(code=invite.code, user=dave)
    assert Invite.objects.get(pk=invite.pk).uses == 1


def test_accept_needs_a_login(people, client):
    """Without a token or session: 401 unauthenticated."""
    alice, _, _ = people
    invite = make_invite(alice)
    response = client.post(f"/api/invites/{invite['code']}/accept/")
    assert_error(response, 401, "unauthenticated")


# --- the page ------------------------------------------------------------------


def test_invite_page_shows_the_room_and_joins(people, client):
    """Logged in: the room's title and a join button; the POST joins, then the room."""
    alice, _, carol = people
    invite = make_invite(alice)
    client.force_login(carol.user)
    page = client.get(invite["url"])
    assert page.status_code == 200
    text = page.content.decode()
    assert "den" in text
    assert 'id="accept-invite"' in text
    answer = client.post(invite["url"])
    assert answer.status_code == 302
    assert answer["Location"] == "/rooms/den/"
    assert is_member(carol)


def test_invite_page_sends_a_stranger_to_log_in_first(people, client):
    """Not logged in: the login page, coming back to the invite after."""
    alice, _, _ = people
    invite = make_invite(alice)
    answer = client.get(invite["url"])
    assert answer.status_code == 302
    assert answer["Location"].startswith("/accounts/login/")
    assert f"next=/invite/{invite['code']}/" in answer["Location"].replace("%2F", "/")


def test_invite_page_of_a_dead_code_is_404(people, client):
    """Unknown or revoked: the page says the link is not valid, 404."""
    _, _, carol = people
    client.force_login(carol.user)
    answer = client.get("/invite/nothing-like-a-code/")
    assert answer.status_code == 404
    assert client.post("/invite/nothing-like-a-code/").status_code == 404
    assert not is_member(carol)


def test_a_banned_user_is_refused_and_uses_nothing_up(people):
    """Banned: 403 forbidden saying banned and until when; after the ban, it works."""
    from chat.services.moderation import ban, unban

    alice, _, carol = people
    invite = make_invite(alice, max_uses=1)
    ban(slug="den", username="carol", actor=alice.user, expires_in=3600)
    response = carol.post(f"/api/invites/{invite['code']}/accept/")
    assert_error(response, 403, "forbidden")
    assert "banned" in response.json()["detail"]
    assert "until 20" in response.json()["detail"]
    assert Invite.objects.get(code=invite["code"]).uses == 0
    unban(slug="den", username="carol", actor=alice.user)
    assert carol.post(f"/api/invites/{invite['code']}/accept/").status_code == 200


def test_a_ban_that_expired_lets_the_invite_in(people):
    """An expired ban no longer refuses: checked at use, no job run."""
    from chat.models import Ban
    from chat.services.moderation import ban

    alice, _, carol = people
    invite = make_invite(alice)
    ban(slug="den", username="carol", actor=alice.user, expires_in=60)
    Ban.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    assert carol.post(f"/api/invites/{invite['code']}/accept/").status_code == 200


def test_the_invite_page_tells_a_banned_user(people, client):
    """The page says so instead of a join button; its POST: 403, not a member."""
    from chat.services.moderation import ban

    alice, _, carol = people
    invite = make_invite(alice)
    ban(slug="den", username="carol", actor=alice.user)
    client.force_login(carol.user)
    shown = client.get(invite["url"]).content.decode()
    assert "banned" in shown
    assert 'id="accept-invite"' not in shown
    answer = client.post(invite["url"])
    assert answer.status_code == 403
    assert "banned" in answer.content.decode()
    assert not is_member(carol)


@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="PostgreSQL only (SQLite runs one writer at a time anyway)",
)
@pytest.mark.django_db(transaction=True)
def test_two_people_at_once_take_the_last_use_once(make_user, make_room):
    """max_uses 1, two accepts at the same moment: one joins, one gets 404."""
    alice = make_user("alice")
    make_room("den", owner=alice, private=True)
    people = [make_user("carol"), make_user("dave")]
    invite = create_invite(slug="den", actor=alice, max_uses=1)
    barrier = threading.Barrier(len(people))

    def accept(user):
        try:
            barrier.wait(timeout=10)
            return accept_invite(code=invite.code, user=user)[1]
        except NotFound:
            return "refused"
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=len(people)) as pool:
        answers = sorted(map(str, pool.map(accept, people)))
    assert answers == ["True", "refused"]
    assert Invite.objects.get(pk=invite.pk).uses == 1
    assert Membership.objects.filter(user__in=people).count() == 1
