"""Access against a real daphne: who may connect, and losing access at once."""

import asyncio
import statistics
import time
from urllib.parse import urlencode

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from accounts.models import ApiToken, User
from tests.conftest import PASSWORD
from tests.e2e.test_commands_live import manage
from tests.live import (
    assert_silent,
    bearer,
    close_code,
    http_json,
    log_in,
    open_chat,
    recv_frame,
)

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

CLOSE_WITHIN = 5  # seconds: "within seconds" of losing access


def _cookie(cookie_header: str, name: str) -> str:
    for part in cookie_header.split("; "):
        key, _, value = part.partition("=")
        if key == name:
            return value
    raise AssertionError(f"no {name} cookie in {cookie_header!r}")


def post_form(server, path: str, cookie: str, fields: list) -> int:
    """A form POST of a logged-in browser (CSRF token from its cookie)."""
    fields = [("csrfmiddlewaretoken", _cookie(cookie, "csrftoken")), *fields]
    status, _, _ = http_json(
        "POST",
        f"{server.http_url}{path}",
        headers={
            "Cookie": cookie,
            "Content-Type": "application/x-www-form-urlencoded",
            "Referer": f"{server.http_url}{path}",
        },
        raw=urlencode(fields).encode(),
    )
    return status


@pytest.fixture
def alice_token_pk(alice) -> str:
    """The row of alice's token, as the admin's forms name it."""
    return str(ApiToken.objects.get(prefix=alice.token.split(".")[0]).pk)


@pytest.fixture
def alices_other_token(alice, make_token) -> str:
    return make_token(alice.user)


@pytest.fixture
def staff(make_person):
    person = make_person("root", with_password=True)
    User.objects.filter(pk=person.id).update(is_staff=True, is_superuser=True)
    return person


@pytest.fixture
def alice_page(make_person):
    """alice with a password, to log in through the pages."""
    return make_person("alicep", with_password=True)


# --- Origin and credentials ---------------------------------------------------


async def test_session_cookie_from_foreign_origin_is_refused_with_403(
    daphne_server, alice_page
):
    """A logged-in browser's cookie from another site's page: handshake refused."""
    cookie = await asyncio.to_thread(log_in, daphne_server, "alicep", PASSWORD)
    for origin in ("http://evil.example", None):
        headers = {"Cookie": cookie}
        if origin:
            headers["Origin"] = origin
        with pytest.raises(InvalidStatus) as refused:
            async with connect(
                f"{daphne_server.ws_url}/ws/chat/",
                additional_headers=headers,
                origin=None,
                proxy=None,
            ):
                pass
        assert refused.value.response.status_code == 403
    async with connect(
        f"{daphne_server.ws_url}/ws/chat/",
        additional_headers={"Cookie": cookie},
        origin=daphne_server.http_url,
        proxy=None,
    ) as ws:
        assert (await recv_frame(ws))["type"] == "hello"


async def test_token_client_is_served_with_any_origin_or_none(daphne_server, alice):
    """Token clients (the article's) need no Origin: a token is not ambient."""
    for origin in (None, "http://elsewhere.example"):
        async with connect(
            f"{daphne_server.ws_url}/chat?id={alice.id}&token={alice.token}",
            origin=origin,
            proxy=None,
        ) as ws:
            assert (await recv_frame(ws))["type"] == "hello"


def _credentials(alice, bob) -> dict[str, str]:
    prefix = alice.token.split(".")[0]
    return {
        "unknown_id": f"id=987654321&token={alice.token}",
        "other_users_token": f"id={alice.id}&token={bob.token}",
        "wrong_token": f"id={alice.id}&token={prefix}.{'x' * 43}",
    }


async def _attempt(server, query: str) -> tuple[int, float]:
    started = time.perf_counter()
    async with connect(f"{server.ws_url}/chat?{query}", proxy=None) as ws:
        code = await close_code(ws)
    return code, time.perf_counter() - started


async def test_bad_credentials_look_the_same_code_and_timing(daphne_server, alice, bob):
    """Unknown id, another user's token, a wrong token: all 4401, in similar time."""
    credentials = _credentials(alice, bob)
    durations = {name: [] for name in credentials}
    for _ in range(3):  # warm-up: connections, caches
        for query in credentials.values():
            await _attempt(daphne_server, query)
    for _ in range(12):
        for name, query in credentials.items():  # interleaved: load hits all alike
            code, seconds = await _attempt(daphne_server, query)
            assert code == 4401, name
            durations[name].append(seconds)
    medians = {name: statistics.median(found) for name, found in durations.items()}
    spread = max(medians.values()) - min(medians.values())
    # Rough on a shared machine: a database write or a hash on one path only
    # would show as a steady gap; scheduling noise is smoothed by the medians.
    assert spread < max(0.05, 0.5 * min(medians.values())), medians


