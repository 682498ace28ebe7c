"""Reports: POST /api/messages/<id>/report/, GET /api/rooms/<slug>/reports/ and
POST /api/rooms/<slug>/reports/<id>/resolve/, the reports page and the admin."""

import re

import pytest

from chat.models import AuditEntry, Ban, Membership, Message, Mute, Report
from chat.services.changes import edit_message
from chat.services.messages import send_message
from tests.chat.test_api import Api, assert_error

pytestmark = pytest.mark.django_db


@pytest.fixture
def people(make_user, make_room):
    """alice owns `lobby`; bob moderates it; carol and dave are members; erin is out."""
    users = [Api(make_user(n)) for n in ("alice", "bob", "carol", "dave", "erin")]
    alice, bob, carol, dave, _ = users
    room = make_room(
        "lobby", owner=alice.user, members=[bob.user, carol.user, dave.user]
    )
    Membership.objects.filter(conversation=room, user=bob.user).update(
        role=Membership.Role.MODERATOR
    )
    return users


def post(user, body="hello") -> Message:
    return send_message(sender=user, body=body, room="lobby")[0]


def report(api, message, reason="spam"):
    return api.post(f"/api/messages/{message.id}/report/", {"reason": reason})


def queue(api, slug="lobby"):
    response = api.get(f"/api/rooms/{slug}/reports/")
    assert response.status_code == 200, response.content
    return response.json()


def resolve(api, report_id, **body):
    return api.post(f"/api/rooms/lobby/reports/{report_id}/resolve/", body)


def test_a_reader_reports_and_moderators_see_the_message_as_reported(people):
    """201 with the snapshot; an edit afterwards does not change what is shown."""
    _, bob, carol, dave, _ = people
    message = post(dave.user, "buy cheap watches")
    response = report(carol, message, "spam")
    assert response.status_code == 201, response.content
    made = response.json()
    assert made["status"] == "open"
    assert made["message"]["body"] == "buy cheap watches"
    assert made["message"]["sender"]["username"] == "dave"
    edit_message(user=dave.user, message_id=message.id, body="nothing to see")
    [seen] = queue(bob)
    assert seen["id"] == made["id"]
    assert seen["message_id"] == message.id
    assert seen["message"]["body"] == "buy cheap watches"
    assert seen["message"]["created_at"] == made["message"]["created_at"]
    assert seen["message"]["attachments"] == []
    assert (seen["reporter"]["username"], seen["reason"]) == ("carol", "spam")


def test_one_open_report_per_user_and_message(people):
    """Reporting again while open: 200 and the same report, nothing more stored."""
    _, _, carol, dave, _ = people
    message = post(dave.user)
    first = report(carol, message, "spam").json()
    again = report(carol, message, "really spam")
    assert again.status_code == 200
    assert again.json()["id"] == first["id"]
    assert again.json()["reason"] == "spam"
    assert Report.objects.count() == 1


def test_a_stranger_and_the_sender_cannot_report(people):
    """Not a member: 404 (never says it exists); one's own message: 400."""
    _, _, carol, dave, erin = people
    message = post(dave.user)
    assert_error(report(erin, message), 404, "not_found")
    assert_error(report(dave, message), 400, "invalid")
    assert_error(
        carol.post("/api/messages/999999/report/", {"reason": "x"}), 404, "not_found"
    )
    assert_error(carol.post(f"/api/messages/{message.id}/report/", [1]), 400, "invalid")
    assert_error(report(carol, message, "x" * 1001), 400, "invalid")
    assert not Report.objects.exists()


def test_only_the_rooms_moderators_and_staff_see_the_queue(people, make_user):
    """Members: 403; owner, moderator and staff: the open reports."""
    alice, bob, carol, dave, erin = people
    report(carol, post(dave.user))
    for refused in (carol, dave, erin):
        assert_error(refused.get("/api/rooms/lobby/reports/"), 403, "forbidden")
    staff = Api(make_user("root", is_staff=True))
    for allowed in (alice, bob, staff):
        assert len(queue(allowed)) == 1


def test_dismiss_resolves_every_open_report_of_the_message(people):
    """Dismissed: the message stays, both reports leave the queue, one audit entry."""
    _, bob, carol, dave, _ = people
    alice = people[0]
    message = post(dave.user)
    first = report(carol, message).json()
    report(alice, message)
    response = resolve(bob, first["id"], action="dismiss", reason="fine")
    assert response.status_code == 200, response.content
    resolved = response.json()
    assert (resolved["status"], resolved["action"]) == ("resolved", "dismiss")
    assert resolved["resolved_by"]["username"] == "bob"
    assert queue(bob) == []
    assert not Message.objects.get(pk=message.pk).deleted_at
    entry = AuditEntry.objects.get(action="report_resolved")
    assert (entry.actor_name, entry.target_name, entry.reason) == (
        "bob",
        "dave",
        "fine",
    )
    assert entry.detail["action"] == "dismiss"
    # Resolved already: no such open report.
    assert_error(resolve(bob, first["id"], action="dismiss"), 404, "not_found")


def test_delete_removes_the_message_for_everyone(people):
    """delete: the message is a tombstone in history; the audit says so."""
    _, bob, carol, dave, _ = people
    message = post(dave.user, "rude words")
    made = report(carol, message).json()
    assert resolve(bob, made["id"], action="delete").status_code == 200
    page = carol.get("/api/rooms/lobby/messages/").json()
    [shown] = [m for m in page["messages"] if m["id"] == message.id]
    assert shown["deleted"] is True
    assert shown["body"] == ""
    actions = set(AuditEntry.objects.values_list("action", flat=True))
    assert {"report_resolved"} <= actions
    # The report still shows what was said.
    assert Report.objects.get(pk=made["id"]).snapshot["body"] == "rude words"


