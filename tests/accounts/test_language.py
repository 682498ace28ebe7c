"""A user's language is remembered (at log-in and from the language switch),
and the missed-message email is written in it."""

from datetime import UTC, datetime

from django.urls import reverse

from accounts.models import User
from chat.services.email_digest import MissedItem, digest_email
from tests.conftest import PASSWORD

ITEM = MissedItem(
    sender="bob",
    place="#hall",
    body="hello",
    sent_at=datetime(2026, 12, 3, 9, 0, tzinfo=UTC),
    url="http://testserver/rooms/hall/?around=1",
    direct=False,
)


def test_logging_in_remembers_the_language_of_the_page(client, make_user):
    make_user("alice")
    response = client.post(
        reverse("login"),
        {"username": "alice", "password": PASSWORD},
        HTTP_ACCEPT_LANGUAGE="zh-hans",
    )
    assert response.status_code == 302
    assert User.objects.get(username="alice").language == "zh-hans"


def test_the_language_switch_remembers_a_signed_in_users_choice(client, make_user):
    alice = make_user("alice", language="zh-hans")
    client.force_login(alice)
    response = client.post(reverse("set_language"), {"language": "en", "next": "/"})
    assert response.status_code == 302
    assert User.objects.get(pk=alice.pk).language == "en"
    # Not a language of ours: the switch ignores it, and so does the account.
    client.post(reverse("set_language"), {"language": "xx", "next": "/"})
    assert User.objects.get(pk=alice.pk).language == "en"


def test_the_switch_still_works_for_anonymous_visitors(client):
    response = client.post(
        reverse("set_language"), {"language": "zh-hans", "next": "/accounts/login/"}
    )
    assert response.status_code == 302
    assert "zh-hans" in client.cookies["django_language"].value


def test_the_missed_message_email_is_in_the_users_language(make_user):
    chinese = make_user("li", email="li@example.com", language="zh-hans")
    english = make_user("ann", email="ann@example.com")
    assert digest_email(user=chinese, items=[ITEM, ITEM]).subject == (
        "你错过了 2 条消息"
    )
    assert digest_email(user=english, items=[ITEM, ITEM]).subject == (
        "2 messages you missed"
    )
