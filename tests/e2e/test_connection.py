"""Connecting to a real daphne: the article's URL, tokens, heartbeats, refusals."""

import asyncio

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from chat.models import Message
from tests.conftest import PASSWORD
from tests.live import (
    bearer,
    close_code,
    log_in,
    message_frame,
    recv_frame,
    recv_until,
)

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

CLOSE_UNAUTHENTICATED = 4401


def article_url(server, person) -> str:
    return f"{server.ws_url}/chat?id={person.id}&token={person.token}"


async def test_article_url_says_hello_then_carries_json_frames(
    daphne_server, alice, lobby
):
    """`/chat?id=<id>&token=<token>` gets its hello, then JSON ack and message."""
    async with connect(article_url(daphne_server, alice), proxy=None) as ws:
        hello = await recv_frame(ws)
        assert hello == {
            "type": "hello",
            "user": alice.payload,
            "heartbeat": 1,
            "last_id": 0,
            "last_change_id": 0,
        }
        await ws.send(
            '{"type":"message.send","room":"lobby","body":"hi","client_id":"a-1"}'
        )
        ack = await recv_frame(ws)
        assert ack == {"type": "ack", "client_id": "a-1", "id": ack["id"]}
        assert isinstance(ack["id"], int)
        assert await recv_frame(ws) == message_frame(
            id=ack["id"],
            room="lobby",
            sender=alice.payload,
            body="hi",
            client_id="a-1",
        )


async def test_heartbeat_pings_keep_a_quiet_socket_alive(daphne_server, alice):
    """Heartbeat 1 s: `ping` keeps coming, each before the client's dead-socket
    limit (2.5 heartbeats); our `ping` gets `pong`. The schedule itself is
    tested on a clock that tests advance (tests/chat/realtime)."""
    async with connect(article_url(daphne_server, alice), proxy=None) as ws:
        assert (await recv_frame(ws))["heartbeat"] == 1
        for _ in range(3):
            assert await recv_frame(ws, timeout=2.5, skip_pings=False) == "ping"
        await ws.send("ping")
        assert await recv_frame(ws) == "pong"


@pytest.fixture
def newest_for_alice(make_room, alice, bob) -> int:
    """The id of the newest message alice may see; a newer one she may not."""
    room = make_room("duo", members=[alice.user, bob.user])
    newest = Message.objects.create(
        conversation=room, sender=bob.user, body="earlier", client_id="b-0"
    )
    elsewhere = make_room("elsewhere", members=[bob.user])
    Message.objects.create(
        conversation=elsewhere, sender=bob.user, body="not hers", client_id="b-1"
    )
    return newest.id


@pytest.mark.parametrize(
    ("path", "credentials"),
    [
        ("/ws/chat/", "header"),
        ("/ws/chat/?token={token}", "query"),
        ("/chat/?id={id}&token={token}", "query"),
    ],
)
async def test_token_forms_say_hello_with_the_newest_visible_id(
    daphne_server, alice, newest_for_alice, path, credentials
):
    """Bearer header, `?token=` and `?id=&token=` each get hello with `last_id`."""
    url = daphne_server.ws_url + path.format(id=alice.id, token=alice.token)
    headers = bearer(alice.token) if credentials == "header" else None
    async with connect(url, additional_headers=headers, proxy=None) as ws:
        assert await recv_frame(ws) == {
            "type": "hello",
            "user": alice.payload,
            "heartbeat": 1,
            "last_id": newest_for_alice,
            "last_change_id": 0,
        }


@pytest.mark.parametrize(
    ("path", "header_token"),
    [
        ("/ws/chat/", None),
        ("/ws/chat/?token=not-a-token", None),
        ("/ws/chat/", "not-a-token"),
        ("/chat?id={other}&token={token}", None),
    ],
    ids=["no-credentials", "bad-query-token", "bad-bearer", "id-not-the-tokens-user"],
)
async def test_bad_credentials_are_closed_with_4401(
    daphne_server, alice, bob, path, header_token
):
    """A missing or wrong token is accepted, then closed with code 4401, no hello."""
    url = daphne_server.ws_url + path.format(other=bob.id, token=alice.token)
    headers = bearer(header_token) if header_token else None
    async with connect(url, additional_headers=headers, proxy=None) as ws:
        assert await close_code(ws) == CLOSE_UNAUTHENTICATED


@pytest.fixture
def erin(make_person):
    """A user who logs in through the log-in page."""
    return make_person("erin", with_password=True)


async def test_session_cookie_from_the_sites_origin_is_served(daphne_server, erin):
    """A logged-in page on an allowed host connects with its session cookie."""
    cookie = await asyncio.to_thread(log_in, daphne_server, erin.username, PASSWORD)
    headers = {"Cookie": cookie, "Origin": daphne_server.http_url}
    async with connect(
        f"{daphne_server.ws_url}/ws/chat/", additional_headers=headers, proxy=None
    ) as ws:
        frames = await recv_until(ws, "hello")
    assert frames == [
        {
            "type": "hello",
            "user": erin.payload,
            "heartbeat": 1,
            "last_id": 0,
            "last_change_id": 0,
        }
    ]


@pytest.mark.parametrize(
    "origin", ["https://evil.example.com", None], ids=["foreign", "missing"]
)
async def test_session_cookie_from_another_origin_is_refused_with_403(
    daphne_server, erin, origin
):
    """The session cookie from a foreign (or no) Origin: handshake refused, 403."""
    cookie = await asyncio.to_thread(log_in, daphne_server, erin.username, PASSWORD)
    headers = {"Cookie": cookie}
    if origin:
        headers["Origin"] = origin
    with pytest.raises(InvalidStatus) as refused:
        async with connect(
            f"{daphne_server.ws_url}/ws/chat/", additional_headers=headers, proxy=None
        ):
            pass
    assert refused.value.response.status_code == 403
