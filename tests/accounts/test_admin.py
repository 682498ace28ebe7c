"""The admin's users and API tokens: listed, searchable, revocable, never secret."""

from unittest import mock

import pytest
from django.urls import reverse

from accounts import tokens
from accounts.models import ApiToken

pytestmark = pytest.mark.django_db

TOKENS_URL = reverse("admin:accounts_apitoken_changelist")


@pytest.fixture
def alice_tokens(make_user, make_token):
    """Alice's two tokens, 'laptop' and 'phone', as (row, plaintext) pairs."""
    alice = make_user("alice")
    plaintexts = [
        make_token(alice, name="laptop"),
        make_token(alice, name="phone", expires_days=30),
    ]
    return [(ApiToken.objects.get(prefix=p.split(".")[0]), p) for p in plaintexts]


def assert_no_secret(html: str, pairs) -> None:
    for token, plaintext in pairs:
        assert plaintext.split(".", 1)[1] not in html
        assert token.digest not in html


def test_user_changelist_and_search(admin_client, make_user):
    """Users are listed, and a search by username finds only the match."""
    make_user("alice")
    make_user("bob")
    url = reverse("admin:accounts_user_changelist")
    page = admin_client.get(url).content.decode()
    assert "alice" in page
    assert "bob" in page
    found = admin_client.get(url, {"q": "alic"}).content.decode()
    assert "alice" in found
    assert "bob" not in found


def test_token_changelist_shows_the_prefix_never_the_secret(admin_client, alice_tokens):
    """The token list shows user, name and prefix, and nothing secret."""
    response = admin_client.get(TOKENS_URL)
    assert response.status_code == 200
    html = response.content.decode()
    for token, _ in alice_tokens:
        assert token.prefix in html
    assert "laptop" in html
    assert "phone" in html
    assert "alice" in html
    for column in ("Created at", "Last used at", "Expires at", "Revoked at"):
        assert column in html
    assert_no_secret(html, alice_tokens)


def test_token_and_user_pages_hold_no_secret(admin_client, alice_tokens):
    """Neither a token's page nor its user's page shows the secret or digest."""
    token = alice_tokens[0][0]
    for url in (
        reverse("admin:accounts_apitoken_change", args=[token.pk]),
        reverse("admin:accounts_user_change", args=[token.user_id]),
    ):
        response = admin_client.get(url)
        assert response.status_code == 200
        html = response.content.decode()
        assert token.prefix in html
        assert_no_secret(html, alice_tokens)


def test_tokens_cannot_be_added_in_the_admin(admin_client, alice_tokens):
    """There is no add page: a token's plaintext comes from createtoken or the API."""
    assert admin_client.get(reverse("admin:accounts_apitoken_add")).status_code == 403
    html = admin_client.get(TOKENS_URL).content.decode()
    assert reverse("admin:accounts_apitoken_add") not in html


def test_search_tokens_by_username_name_and_prefix(
    admin_client, alice_tokens, make_user, make_token
):
    """The token list searches usernames, names and prefixes."""
    make_token(make_user("bob"), name="server")
    bob_prefix = ApiToken.objects.get(name="server").prefix
    laptop, phone = alice_tokens[0][0], alice_tokens[1][0]

    def found(query: str) -> set[str]:
        response = admin_client.get(TOKENS_URL, {"q": query})
        return {t.prefix for t in response.context["cl"].result_list}

    assert found("alice") == {laptop.prefix, phone.prefix}
    assert found("server") == {bob_prefix}
    assert found(phone.prefix) == {phone.prefix}


def test_revoke_action_revokes_through_the_token_service(admin_client, alice_tokens):
    """'Revoke selected tokens' calls revoke_token for each; they stop working."""
    (laptop, laptop_text), (phone, phone_text) = alice_tokens
    with mock.patch("accounts.admin.revoke_token", wraps=tokens.revoke_token) as spy:
        response = admin_client.post(
            TOKENS_URL,
            {"action": "revoke_selected", "_selected_action": [laptop.pk, phone.pk]},
            follow=True,
        )
    assert response.status_code == 200
    assert sorted(call.args[0].pk for call in spy.call_args_list) == sorted(
        [laptop.pk, phone.pk]
    )
    assert "Revoked 2 tokens." in response.content.decode()
    assert ApiToken.objects.filter(revoked_at__isnull=True).count() == 0
    assert tokens.authenticate_token(laptop_text) is None
    assert tokens.authenticate_token(phone_text) is None