async def test_http_api_refuses_a_token_in_the_query_string(daphne_server, alice):
    """?token= on the HTTP API is not a credential: 401, as if none was sent."""
    for path in ("/api/rooms/", "/api/messages/", "/api/auth/ticket/"):
        method = "POST" if "ticket" in path else "GET"
        status, headers, body = await asyncio.to_thread(
            http_json, method, f"{daphne_server.http_url}{path}?token={alice.token}"
        )
        assert status == 401, path
        assert body["code"] == "unauthenticated"
        assert headers["WWW-Authenticate"].startswith("Bearer")


# --- Tickets ----------------------------------------------------------------------


async def _ticket(server, token: str) -> str:
    status, _, body = await asyncio.to_thread(
        http_json, "POST", f"{server.http_url}/api/auth/ticket/", token=token
    )
    assert status == 201, body
    assert body["expires_in"] == 30
    return body["ticket"]


async def test_ticket_opens_one_connection_once(daphne_server, alice):
    """A ticket from POST /api/auth/ticket/ opens one WebSocket; a second use: 4401."""
    ticket = await _ticket(daphne_server, alice.token)
    url = f"{daphne_server.ws_url}/ws/chat/?ticket={ticket}"
    async with connect(url, proxy=None) as ws:
        hello = await recv_frame(ws)
        assert hello["type"] == "hello"
        assert hello["user"]["id"] == alice.id
    async with connect(url, proxy=None) as ws:
        assert await close_code(ws) == 4401


async def test_ticket_is_refused_after_30_seconds(daphne_server, alice):
    """An expired ticket gets 4401 (its clock: the database's expiry time)."""
    ticket = await _ticket(daphne_server, alice.token)
    await asyncio.to_thread(_expire_tickets)
    async with connect(
        f"{daphne_server.ws_url}/ws/chat/?ticket={ticket}", proxy=None
    ) as ws:
        assert await close_code(ws) == 4401


def _expire_tickets() -> None:
    from datetime import timedelta

    from django.db import connections
    from django.utils import timezone

    from accounts.models import WebSocketTicket

    WebSocketTicket.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    connections.close_all()


async def test_ticket_stored_as_digest_only(daphne_server, alice):
    """The database holds the ticket's digest, never the ticket."""
    ticket = await _ticket(daphne_server, alice.token)

    def stored():
        from django.db import connections

        from accounts.models import WebSocketTicket

        rows = list(WebSocketTicket.objects.values_list("digest", flat=True))
        connections.close_all()
        return rows

    rows = await asyncio.to_thread(stored)
    assert rows
    assert ticket not in rows


async def test_ticket_with_redis_is_single_use_across_processes(
    start_daphne, alice, settings
):
    """Two server processes: a ticket used on one is refused on the other."""
    if not settings.REDIS_URL:
        pytest.skip("several processes need REDIS_URL (the PostgreSQL+Redis run)")
    first, second = start_daphne(), start_daphne()
    ticket = await _ticket(first, alice.token)
    async with connect(f"{second.ws_url}/ws/chat/?ticket={ticket}", proxy=None) as ws:
        assert (await recv_frame(ws))["type"] == "hello"
    async with connect(f"{first.ws_url}/ws/chat/?ticket={ticket}", proxy=None) as ws:
        assert await close_code(ws) == 4401


# --- Losing access closes open sockets ------------------------------------------------


async def test_revoking_a_token_closes_its_sockets_not_others(
    daphne_server, alice, alices_other_token
):
    """DELETE /api/auth/token/: sockets on that token close with 4401 at once."""
    other_token = alices_other_token
    ticket = await _ticket(daphne_server, alice.token)
    async with (
        open_chat(daphne_server, alice.token) as revoked,
        connect(
            f"{daphne_server.ws_url}/chat?id={alice.id}&token={alice.token}", proxy=None
        ) as article,
        connect(f"{daphne_server.ws_url}/ws/chat/?ticket={ticket}", proxy=None) as via,
        open_chat(daphne_server, other_token) as kept,
    ):
        await recv_frame(article)
        await recv_frame(via)
        status, _, _ = await asyncio.to_thread(
            http_json,
            "DELETE",
            f"{daphne_server.http_url}/api/auth/token/",
            token=alice.token,
        )
        assert status == 204
        assert await close_code(revoked.ws, CLOSE_WITHIN) == 4401
        assert await close_code(article, CLOSE_WITHIN) == 4401
        assert await close_code(via, CLOSE_WITHIN) == 4401
        await kept.send(type="sync", after=0)
        assert (await kept.recv_until("sync.done"))[-1]["type"] == "sync.done"


