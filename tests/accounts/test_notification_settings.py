"""The account page (email address, its verification, email notifications, the
push button), the push subscription API, /sw.js and the password reset."""

import re

import pytest
from django.core import mail
from django.test import Client

from accounts.email import verification_token
from accounts.models import PushSubscription
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


@pytest.fixture
def bob(make_user):
    return make_user("bob")


@pytest.fixture
def browser(bob) -> Client:
    client = Client()
    client.force_login(bob)
    return client


def link_in(body: str) -> str:
    match = re.search(r"https?://[^/\s]+(/\S+)", body)
    assert match is not None, body
    return match.group(1)


def test_the_account_page_needs_a_log_in():
    response = Client().get("/accounts/settings/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_setting_an_address_sends_a_signed_link_that_verifies_it(
    browser, bob, django_capture_on_commit_callbacks
):
    """The address is unconfirmed until its link is opened; then confirmed."""
    with django_capture_on_commit_callbacks(execute=True):
        response = browser.post(
            "/accounts/settings/", {"action": "email", "email": "bob@example.com"}
        )
    assert response.status_code == 302
    bob.refresh_from_db()
    assert bob.email == "bob@example.com"
    assert bob.email_verified is False
    page = browser.get("/accounts/settings/").content.decode()
    assert "bob@example.com is not confirmed yet" in page
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["bob@example.com"]
    assert mail.outbox[0].subject == "Confirm your email address"
    link = link_in(mail.outbox[0].body)
    assert link.startswith("/accounts/email/verify/")
    opened = Client().get(link)
    assert opened.status_code == 200
    assert "bob@example.com is confirmed" in opened.content.decode()
    bob.refresh_from_db()
    assert bob.email_verified is True
    assert (
        "bob@example.com is confirmed."
        in browser.get("/accounts/settings/").content.decode()
    )


def test_a_link_for_a_former_address_or_forged_verifies_nothing(bob):
    bob.email = "old@example.com"
    bob.save()
    token = verification_token(bob)
    bob.email = "new@example.com"
    bob.save()
    assert Client().get(f"/accounts/email/verify/{token}/").status_code == 400
    assert Client().get("/accounts/email/verify/nonsense/").status_code == 400
    bob.refresh_from_db()
    assert bob.verified_email == ""


def test_changing_a_verified_address_needs_a_new_verification(
    browser, bob, django_capture_on_commit_callbacks
):
    bob.email = bob.verified_email = "bob@example.com"
    bob.save()
    with django_capture_on_commit_callbacks(execute=True):
        browser.post(
            "/accounts/settings/", {"action": "email", "email": "b@example.org"}
        )
    bob.refresh_from_db()
    assert bob.email_verified is False
    assert mail.outbox[0].to == ["b@example.org"]


def test_a_bad_address_is_refused_on_the_page(browser, bob):
    response = browser.post("/accounts/settings/", {"action": "email", "email": "nope"})
    assert response.status_code == 400
    assert "Enter a valid email address." in response.content.decode()
    bob.refresh_from_db()
    assert bob.email == ""


def test_email_notifications_are_on_by_default_and_turned_off_on_the_page(browser, bob):
    assert bob.email_notifications is True
    page = browser.get("/accounts/settings/").content.decode()
    assert 'name="email_notifications"' in page
    assert "checked" in page
    browser.post("/accounts/settings/", {"action": "notifications"})
    bob.refresh_from_db()
    assert bob.email_notifications is False
    browser.post(
        "/accounts/settings/", {"action": "notifications", "email_notifications": "on"}
    )
    bob.refresh_from_db()
    assert bob.email_notifications is True


def test_the_push_button_is_offered_only_with_vapid_keys(browser, settings):
    settings.CHAT_VAPID_PUBLIC_KEY = settings.CHAT_VAPID_PRIVATE_KEY = ""
    page = browser.get("/accounts/settings/").content.decode()
    assert 'id="push-subscribe"' not in page
    assert "not set up on this server" in page
    settings.CHAT_VAPID_PUBLIC_KEY = "BPublicKey"
    settings.CHAT_VAPID_PRIVATE_KEY = "private"
    page = browser.get("/accounts/settings/").content.decode()
    assert 'id="push-subscribe"' in page
    assert 'data-vapid-key="BPublicKey"' in page
    assert "/static/chat/account.js" in page


