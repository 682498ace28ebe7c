"""The plain account pages: sign up, log in, log out, and the login-only home."""

import re

import pytest
from django.contrib.auth import SESSION_KEY
from django.urls import reverse

from accounts.models import User
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db

SIGNUP, LOGIN, LOGOUT, HOME = (
    reverse("signup"),
    reverse("login"),
    reverse("logout"),
    reverse("home"),
)


def field_group(html: str, name: str) -> str:
    """The markup from a field's label to the next label or button."""
    match = re.search(
        rf'<label for="id_{name}">.*?(?=<label |<button )', html, flags=re.S
    )
    assert match, f"no field {name}"
    return match.group(0)


def test_home_requires_login(client):
    """An anonymous visitor to the home page is sent to log in, then back."""
    response = client.get(HOME)
    assert response.status_code == 302
    assert response.url == f"{LOGIN}?next={HOME}"


def test_signup_creates_and_logs_in_the_user(client):
    """Signing up makes the account and a session; home then greets the user."""
    response = client.post(
        SIGNUP,
        {"username": "alice", "password1": PASSWORD, "password2": PASSWORD},
    )
    assert response.status_code == 302
    assert response.url == HOME
    alice = User.objects.get(username="alice")
    assert alice.check_password(PASSWORD)
    assert client.session[SESSION_KEY] == str(alice.pk)
    home = client.get(HOME)
    assert home.status_code == 200
    assert "Signed in as <strong>alice</strong>" in home.content.decode()


@pytest.mark.parametrize(
    ("data", "field", "error"),
    [
        (
            {"username": "alice", "password1": PASSWORD, "password2": "other"},
            "password2",
            "The two password fields didn’t match.",
        ),
        (
            {"username": "taken", "password1": PASSWORD, "password2": PASSWORD},
            "username",
            "A user with that username already exists.",
        ),
        (
            {"username": "bob", "password1": "123", "password2": "123"},
            "password2",
            "This password is too short.",
        ),
    ],
)
def test_signup_errors_are_shown_next_to_the_field(
    client, make_user, data, field, error
):
    """A refused sign-up shows each error beside its field and makes no account."""
    make_user("taken")
    response = client.post(SIGNUP, data)
    assert response.status_code == 200
    group = field_group(response.content.decode(), field)
    assert 'class="errorlist' in group
    assert error in group.replace("&#x27;", "'")
    assert User.objects.count() == 1
    assert SESSION_KEY not in client.session


def test_signed_in_user_skips_signup(client, make_user):
    """A signed-in user who opens the sign-up page is sent home."""
    client.force_login(make_user("alice"))
    response = client.get(SIGNUP)
    assert response.status_code == 302
    assert response.url == HOME


def test_login_returns_to_next_and_logout_ends_the_session(client, make_user):
    """Logging in goes on to `next`; logging out (POST) ends the session."""
    alice = make_user("alice")
    page = client.get(LOGIN, {"next": HOME}).content.decode()
    assert f'name="next" value="{HOME}"' in page
    response = client.post(
        LOGIN, {"username": "alice", "password": PASSWORD, "next": HOME}
    )
    assert response.status_code == 302
    assert response.url == HOME
    assert client.session[SESSION_KEY] == str(alice.pk)
    assert client.get(HOME).status_code == 200

    response = client.post(LOGOUT)
    assert response.status_code == 302
    assert response.url == LOGIN
    assert SESSION_KEY not in client.session
    assert client.get(HOME).status_code == 302


def test_logout_is_post_only(client, make_user):
    """A GET to log-out (a link, a prefetch) changes nothing: it goes home."""
    client.force_login(make_user("alice"))
    response = client.get(LOGOUT)
    assert (response.status_code, response.url) == (302, "/")
    assert SESSION_KEY in client.session


def test_wrong_password_is_refused_with_a_message(client, make_user):
    """A wrong password keeps the visitor logged out and says why."""
    make_user("alice")
    response = client.post(LOGIN, {"username": "alice", "password": "wrong"})
    assert response.status_code == 200
    assert "Please enter a correct username and password" in response.content.decode()
    assert SESSION_KEY not in client.session


def test_home_lists_my_rooms_my_direct_conversations_and_rooms_to_join(
    client, make_user, make_room
):
    """Home shows my rooms and the people I talk to; others' private rooms never."""
    from chat.services.messages import send_message

    alice, bob = make_user("alice"), make_user("bob")
    make_room("mine", owner=alice)
    make_room("open-door", owner=bob)
    make_room("bobs-secret", owner=bob, private=True)
    send_message(sender=bob, to="alice", body="hi")
    client.force_login(alice)
    html = client.get(HOME).content.decode()
    rooms = html.split('id="room-list"')[1].split("</ul>")[0]
    directs = html.split('id="direct-list"')[1].split("</ul>")[0]
    to_join = html.split('id="public-heading"')[1].split("</section>")[0]
    assert 'href="/rooms/mine/"' in rooms
    assert 'href="/dm/bob/"' in directs
    assert "<code>open-door</code>" in to_join
    assert "bobs-secret" not in html