def test_revoke_action_leaves_other_tokens_and_earlier_revocations(
    admin_client, alice_tokens
):
    """Only the selected tokens change; an already revoked one keeps its time."""
    (laptop, _), (phone, phone_text) = alice_tokens
    tokens.revoke_token(laptop)
    revoked_at = ApiToken.objects.get(pk=laptop.pk).revoked_at
    response = admin_client.post(
        TOKENS_URL,
        {"action": "revoke_selected", "_selected_action": [laptop.pk]},
        follow=True,
    )
    assert "Revoked 0 tokens." in response.content.decode()
    assert ApiToken.objects.get(pk=laptop.pk).revoked_at == revoked_at
    assert tokens.authenticate_token(phone_text) == phone


def test_filter_tokens_by_state(admin_client, alice_tokens):
    """The state filter separates usable tokens from revoked ones."""
    (laptop, _), (phone, _) = alice_tokens
    tokens.revoke_token(laptop)

    def listed(state: str) -> list[int]:
        response = admin_client.get(TOKENS_URL, {"state": state})
        return [t.pk for t in response.context["cl"].result_list]

    assert listed("revoked") == [laptop.pk]
    assert listed("usable") == [phone.pk]
    assert listed("expired") == []


# --- accounts that go away: deactivation only (docs/security.md) ---------------


@pytest.fixture
def alice_in_a_room(make_user, make_room):
    """alice and bob in a room, each with a message in it; alice's id."""
    from chat.models import Message
    from chat.services.messages import store_message

    alice, bob = make_user("alice"), make_user("bob")
    room = make_room("lobby", owner=bob, members=[alice])
    store_message(sender=alice, room=room.slug, body="hello from alice")
    store_message(sender=bob, room=room.slug, body="hello from bob")
    assert Message.objects.count() == 2
    return alice


def test_the_admin_offers_no_deletion_of_a_user(admin_client, alice_in_a_room):
    """No delete button, no bulk delete, and the delete page is refused."""
    alice = alice_in_a_room
    change = admin_client.get(reverse("admin:accounts_user_change", args=[alice.pk]))
    assert change.status_code == 200
    delete_url = reverse("admin:accounts_user_delete", args=[alice.pk])
    assert delete_url not in change.content.decode()
    changelist = admin_client.get(reverse("admin:accounts_user_changelist"))
    html = changelist.content.decode()
    assert 'value="deactivate_selected"' in html
    assert 'value="delete_selected"' not in html
    assert admin_client.get(delete_url).status_code == 403
    assert admin_client.post(delete_url, {"post": "yes"}).status_code == 403


def test_a_bulk_delete_posted_anyway_deletes_nothing(admin_client, alice_in_a_room):
    """A forged "delete selected" POST leaves the user and every message."""
    from chat.models import Message

    alice = alice_in_a_room
    admin_client.post(
        reverse("admin:accounts_user_changelist"),
        {"action": "delete_selected", "_selected_action": [alice.pk], "post": "yes"},
    )
    alice.refresh_from_db()
    assert alice.is_active
    assert sorted(Message.objects.values_list("body", flat=True)) == [
        "hello from alice",
        "hello from bob",
    ]


def test_deleting_a_user_with_messages_is_refused_everywhere(alice_in_a_room):
    """Outside the admin too (a shell, a script), history is never erased."""
    from django.db.models import ProtectedError

    from chat.models import Message

    with pytest.raises(ProtectedError):
        alice_in_a_room.delete()
    assert Message.objects.count() == 2


def test_deactivating_in_the_admin_keeps_the_history(admin_client, alice_in_a_room):
    """The admin's way out for an account: inactive, messages kept."""
    from chat.models import Message

    alice = alice_in_a_room
    response = admin_client.post(
        reverse("admin:accounts_user_changelist"),
        {"action": "deactivate_selected", "_selected_action": [alice.pk]},
    )
    assert response.status_code == 302
    alice.refresh_from_db()
    assert not alice.is_active
    assert Message.objects.filter(sender=alice).count() == 1
