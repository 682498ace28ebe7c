"""Who a WebSocket connection is: token, `?id=&token=`, Bearer header or session.

Through the whole ASGI stack (`chatsite.asgi.application`) with channels'
WebsocketCommunicator: a good credential gets the user's hello; a bad or missing
one is accepted and then closed with 4401; a session cookie from a foreign or
missing Origin is refused at the handshake (daphne answers that with 403).
"""

import asyncio
import json
from datetime import timedelta
from urllib.parse import quote

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.db import connections
from django.test import Client
from django.utils import timezone

from accounts import tokens
from accounts.middleware import credentials_from, origin_allowed
from accounts.models import ApiToken
from accounts.tokens import create_token, revoke_token
from chatsite.asgi import application

TIMEOUT = 5
ALLOWED_HOST = "chat.example.com"


@pytest.fixture(autouse=True)
def _settings(settings):
    settings.ALLOWED_HOSTS = [ALLOWED_HOST]
    settings.DEBUG = False


@pytest.fixture
def alice(make_user):
    return make_user("alice")


@pytest.fixture
def mallory(make_user):
    return make_user("mallory")


@pytest.fixture
def token(alice, make_token):
    return make_token(alice)


@pytest.fixture
def session_cookie(alice) -> bytes:
    """The `cookie` header of a browser logged in as alice."""
    from django.conf import settings

    browser = Client()
    browser.force_login(alice)
    name = settings.SESSION_COOKIE_NAME
    return f"{name}={browser.cookies[name].value}".encode()


async def close_thread_connections() -> None:
    """channels' communicator keeps the consumer's connections open: close them."""
    await sync_to_async(connections.close_all)()


async def open_socket(path: str, headers=()) -> tuple[WebsocketCommunicator, bool]:
    communicator = WebsocketCommunicator(application, path, headers=list(headers))
    accepted, _ = await communicator.connect(TIMEOUT)
    return communicator, accepted


async def assert_hello_for(user, path: str, headers=()) -> None:
    """The connection is accepted and says hello to `user`."""
    communicator, accepted = await open_socket(path, headers)
    try:
        assert accepted
        hello = json.loads(await communicator.receive_from(TIMEOUT))
        assert hello["type"] == "hello"
        assert hello["user"] == {"id": user.pk, "username": user.username}
    finally:
        await communicator.disconnect(timeout=TIMEOUT)
        await close_thread_connections()


async def assert_closed_4401(path: str, headers=()) -> None:
    """The connection is accepted, then closed with 4401 before any frame."""
    communicator, accepted = await open_socket(path, headers)
    try:
        assert accepted
        assert await communicator.receive_output(TIMEOUT) == {
            "type": "websocket.close",
            "code": 4401,
        }
        assert await communicator.receive_nothing(0.1)
    finally:
        await communicator.disconnect(timeout=TIMEOUT)
        await close_thread_connections()


async def assert_refused(path: str, headers=()) -> None:
    """The handshake is not accepted: nothing but a close comes back."""
    communicator, accepted = await open_socket(path, headers)
    try:
        assert not accepted
        assert await communicator.receive_nothing(0.1)
    finally:
        await communicator.disconnect(timeout=TIMEOUT)
        await close_thread_connections()


# --- credentials that work ---------------------------------------------------------


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("path", ["/ws/chat/", "/chat", "/chat/"])
async def test_token_in_query_string(alice, token, path):
    """`?token=T` on either endpoint connects as the token's user, no Origin."""
    await assert_hello_for(alice, f"{path}?token={quote(token)}")


@pytest.mark.django_db(transaction=True)
async def test_article_form_with_matching_id(alice, token):
    """The article's `/chat?id=U&token=T` connects when U is T's user."""
    await assert_hello_for(alice, f"/chat?id={alice.pk}&token={token}")


@pytest.mark.django_db(transaction=True)
async def test_bearer_header(alice, token):
    """`Authorization: Bearer T` connects as the token's user."""
    headers = [(b"authorization", f"Bearer {token}".encode())]
    await assert_hello_for(alice, "/ws/chat/", headers)


