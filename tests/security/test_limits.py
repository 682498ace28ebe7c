"""Abuse against a real daphne: rates, connections, sizes, slow and idle clients."""

import asyncio
import json
import time

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from chat.models import Message
from tests.live import bearer, close_code, http_json, open_chat, recv_frame

from .rawws import open_raw, read_until_closed, text_frame

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


async def api(server, method: str, path: str, **kwargs):
    return await asyncio.to_thread(
        http_json, method, f"{server.http_url}{path}", **kwargs
    )


# --- rate limits ------------------------------------------------------------------


async def test_rate_limit_is_shared_by_websocket_and_http(start_daphne, alice, lobby):
    """Past the burst, frames get rate_limited (retry_after) and HTTP gets 429."""
    # A token back every 5 s: the burst is spent well before one returns.
    server = start_daphne(CHAT_RATE_BURST="4", CHAT_RATE_PER_SECOND="0.2")
    async with open_chat(server, alice.token) as chat:
        for _ in range(3):
            await chat.send(type="sync", after=0, limit=1)
            await chat.recv_until("sync.done")
        status, _, _ = await api(server, "GET", "/api/rooms/", token=alice.token)
        assert status == 200  # the fourth action of the burst
        await chat.send(type="message.send", room=lobby, body="one", client_id="c1")
        refused = await chat.recv()
        assert refused["type"] == "error"
        assert refused["code"] == "rate_limited"
        assert refused["client_id"] == "c1"
        assert 0 < refused["retry_after"] <= 5
        status, headers, body = await api(
            server, "GET", "/api/rooms/", token=alice.token
        )
        assert status == 429
        assert body["code"] == "rate_limited"
        assert int(headers["Retry-After"]) >= 1
        status, _, body = await api(server, "GET", "/api/messages/", token=alice.token)
        assert (status, body["code"]) == (429, "rate_limited")
        await asyncio.sleep(5.5)  # one token back: the connection still works
        await chat.send(type="message.send", room=lobby, body="two", client_id="c2")
        assert (await chat.recv())["type"] == "ack"


async def test_rate_limit_holds_across_processes_with_redis(
    start_daphne, alice, settings
):
    """With Redis two processes draw from one bucket: the second one refuses too."""
    if not settings.REDIS_URL:
        pytest.skip("several processes need REDIS_URL (the PostgreSQL+Redis run)")
    env = {"CHAT_RATE_BURST": "3", "CHAT_RATE_PER_SECOND": "0.1"}
    first, second = start_daphne(**env), start_daphne(**env)
    for _ in range(3):
        status, _, _ = await api(first, "GET", "/api/rooms/", token=alice.token)
        assert status == 200
    status, headers, _ = await api(second, "GET", "/api/rooms/", token=alice.token)
    assert status == 429
    assert int(headers["Retry-After"]) >= 5


async def test_token_requests_are_limited_per_client_address(start_daphne, alice):
    """Password guessing: past the burst, POST /api/auth/token/ answers 429."""
    server = start_daphne(CHAT_AUTH_RATE_BURST="3", CHAT_AUTH_RATE_PER_MINUTE="1")
    wrong = {"username": alice.username, "password": "guess"}
    for _ in range(3):
        status, _, body = await api(server, "POST", "/api/auth/token/", body=wrong)
        assert (status, body["code"]) == (400, "invalid_credentials")
    status, headers, body = await api(server, "POST", "/api/auth/token/", body=wrong)
    assert (status, body["code"]) == (429, "rate_limited")
    assert int(headers["Retry-After"]) >= 30


