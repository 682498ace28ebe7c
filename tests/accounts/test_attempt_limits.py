"""Log-in and sign-up tries: limited per account and (more generously) per
address; past a limit the normal page comes back, translated, with the wait."""

import itertools
import re

import pytest
from django.urls import reverse

from accounts.models import User
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db

SIGNUP, LOGIN, TOKEN = reverse("signup"), reverse("login"), "/api/auth/token/"
_names = itertools.count()


@pytest.fixture
def limits(settings):
    """Two tries per account, five per address, refilled at one a minute."""
    settings.CHAT_AUTH_ACCOUNT_RATE_BURST = 2
    settings.CHAT_AUTH_ACCOUNT_RATE_PER_MINUTE = 1
    settings.CHAT_AUTH_RATE_BURST = 5
    settings.CHAT_AUTH_RATE_PER_MINUTE = 1


def fresh_user(make_user) -> User:
    """A user of a name no other test used (buckets in Redis outlive a test)."""
    return make_user(f"tries{next(_names)}x{id(object())}")


_addresses = itertools.count(1)


def new_address() -> str:
    """An address no other test used (buckets in Redis outlive a test)."""
    n = next(_addresses)
    return f"10.{n // 256}.{n % 256}.7"


def log_in(client, username: str, guess: str = "wrong", *, address: str, **headers):
    return client.post(
        LOGIN, {"username": username, "password": guess}, REMOTE_ADDR=address, **headers
    )


def message(html: str) -> str:
    found = re.search(
        r'<ul class="errorlist nonfield" role="alert"><li>(.*?)</li>', html
    )
    assert found, "no limit message on the page"
    return found[1]


def test_past_an_accounts_tries_the_login_page_comes_back_with_the_wait(
    client, make_user, limits
):
    """The third try is refused on the normal page: message, wait, name kept."""
    user, address = fresh_user(make_user), new_address()
    answers = [log_in(client, user.username, address=address) for _ in range(2)]
    assert [answer.status_code for answer in answers] == [200, 200]
    response = log_in(client, user.username, PASSWORD, address=address)
    assert response.status_code == 429
    assert int(response["Retry-After"]) >= 30
    assert response["Content-Type"].startswith("text/html")
    html = response.content.decode()
    assert '<link rel="stylesheet"' in html  # the site's page, not plain text
    assert message(html) == "Too many attempts. Try again in 1 minute."
    assert f'value="{user.username}"' in html
    assert 'name="password"' in html
    assert "_auth_user_id" not in client.session  # the right password was not tried


def test_the_limit_message_is_translated(client, make_user, limits):
    """In Chinese the page says the same, with the wait, in Chinese."""
    user, address = fresh_user(make_user), new_address()
    for _ in range(3):
        response = log_in(
            client, user.username, address=address, HTTP_ACCEPT_LANGUAGE="zh-hans"
        )
    assert response.status_code == 429
    assert message(response.content.decode()) == "尝试次数过多，请在 1 分钟后重试。"


def test_an_account_is_limited_from_every_address(client, make_user, limits):
    """Guessing one account's password from many addresses is limited too."""
    user = fresh_user(make_user)
    answers = [
        log_in(client, user.username, address=new_address()).status_code
        for _ in range(3)
    ]
    assert answers == [200, 200, 429]


def test_an_office_behind_one_address_is_not_locked_out(client, make_user, limits):
    """People sharing an address each keep their own tries; one who is limited
    does not lock out a colleague (until the address's larger allowance)."""
    first, second = fresh_user(make_user), fresh_user(make_user)
    address = new_address()
    answers = [log_in(client, first.username, address=address) for _ in range(3)]
    assert [answer.status_code for answer in answers] == [200, 200, 429]
    response = log_in(client, second.username, PASSWORD, address=address)
    assert response.status_code == 302  # logged in, from the same address
    assert client.session["_auth_user_id"] == str(second.pk)


def test_an_address_has_a_larger_allowance_then_is_limited(client, make_user, limits):
    """Past the address's five tries (many accounts), the address is limited."""
    users, address = [fresh_user(make_user) for _ in range(6)], new_address()
    answers = [
        log_in(client, user.username, address=address).status_code for user in users
    ]
    assert answers == [200, 200, 200, 200, 200, 429]


def test_sign_ups_past_the_address_limit_get_the_sign_up_page(client, limits):
    """Bulk sign-ups from one address: the normal page, with the wait."""
    answers, address = [], new_address()
    for _ in range(6):
        name = f"new{next(_names)}x{id(object())}"
        response = client.post(
            SIGNUP,
            {"username": name, "password1": "a", "password2": "b"},
            REMOTE_ADDR=address,
        )
        answers.append(response.status_code)
    assert answers == [200, 200, 200, 200, 200, 429]
    html = response.content.decode()
    assert message(html) == "Too many attempts. Try again in 1 minute."
    assert 'name="password1"' in html
    assert not User.objects.filter(username=name).exists()


def test_token_requests_are_limited_per_account_too(client, make_user, limits):
    """POST /api/auth/token/ draws from the same account bucket as the page."""
    user = fresh_user(make_user)
    log_in(client, user.username, address=new_address())
    answers = [
        client.post(
            TOKEN,
            {"username": user.username, "password": "wrong"},
            content_type="application/json",
            REMOTE_ADDR=new_address(),
        )
        for _ in range(2)
    ]
    assert [answer.status_code for answer in answers] == [400, 429]
    assert answers[1].json()["code"] == "rate_limited"