@pytest.mark.django_db(transaction=True)
async def test_token_served_from_a_foreign_origin(alice, token):
    """A token is not an ambient credential: any Origin is served."""
    headers = [(b"origin", b"https://elsewhere.example")]
    await assert_hello_for(alice, f"/ws/chat/?token={token}", headers)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    "origin",
    [f"https://{ALLOWED_HOST}", f"http://{ALLOWED_HOST}:8000"],
)
async def test_session_cookie_from_allowed_origin(alice, session_cookie, origin):
    """A logged-in page on an allowed host connects with its session cookie."""
    headers = [(b"cookie", session_cookie), (b"origin", origin.encode())]
    await assert_hello_for(alice, "/ws/chat/", headers)


# --- credentials that do not ---------------------------------------------------------


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    "origin",
    [
        b"https://evil.example",
        b"https://chat.example.com.evil.example",
        b"null",
        None,
    ],
    ids=["foreign", "lookalike", "null", "missing"],
)
async def test_session_cookie_from_foreign_or_missing_origin_refused(
    session_cookie, origin
):
    """A session cookie from a foreign or missing Origin is refused outright."""
    headers = [(b"cookie", session_cookie)]
    if origin is not None:
        headers.append((b"origin", origin))
    await assert_refused("/ws/chat/", headers)


@pytest.mark.django_db(transaction=True)
async def test_stale_session_cookie_is_closed_4401():
    """A session cookie that names no session is accepted, then closed 4401."""
    headers = [(b"cookie", b"sessionid=nosuchsession"), (b"origin", b"https://x.y")]
    await assert_closed_4401("/ws/chat/", headers)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    "query",
    [
        "",
        "?token=",
        "?token=garbage",
        "?token=abcdefgh.not-the-secret",
        "?id=1",
    ],
    ids=["none", "empty", "garbage", "wrong_secret", "id_without_token"],
)
async def test_missing_or_bad_token_is_closed_4401(token, query):
    """No token, or one that is not a token, is accepted, then closed 4401."""
    await assert_closed_4401(f"/ws/chat/{query}")


@pytest.mark.django_db(transaction=True)
async def test_token_with_wrong_secret_is_closed_4401(token):
    """A real token's prefix with another secret is closed 4401."""
    prefix = token.split(".", 1)[0]
    await assert_closed_4401(f"/ws/chat/?token={prefix}.{'x' * 43}")


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("claimed", ["other", "abc", ""])
async def test_article_form_with_wrong_id_is_closed_4401(
    alice, mallory, token, claimed
):
    """`?id=U&token=T` where U is not T's user (or is empty) is closed 4401."""
    if claimed == "other":
        claimed = str(mallory.pk)
    await assert_closed_4401(f"/chat?id={claimed}&token={token}")


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("header", [b"Bearer nonsense", b"Bearer ", b"Basic YTpi"])
async def test_bad_authorization_header_is_closed_4401(token, header):
    """A bad Bearer header, or another scheme, is closed 4401."""
    await assert_closed_4401("/ws/chat/", [(b"authorization", header)])


@pytest.fixture
def unusable_token(request, alice):
    """A token that once was good: expired, revoked, or of a deactivated user."""
    row, plaintext = create_token(user=alice, expires_days=1)
    if request.param == "expired":
        row.expires_at = timezone.now() - timedelta(seconds=1)
        row.save(update_fields=["expires_at"])
    elif request.param == "revoked":
        revoke_token(row)
    elif request.param == "inactive_user":
        alice.is_active = False
        alice.save(update_fields=["is_active"])
    return plaintext


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    "unusable_token", ["expired", "revoked", "inactive_user"], indirect=True
)
async def test_unusable_token_is_closed_4401(alice, unusable_token):
    """An expired or revoked token, or a deactivated user's, is closed 4401."""
    await assert_closed_4401(f"/chat?id={alice.pk}&token={unusable_token}")
    await assert_closed_4401(
        "/ws/chat/", [(b"authorization", f"Bearer {unusable_token}".encode())]
    )


# --- the parts, alone ----------------------------------------------------------------


def scope(query: bytes = b"", headers=()) -> dict:
    return {"type": "websocket", "query_string": query, "headers": list(headers)}


