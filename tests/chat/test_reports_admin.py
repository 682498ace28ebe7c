"""The admin's reports (listed with the message as reported, resolved through
resolve_report) and invites (revoked through revoke_invite)."""

import pytest
from django.urls import reverse

from chat.models import AuditEntry, Invite, Message, Report
from chat.services.invites import create_invite
from chat.services.messages import send_message
from chat.services.reports import report_message

pytestmark = pytest.mark.django_db

REPORTS_URL = reverse("admin:chat_report_changelist")
INVITES_URL = reverse("admin:chat_invite_changelist")


@pytest.fixture
def reported(make_user, make_room):
    """carol reported dave's message in alice's room."""
    alice, carol, dave = make_user("alice"), make_user("carol"), make_user("dave")
    make_room("lobby", owner=alice, members=[carol, dave])
    message = send_message(sender=dave, body="buy cheap watches", room="lobby")[0]
    report, _ = report_message(user=carol, message_id=message.id, reason="spam")
    return report


def test_the_admin_lists_reports_with_the_message_as_reported(admin_client, reported):
    """The list shows the reported words and the reason; open ones can be filtered."""
    page = admin_client.get(REPORTS_URL, {"status": "open"}).content.decode()
    assert "buy cheap watches" in page
    assert "spam" in page
    assert (
        "buy cheap watches"
        not in admin_client.get(REPORTS_URL, {"status": "resolved"}).content.decode()
    )


def test_the_admin_deletes_reported_messages_through_the_service(
    admin_client, admin_user, reported
):
    """The action resolves the report (delete), makes a tombstone, and logs it."""
    response = admin_client.post(
        REPORTS_URL,
        {"action": "delete_the_messages", "_selected_action": [reported.pk]},
    )
    assert response.status_code == 302
    report = Report.objects.get()
    assert (report.status, report.action, report.resolved_by) == (
        "resolved",
        "delete",
        admin_user,
    )
    assert Message.objects.get(pk=report.message_ref).deleted_at is not None
    entry = AuditEntry.objects.get(action="report_resolved")
    assert entry.actor == admin_user


def test_reports_cannot_be_added_changed_or_deleted_in_the_admin(
    admin_client, reported
):
    assert admin_client.get(reverse("admin:chat_report_add")).status_code == 403
    delete_url = reverse("admin:chat_report_delete", args=[reported.pk])
    assert admin_client.post(delete_url, {"post": "yes"}).status_code == 403
    assert Report.objects.count() == 1


def test_the_admin_revokes_invites_and_never_shows_a_whole_code(
    admin_client, admin_user, reported
):
    """The list shows a code's start only; revoke goes through the service."""
    invite = create_invite(slug="lobby", actor=None)
    page = admin_client.get(INVITES_URL).content.decode()
    assert invite.code[:6] in page
    assert invite.code not in page
    change = admin_client.get(reverse("admin:chat_invite_change", args=[invite.pk]))
    assert invite.code not in change.content.decode()
    response = admin_client.post(
        INVITES_URL, {"action": "revoke", "_selected_action": [invite.pk]}
    )
    assert response.status_code == 302
    assert Invite.objects.get().revoked_at is not None
    entry = AuditEntry.objects.get(action="invite_revoked")
    assert entry.actor == admin_user