def test_mute_and_ban_act_on_the_sender(people):
    """mute: dave may read but not post (muted); ban: dave is out and kept out."""
    alice, bob, carol, dave, _ = people
    first = report(carol, post(dave.user, "one")).json()
    response = resolve(bob, first["id"], action="mute", expires_in=3600, reason="calm")
    assert response.status_code == 200, response.content
    mute = Mute.objects.get(user=dave.user)
    assert mute.expires_at is not None
    refused = dave.post(
        "/api/rooms/lobby/messages/", {"body": "again", "client_id": "c-1"}
    )
    assert refused.status_code == 403
    assert refused.json()["code"] == "muted"
    assert refused.json()["until"] == mute.expires_at.isoformat().replace("+00:00", "Z")
    second = report(carol, Message.objects.filter(sender=dave.user).first())
    assert second.status_code == 201
    assert resolve(alice, second.json()["id"], action="ban").status_code == 200
    assert Ban.objects.get(user=dave.user).expires_at is None
    assert not Membership.objects.filter(user=dave.user).exists()


def test_a_moderator_cannot_ban_an_owner_through_a_report(people):
    """The moderation services' rules hold: 403, and the report stays open."""
    alice, bob, carol, _, _ = people
    made = report(carol, post(alice.user)).json()
    assert_error(resolve(bob, made["id"], action="ban"), 403, "forbidden")
    assert [r["id"] for r in queue(alice)] == [made["id"]]
    assert not Ban.objects.exists()
    assert not AuditEntry.objects.filter(action="report_resolved").exists()


@pytest.mark.parametrize(
    "body",
    [{"action": "explode"}, {"action": None}, {}, {"action": "mute", "expires_in": -1}],
)
def test_bad_resolutions_are_refused(people, body):
    """An unknown action or a bad duration: 400 invalid, the report still open."""
    _, bob, carol, dave, _ = people
    made = report(carol, post(dave.user)).json()
    assert_error(resolve(bob, made["id"], **body), 400, "invalid")
    assert len(queue(bob)) == 1


def test_a_member_cannot_resolve(people):
    """Not a moderator: 403."""
    _, _, carol, dave, _ = people
    made = report(carol, post(dave.user)).json()
    assert_error(resolve(dave, made["id"], action="dismiss"), 403, "forbidden")


# --- the page ------------------------------------------------------------------


def test_reports_page_lists_open_reports_for_moderators(people, client):
    """The page shows the reported words; a plain member gets 403."""
    _, bob, carol, dave, _ = people
    report(carol, post(dave.user, "buy cheap watches"))
    client.force_login(bob.user)
    page = client.get("/rooms/lobby/reports/")
    assert page.status_code == 200
    assert "buy cheap watches" in page.content.decode()
    client.force_login(dave.user)
    assert client.get("/rooms/lobby/reports/").status_code == 403
    assert client.get("/rooms/nowhere/reports/").status_code == 404


def test_audit_page_lists_the_rooms_actions(people, client):
    """The audit page shows who did what to whom; members get 403."""
    alice, bob, carol, dave, _ = people
    made = report(carol, post(dave.user)).json()
    resolve(bob, made["id"], action="mute", reason="calm down")
    client.force_login(alice.user)
    page = client.get("/rooms/lobby/audit/").content.decode()
    assert 'data-action="muted"' in page
    assert 'data-action="report_resolved"' in page
    assert "calm down" in page
    assert "until lifted" in page
    client.force_login(carol.user)
    assert client.get("/rooms/lobby/audit/").status_code == 403


def test_the_snapshot_keeps_the_attachments_after_the_deletion(
    people, settings, tmp_path
):
    """A message with a file, reported then deleted: the report still lists it."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    settings.MEDIA_ROOT = str(tmp_path / "media")
    _, bob, carol, dave, _ = people
    upload = dave.client.post(
        "/api/uploads/",
        {"file": SimpleUploadedFile("notes.txt", b"some text")},
        format="multipart",
    ).json()
    sent = dave.post(
        "/api/rooms/lobby/messages/",
        {"body": "see file", "client_id": "f-1", "attachments": [upload["id"]]},
    ).json()
    made = carol.post(f"/api/messages/{sent['id']}/report/", {"reason": "x"}).json()
    assert resolve(bob, made["id"], action="delete").status_code == 200
    deleted = Message.objects.get(pk=sent["id"])
    assert deleted.attachments == []
    [kept] = Report.objects.get(pk=made["id"]).snapshot["attachments"]
    assert (kept["id"], kept["name"]) == (upload["id"], "notes.txt")


def test_the_audit_page_goes_back_a_page_at_a_time(people, client):
    """51 entries: the newest 50, then a link to the one before them."""
    from chat.services.invites import create_invite

    alice = people[0]
    for _ in range(51):
        create_invite(slug="lobby", actor=alice.user)
    oldest = AuditEntry.objects.order_by("id").first()
    client.force_login(alice.user)
    page = client.get("/rooms/lobby/audit/").content.decode()
    assert page.count('data-action="invite_created"') == 50
    assert f'data-id="{oldest.pk}"' not in page
    link = re.search(r'href="\?before=(\d+)" id="older-entries"', page)
    assert link is not None
    older = client.get("/rooms/lobby/audit/", {"before": link[1]})
    text = older.content.decode()
    assert text.count('data-action="invite_created"') == 1
    assert 'id="older-entries"' not in text
    # A bad cursor is the first page, not an error.
    assert client.get("/rooms/lobby/audit/", {"before": "x"}).status_code == 200
