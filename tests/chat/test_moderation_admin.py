"""The admin's audit log (listed and filtered, never edited or deleted) and its
bans and mutes (lifted through the services, which log it)."""

import pytest
from django.urls import reverse

from chat.models import AuditEntry, Ban, Mute
from chat.services import moderation

pytestmark = pytest.mark.django_db

AUDIT_URL = reverse("admin:chat_auditentry_changelist")


@pytest.fixture
def lobby(make_user, make_room):
    alice, bob = make_user("alice"), make_user("bob")
    make_user("carol")
    room = make_room("lobby", owner=alice, members=[bob])
    moderation.ban(slug="lobby", username="carol", actor=alice, reason="spam")
    moderation.mute(slug="lobby", username="bob", actor=alice, reason="loud")
    return room


def test_the_audit_log_lists_and_filters_by_action(admin_client, lobby):
    page = admin_client.get(AUDIT_URL).content.decode()
    assert "spam" in page
    assert "loud" in page
    only_bans = admin_client.get(AUDIT_URL, {"action__exact": "banned"})
    assert "spam" in only_bans.content.decode()
    assert "loud" not in only_bans.content.decode()


def test_nothing_in_the_admin_adds_changes_or_deletes_an_entry(admin_client, lobby):
    """Add and delete pages are refused, the change page shows no save, the
    bulk delete is not offered, and the entries stay."""
    entry = AuditEntry.objects.first()
    assert admin_client.get(reverse("admin:chat_auditentry_add")).status_code == 403
    delete_url = reverse("admin:chat_auditentry_delete", args=[entry.pk])
    assert admin_client.post(delete_url, {"post": "yes"}).status_code == 403
    change_url = reverse("admin:chat_auditentry_change", args=[entry.pk])
    page = admin_client.get(change_url)
    assert page.status_code == 200
    assert 'name="_save"' not in page.content.decode()
    admin_client.post(change_url, {"reason": "rewritten"})
    bulk = admin_client.post(
        AUDIT_URL, {"action": "delete_selected", "_selected_action": [entry.pk]}
    )
    assert bulk.status_code in (200, 302)
    assert AuditEntry.objects.count() == 2
    assert AuditEntry.objects.get(pk=entry.pk).reason == entry.reason
    assert "delete_selected" not in admin_client.get(AUDIT_URL).content.decode()


@pytest.mark.parametrize(("model", "action"), [(Ban, "unbanned"), (Mute, "unmuted")])
def test_lifting_from_the_admin_goes_through_the_service(
    admin_client, admin_user, lobby, model, action
):
    url = reverse(f"admin:chat_{model._meta.model_name}_changelist")
    restriction = model.objects.get()
    response = admin_client.post(
        url, {"action": "lift", "_selected_action": [restriction.pk]}
    )
    assert response.status_code == 302
    assert not model.objects.exists()
    entry = AuditEntry.objects.order_by("-id").first()
    assert (entry.action, entry.actor) == (action, admin_user)
