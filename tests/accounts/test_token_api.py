"""`/api/auth/token/`: a password buys a token, shown once; the token revokes itself."""

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import ApiToken
from accounts.tokens import create_token
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


TOKEN_URL = "/api/auth/token/"
ROOMS_URL = "/api/rooms/"


@pytest.fixture
def client():
    return APIClient()


def bearer(token: str) -> dict:
    return {"HTTP_AUTHORIZATION": f"Bearer {token}"}


def assert_unauthenticated(response) -> None:
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert response.json()["code"] == "unauthenticated"
    assert isinstance(response.json()["detail"], str)


def test_password_buys_a_token_shown_once(client, make_user):
    """The right password gets 201 with the user's id, username and a working token."""
    user = make_user("alice")
    response = client.post(
        TOKEN_URL, {"username": "alice", "password": PASSWORD}, format="json"
    )
    assert response.status_code == 201
    body = response.json()
    assert body["id"] == user.pk
    assert body["username"] == "alice"
    token = body["token"]
    stored = ApiToken.objects.get(user=user)
    assert token.startswith(stored.prefix + ".")
    assert token not in {stored.digest, stored.name}
    assert client.get(ROOMS_URL, **bearer(token)).status_code == 200


def test_token_request_takes_a_name_and_an_expiry(client, make_user):
    """`name` and `expires_days` are kept on the new token."""
    user = make_user("alice")
    response = client.post(
        TOKEN_URL,
        {"username": "alice", "password": PASSWORD, "name": "phone", "expires_days": 2},
        format="json",
    )
    assert response.status_code == 201
    stored = ApiToken.objects.get(user=user)
    assert stored.name == "phone"
    remaining = stored.expires_at - timezone.now()
    assert timedelta(days=1, hours=23) < remaining <= timedelta(days=2)


@pytest.mark.parametrize(
    ("username", "password"),
    [("alice", "wrong password"), ("nobody", PASSWORD), ("alice", "")],
)
def test_wrong_credentials_get_400_with_a_reason(client, make_user, username, password):
    """A wrong password or unknown user gets 400 JSON and no token is made."""
    make_user("alice")
    response = client.post(
        TOKEN_URL, {"username": username, "password": password}, format="json"
    )
    assert response.status_code == 400
    body = response.json()
    assert set(body) == {"code", "detail"}
    assert body["code"] in {"invalid_credentials", "invalid"}
    assert isinstance(body["detail"], str)
    assert body["detail"]
    assert ApiToken.objects.count() == 0


def test_wrong_password_code_is_invalid_credentials(client, make_user):
    """A wrong password is told apart from malformed input by its code."""
    make_user("alice")
    response = client.post(
        TOKEN_URL, {"username": "alice", "password": "nope"}, format="json"
    )
    assert response.json() == {
        "code": "invalid_credentials",
        "detail": "Wrong username or password.",
    }


def test_inactive_user_gets_no_token(client, make_user):
    """A deactivated account cannot log in for a token."""
    make_user("alice", is_active=False)
    response = client.post(
        TOKEN_URL, {"username": "alice", "password": PASSWORD}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_credentials"


def test_missing_fields_get_400_naming_them(client):
    """A request without a password says which field is missing."""
    response = client.post(TOKEN_URL, {"username": "alice"}, format="json")
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid"
    assert "password" in body["detail"]


def test_malformed_json_gets_400_json(client):
    """A body that is not JSON gets a JSON error, not a page."""
    response = client.post(TOKEN_URL, data="{not json", content_type="application/json")
    assert response.status_code == 400
    assert response.json()["code"] == "parse_error"


def test_token_post_works_with_a_session_and_no_csrf(make_user):
    """A logged-in browser may ask for a token without a CSRF token."""
    user = make_user("alice")
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(user)
    response = client.post(
        TOKEN_URL, {"username": "alice", "password": PASSWORD}, format="json"
    )
    assert response.status_code == 201


def test_delete_revokes_the_token_used(client, make_user, make_token):
    """DELETE revokes the bearer token; afterwards it gets 401."""
    user = make_user("alice")
    token = make_token(user)
    response = client.delete(TOKEN_URL, **bearer(token))
    assert response.status_code == 204
    assert ApiToken.objects.get(user=user).revoked_at is not None
    assert_unauthenticated(client.get(ROOMS_URL, **bearer(token)))
    assert_unauthenticated(client.delete(TOKEN_URL, **bearer(token)))


def test_delete_leaves_other_tokens_working(client, make_user, make_token):
    """Revoking one token (one device) leaves the user's other tokens alone."""
    user = make_user("alice")
    phone, laptop = make_token(user, name="phone"), make_token(user, name="laptop")
    assert client.delete(TOKEN_URL, **bearer(phone)).status_code == 204
    assert client.get(ROOMS_URL, **bearer(laptop)).status_code == 200
    assert ApiToken.objects.filter(revoked_at__isnull=True).get().name == "laptop"


def test_delete_without_a_token_gets_401(client):
    """Revoking needs the token itself."""
    assert_unauthenticated(client.delete(TOKEN_URL))


def test_delete_with_a_session_only_gets_400(make_user):
    """A session has no token to revoke: 400 with a reason, nothing revoked."""
    user = make_user("alice")
    create_token(user=user)
    client = APIClient()
    client.force_login(user)
    response = client.delete(TOKEN_URL)
    assert response.status_code == 400
    assert response.json()["code"] == "no_token"
    assert ApiToken.objects.get().revoked_at is None


@pytest.mark.parametrize(
    "header",
    [
        "Bearer",
        "Bearer not-a-token",
        "Bearer abcdefgh.wrongsecret",
        "Bearer one two",
        "bearer ",
    ],
)
def test_bad_bearer_headers_get_401(client, make_user, header):
    """A malformed or unknown token gets 401 with `WWW-Authenticate: Bearer`."""
    make_user("alice")
    assert_unauthenticated(client.get(ROOMS_URL, HTTP_AUTHORIZATION=header))


def test_expired_token_gets_401(client, make_user, make_token):
    """A token past its expiry is refused like a wrong one."""
    user = make_user("alice")
    token = make_token(user, expires_days=1)
    ApiToken.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    assert_unauthenticated(client.get(ROOMS_URL, **bearer(token)))


def test_token_of_a_deactivated_user_gets_401(client, make_user, make_token):
    """Deactivating a user stops their tokens at once."""
    user = make_user("alice")
    token = make_token(user)
    user.is_active = False
    user.save()
    assert_unauthenticated(client.get(ROOMS_URL, **bearer(token)))


def test_no_credentials_get_401(client):
    """No token and no session: 401 telling the client to use a bearer token."""
    assert_unauthenticated(client.get(ROOMS_URL))