def _post_form_three_times(server, path: str) -> list[tuple[int, str | None]]:
    """A browser's form posts (with the CSRF token): status, Retry-After."""
    from http.cookiejar import CookieJar
    from urllib.error import HTTPError
    from urllib.parse import urlencode
    from urllib.request import HTTPCookieProcessor, ProxyHandler, Request, build_opener

    jar = CookieJar()
    opener = build_opener(ProxyHandler({}), HTTPCookieProcessor(jar))
    url = f"{server.http_url}{path}"
    with opener.open(url, timeout=20) as response:
        response.read()
    csrf = next(c.value for c in jar if c.name == "csrftoken")
    answers = []
    for i in range(3):
        form = {
            "username": f"spam{i}",
            "password": "guess",
            "password1": "a",
            "password2": "b",  # never valid: nothing is made, no one logs in
            "csrfmiddlewaretoken": csrf,
        }
        request = Request(url, data=urlencode(form).encode(), headers={"Referer": url})  # noqa: S310
        try:
            with opener.open(request, timeout=20) as response:
                answers.append((response.status, None))
        except HTTPError as exc:
            answers.append((exc.code, exc.headers.get("Retry-After")))
            exc.close()
    return answers


@pytest.mark.parametrize("path", ["/accounts/signup/", "/accounts/login/"])
async def test_sign_ups_and_log_ins_are_limited_per_client_address(start_daphne, path):
    """Sign-up spam, password guessing on the page: past the burst, 429."""
    server = start_daphne(CHAT_AUTH_RATE_BURST="2", CHAT_AUTH_RATE_PER_MINUTE="1")
    answers = await asyncio.to_thread(_post_form_three_times, server, path)
    assert [status for status, _ in answers] == [200, 200, 429]
    assert int(answers[2][1]) >= 30


async def admitted_again(server, token: str, within: float = 10) -> bool:
    """Once a closed connection is uncounted (its disconnect handled), a new one
    gets its hello; tried until `within` seconds pass."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        async with connect(
            f"{server.ws_url}/ws/chat/", additional_headers=bearer(token), proxy=None
        ) as ws:
            try:
                frame = await recv_frame(ws)
            except ConnectionClosed:
                assert ws.close_code == 4429
            else:
                return frame["type"] == "hello"
        await asyncio.sleep(0.2)
    return False


async def test_connections_per_user_are_capped(start_daphne, alice, bob):
    """A third connection of one user closes with 4429; others are not counted."""
    server = start_daphne(CHAT_MAX_CONNECTIONS_PER_USER="2")
    url = f"{server.ws_url}/ws/chat/"
    async with (
        open_chat(server, alice.token),
        open_chat(server, alice.token) as second,
        open_chat(server, bob.token),
    ):
        async with connect(url, additional_headers=bearer(alice.token)) as third:
            assert await close_code(third) == 4429
        await second.ws.close()
        assert await admitted_again(server, alice.token)


async def test_connection_cap_holds_across_processes_with_redis(
    start_daphne, alice, settings
):
    """With Redis the cap counts every process: one here, so none there."""
    if not settings.REDIS_URL:
        pytest.skip("several processes need REDIS_URL (the PostgreSQL+Redis run)")
    first = start_daphne(CHAT_MAX_CONNECTIONS_PER_USER="1")
    second = start_daphne(CHAT_MAX_CONNECTIONS_PER_USER="1")
    headers = bearer(alice.token)
    async with (
        open_chat(first, alice.token),
        connect(f"{second.ws_url}/ws/chat/", additional_headers=headers) as ws,
    ):
        assert await close_code(ws) == 4429
    assert await admitted_again(second, alice.token)


# --- sizes ------------------------------------------------------------------------


async def test_oversized_frames_and_empty_frames_get_an_answer(daphne_server, alice):
    """A frame over the app limit: too_long; an empty frame: an error, not silence."""
    async with open_chat(daphne_server, alice.token) as chat:
        await chat.ws.send(json.dumps({"type": "sync", "pad": "x" * 20_000}))
        error = await chat.recv()
        assert (error["type"], error["code"]) == ("error", "too_long")
        await chat.ws.send("")
        assert (await chat.recv())["code"] == "invalid_json"
        await chat.ws.send(b"")
        assert (await chat.recv())["code"] == "invalid_frame"
        body = "x" * 4001
        await chat.send(type="message.send", room="nowhere", body=body, client_id="l")
        assert (await chat.recv())["code"] == "too_long"
        await chat.send(type="sync", after=0)
        await chat.recv_until("sync.done")


async def test_daphne_refuses_a_frame_over_one_mebibyte(daphne_server, alice):
    """daphne's own cap (CVE-2026-44545/44546): a 1.1 MiB frame closes with 1009."""
    async with connect(
        f"{daphne_server.ws_url}/ws/chat/",
        additional_headers=bearer(alice.token),
        max_size=None,
        proxy=None,
    ) as ws:
        await recv_frame(ws)
        await ws.send("x" * (1024 * 1024 + 100_000))
        # autobahn fails the connection: 1009, or 1006 when the client is still
        # writing the frame as the server drops the socket. Never an answer.
        assert await close_code(ws) in {1009, 1006}