@pytest.mark.parametrize(
    ("query", "headers", "expected"),
    [
        (b"", [], (None, None)),
        (b"token=T", [], ("T", None)),
        (b"id=7&token=T", [], ("T", "7")),
        (b"", [(b"authorization", b"Bearer T")], ("T", None)),
        (b"", [(b"authorization", b"bearer  T ")], ("T", None)),
        (b"", [(b"authorization", b"Bearer\tT")], ("T", None)),
        (b"", [(b"authorization", b"Bearer")], ("", None)),
        (b"", [(b"authorization", b"Basic T")], (None, None)),
        (b"token=Q", [(b"authorization", b"Bearer H")], ("Q", None)),
        (b"token=", [(b"authorization", b"Bearer H")], ("H", None)),
        (b"id=&token=T", [], ("T", "")),
    ],
    ids=[
        "none",
        "query",
        "article",
        "header",
        "header_case",
        "header_tab",
        "header_without_token",
        "basic",
        "query_wins",
        "empty_query_token",
        "empty_id",
    ],
)
def test_credentials_from(query, headers, expected):
    """The token and claimed id are read from the query string or the header."""
    assert credentials_from(scope(query, headers)) == expected


@pytest.mark.parametrize(
    ("origin", "allowed"),
    [
        (b"https://chat.example.com", True),
        (b"http://chat.example.com:8443", True),
        (b"https://evil.example", False),
        (b"https://chat.example.com.evil.example", False),
        (b"null", False),
        (b"", False),
        (None, False),
    ],
)
def test_origin_allowed(origin, allowed):
    """Only an Origin whose host is in ALLOWED_HOSTS is allowed."""
    headers = [] if origin is None else [(b"origin", origin)]
    assert origin_allowed(scope(headers=headers)) is allowed


def test_origin_allowed_ipv6(settings):
    """An IPv6 Origin matches its bracketed entry in ALLOWED_HOSTS."""
    settings.ALLOWED_HOSTS = ["[::1]"]
    assert origin_allowed(scope(headers=[(b"origin", b"http://[::1]:8000")]))
    assert not origin_allowed(scope(headers=[(b"origin", b"http://[::2]:8000")]))


# --- handshakes on their own database thread (chat.realtime.db_thread) ----


@pytest.mark.django_db(transaction=True)
async def test_token_revoked_after_a_handshake_fails_the_next_one_at_once(alice, token):
    """Nothing of a good handshake is kept for the next: a revoked token is
    refused at the very next handshake."""
    await assert_hello_for(alice, f"/ws/chat/?token={token}")
    row = await sync_to_async(ApiToken.objects.get)(user=alice)
    await sync_to_async(revoke_token)(row)
    await assert_closed_4401(f"/ws/chat/?token={token}")


@pytest.mark.django_db(transaction=True)
async def test_handshakes_record_their_tokens_use_later_in_one_write(
    alice, mallory, monkeypatch
):
    """The last use of the tokens that opened sockets is written within seconds,
    all of a moment's handshakes in one write, and not on the handshake's path."""
    writes: list[list[int]] = []
    touch = tokens.touch_tokens

    def counting(token_ids):
        writes.append(list(token_ids))
        touch(token_ids)

    monkeypatch.setattr(tokens, "touch_tokens", counting)
    made = [
        await sync_to_async(create_token)(user=user) for user in (alice, mallory, alice)
    ]
    await asyncio.gather(
        *(
            assert_hello_for(row.user, f"/ws/chat/?token={plaintext}")
            for row, plaintext in made
        )
    )
    assert writes == []  # not yet: the hellos came first
    ids = sorted(row.pk for row, _ in made)

    async def used() -> list:
        rows = ApiToken.objects.filter(pk__in=ids, last_used_at__isnull=False)
        return await sync_to_async(list)(rows.values_list("pk", flat=True))

    for _ in range(100):
        if len(await used()) == len(ids):
            break
        await asyncio.sleep(0.05)
    assert sorted(await used()) == ids
    # One write for the three (two, at worst, on a machine that took a second).
    assert sorted(i for write in writes for i in write) == ids
    assert len(writes) < len(ids)

    # Used again within the minute: nothing more is written.
    await assert_hello_for(alice, f"/ws/chat/?token={made[0][1]}")
    written = len(writes)
    await asyncio.sleep(tokens.LastUse.DELAY_SECONDS + 0.3)
    assert len(writes) == written