async def test_admin_revoke_action_closes_the_tokens_sockets(
    daphne_server, staff, alice, alice_token_pk
):
    """The admin's "Revoke selected tokens" closes that token's sockets (4401)."""
    cookie = await asyncio.to_thread(log_in, daphne_server, "root", PASSWORD)
    token_pk = alice_token_pk
    async with open_chat(daphne_server, alice.token) as chat:
        status = await asyncio.to_thread(
            post_form,
            daphne_server,
            "/admin/accounts/apitoken/",
            cookie,
            [("action", "revoke_selected"), ("_selected_action", token_pk)],
        )
        assert status == 302
        assert await close_code(chat.ws, CLOSE_WITHIN) == 4401


async def test_deactivating_a_user_closes_all_their_sockets_with_4403(
    daphne_server, staff, alice, bob
):
    """The admin's "Deactivate selected users": every socket of theirs closes 4403."""
    cookie = await asyncio.to_thread(log_in, daphne_server, "root", PASSWORD)
    async with (
        open_chat(daphne_server, alice.token) as first,
        open_chat(daphne_server, alice.token) as second,
        open_chat(daphne_server, bob.token) as other,
    ):
        status = await asyncio.to_thread(
            post_form,
            daphne_server,
            "/admin/accounts/user/",
            cookie,
            [("action", "deactivate_selected"), ("_selected_action", alice.id)],
        )
        assert status == 302
        assert await close_code(first.ws, CLOSE_WITHIN) == 4403
        assert await close_code(second.ws, CLOSE_WITHIN) == 4403
        await other.send(type="sync", after=0)
        await other.recv_until("sync.done")
    async with open_chat_raw(daphne_server, alice.token) as ws:
        assert await close_code(ws) == 4401  # and no way back in


def open_chat_raw(server, token: str):
    return connect(
        f"{server.ws_url}/ws/chat/", additional_headers=bearer(token), proxy=None
    )


async def test_logging_out_closes_that_sessions_sockets(daphne_server, alice_page):
    """Log-out closes the session's WebSockets (cookie or ticket), not others'."""
    cookie = await asyncio.to_thread(log_in, daphne_server, "alicep", PASSWORD)
    other = await asyncio.to_thread(log_in, daphne_server, "alicep", PASSWORD)
    origin = daphne_server.http_url

    def session_socket(cookie_header):
        return connect(
            f"{daphne_server.ws_url}/ws/chat/",
            additional_headers={"Cookie": cookie_header},
            origin=origin,
            proxy=None,
        )

    # A ticket asked for by the page (session and CSRF token): tied to the session.
    status, _, body = await asyncio.to_thread(
        http_json,
        "POST",
        f"{daphne_server.http_url}/api/auth/ticket/",
        headers={"Cookie": cookie, "X-CSRFToken": _cookie(cookie, "csrftoken")},
    )
    assert status == 201, body
    ticket_url = f"{daphne_server.ws_url}/ws/chat/?ticket={body['ticket']}"
    async with (
        session_socket(cookie) as ws,
        connect(ticket_url, proxy=None) as via_ticket,
        session_socket(other) as kept,
    ):
        for socket in (ws, via_ticket, kept):
            assert (await recv_frame(socket))["type"] == "hello"
        status = await asyncio.to_thread(
            post_form, daphne_server, "/accounts/logout/", cookie, []
        )
        assert status == 302
        assert await close_code(ws, CLOSE_WITHIN) == 4401
        assert await close_code(via_ticket, CLOSE_WITHIN) == 4401
        await assert_silent(kept, 1)


@pytest.fixture
def secret_room(make_room, alice, bob) -> str:
    """alice's private room, with bob in it."""
    return make_room("secret", owner=alice.user, private=True, members=[bob.user]).slug


async def test_removed_member_stops_receiving_a_private_room_at_once(
    daphne_server, secret_room, alice, bob
):
    """bob is removed from a private room: his open socket leaves it live."""
    async with (
        open_chat(daphne_server, alice.token) as owner,
        open_chat(daphne_server, bob.token) as removed,
    ):
        done = await asyncio.to_thread(
            manage, "addmember", secret_room, "bob", "--remove"
        )
        assert done.returncode == 0, done.stderr
        left = await removed.recv(CLOSE_WITHIN)
        assert left == {"type": "room.left", "room": "secret", "reason": "kicked"}
        await owner.send(
            type="message.send", room="secret", body="after", client_id="a"
        )
        await owner.recv_until("message")
        await removed.assert_silent(1)
        await removed.send(type="sync", after=0)
        frames = await removed.recv_until("sync.done")
        assert [f["type"] for f in frames] == ["sync.done"]


async def test_database_down_at_connect_closes_with_1013_under_daphne(
    start_daphne, alice
):
    """No database at the handshake: daphne sends 1013 (try later), not a crash."""
    server = start_daphne(DATABASE_URL="postgres://nobody@127.0.0.1:9/none")
    async with open_chat_raw(server, alice.token) as ws:
        assert await close_code(ws, 20) == 1013
    assert "Exception inside application" not in server.log()