def test_http_body_over_the_limit_is_refused(client, alice):
    """An API request body over 64 KiB: 413 too_long, nothing parsed."""
    response = client.post(
        "/api/rooms/lobby/messages/",
        data=json.dumps({"body": "x" * 70_000}),
        content_type="application/json",
        headers=bearer(alice.token),
    )
    assert response.status_code == 413
    assert response.json()["code"] == "too_long"


# --- a client that stops reading ----------------------------------------------------


@pytest.fixture
def big_history(make_room, alice, bob, carol) -> str:
    """A room with 300 messages of 12 KB each (3.6 MB), alice, bob and carol in it."""
    room = make_room("big", members=[alice.user, bob.user, carol.user])
    Message.objects.bulk_create(
        Message(
            conversation=room, sender=alice.user, body="你" * 4000, client_id=f"b{i}"
        )
        for i in range(300)
    )
    return room.slug


def _rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


async def test_a_client_that_stops_reading_is_closed_others_go_on(
    start_daphne, big_history, alice, bob
):
    """A reader that stops: closed (1008) once 1 MiB waits; bob keeps receiving."""
    server = start_daphne(CHAT_SEND_BUFFER_BYTES="1048576", CHAT_RATE_BURST="1000")
    slow = await asyncio.to_thread(
        open_raw,
        server.port,
        "/ws/chat/",
        headers=bearer(bob.token),
        rcvbuf=4096,
    )
    try:
        async with open_chat(server, alice.token) as healthy:
            before = _rss_kib(server.process.pid)
            # Each sync answers 3.6 MB; bob asks ten times and reads none of it.
            for _ in range(10):
                slow.sendall(text_frame('{"type":"sync","after":0,"limit":300}'))
            deadline = time.monotonic() + 30
            while "does not read" not in server.log():
                assert time.monotonic() < deadline, server.log()
                await asyncio.sleep(0.2)
            await healthy.send(
                type="message.send", room=big_history, body="still", client_id="s"
            )
            frames = await healthy.recv_until("message")
            assert frames[-1]["body"] == "still"
            grown = _rss_kib(server.process.pid) - before
        # Everything the server still had for bob: far less than 36 MB asked for.
        drained = await asyncio.to_thread(read_until_closed, slow, 10)
        assert drained < 12 * 1024 * 1024, drained
        assert grown < 64 * 1024, f"daphne grew {grown} KiB"
    finally:
        slow.close()


# --- idle connections -------------------------------------------------------------


async def test_idle_client_that_answers_no_ping_is_closed(start_daphne, alice, bob):
    """No frame and no pong: dropped; a silent client that answers pings stays."""
    server = start_daphne(args=("--ping-interval", "1", "--ping-timeout", "2"))
    dead = await asyncio.to_thread(
        open_raw, server.port, "/ws/chat/", headers=bearer(bob.token)
    )
    try:
        async with open_chat(server, alice.token) as quiet:
            started = time.monotonic()
            await asyncio.to_thread(read_until_closed, dead, 20)
            closed_after = time.monotonic() - started
            assert closed_after < 15
            # alice sent nothing either, but her client answered daphne's pings.
            await quiet.send(type="sync", after=0)
            await quiet.recv_until("sync.done")
    finally:
        dead.close()