def test_the_service_worker_comes_from_our_origin_for_the_whole_site():
    response = Client().get("/sw.js")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/javascript"
    assert response["Service-Worker-Allowed"] == "/"
    assert b'addEventListener("push"' in response.content


SUBSCRIPTION = {
    "endpoint": "https://push.example.net/send/abc",
    "expirationTime": None,
    "keys": {"p256dh": "B" + "a" * 86, "auth": "c" * 22},
}


def test_a_browser_subscribes_and_unsubscribes_over_the_api(browser, bob, settings):
    settings.CHAT_VAPID_PUBLIC_KEY, settings.CHAT_VAPID_PRIVATE_KEY = "BKey", "k"
    answer = browser.get("/api/push/subscriptions/").json()
    assert answer == {"public_key": "BKey", "subscriptions": []}
    created = browser.post(
        "/api/push/subscriptions/", SUBSCRIPTION, content_type="application/json"
    )
    assert created.status_code == 201
    assert created.json()["endpoint"] == SUBSCRIPTION["endpoint"]
    again = browser.post(
        "/api/push/subscriptions/", SUBSCRIPTION, content_type="application/json"
    )
    assert again.status_code == 201
    stored = PushSubscription.objects.get()
    assert (stored.user, stored.auth) == (bob, "c" * 22)
    deleted = browser.delete(
        "/api/push/subscriptions/",
        {"endpoint": SUBSCRIPTION["endpoint"]},
        content_type="application/json",
    )
    assert deleted.status_code == 204
    assert PushSubscription.objects.count() == 0
    missing = browser.delete(
        "/api/push/subscriptions/",
        {"endpoint": SUBSCRIPTION["endpoint"]},
        content_type="application/json",
    )
    assert missing.status_code == 404
    assert missing.json()["code"] == "not_found"


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"endpoint": "http://push.example.net/x", "keys": SUBSCRIPTION["keys"]},
        {"endpoint": SUBSCRIPTION["endpoint"], "keys": {"p256dh": "short"}},
        {"endpoint": "not a url", "keys": SUBSCRIPTION["keys"]},
    ],
)
def test_a_bad_subscription_is_a_400(browser, body):
    response = browser.post(
        "/api/push/subscriptions/", body, content_type="application/json"
    )
    assert response.status_code == 400
    assert response.json()["code"] == "invalid"
    assert PushSubscription.objects.count() == 0


def test_the_push_api_needs_a_log_in():
    assert Client().get("/api/push/subscriptions/").status_code in {401, 403}


def test_password_reset_goes_to_verified_addresses_only(make_user):
    """An unconfirmed address gets nothing; a confirmed one a working link."""
    carol = make_user("carol", email="carol@example.com")
    dave = make_user("dave", email="dave@example.com")
    dave.verified_email = dave.email
    dave.save()
    client = Client()
    page = client.get("/accounts/password/reset/")
    assert page.status_code == 200
    assert "Reset your password" in page.content.decode()
    for address in (carol.email, dave.email):
        response = client.post("/accounts/password/reset/", {"email": address})
        assert response.status_code == 302
        assert response["Location"] == "/accounts/password/reset/sent/"
    assert [email.to for email in mail.outbox] == [["dave@example.com"]]
    link = link_in(mail.outbox[0].body)
    form = client.get(link, follow=True)
    assert "Set a new password" in form.content.decode()
    done = client.post(
        form.redirect_chain[-1][0],
        {
            "new_password1": "a new long passphrase",
            "new_password2": "a new long passphrase",
        },
    )
    assert done.status_code == 302
    assert client.get(done["Location"]).status_code == 200
    dave.refresh_from_db()
    assert dave.check_password("a new long passphrase")
    assert not dave.check_password(PASSWORD)


def test_the_log_in_page_links_to_the_reset():
    page = Client().get("/accounts/login/").content.decode()
    assert 'href="/accounts/password/reset/"' in page


def test_the_reset_pages_speak_chinese():
    """The page in the reader's language: Django's own form field, in Chinese."""
    client = Client(HTTP_ACCEPT_LANGUAGE="zh-hans")
    page = client.get("/accounts/password/reset/").content.decode()
    assert 'lang="zh-hans"' in page
    assert "电子邮件" in page
