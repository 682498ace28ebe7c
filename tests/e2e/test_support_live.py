"""Customer support against real daphne processes: a visitor of an allowed
origin gets a token and its socket, another origin is refused, with no one
online the first message says `offline` and the leave-a-message form is
stored. Routing across two processes on PostgreSQL + Redis:
tests/multiprocess/test_support.py."""

import asyncio
import json

import pytest
from asgiref.sync import sync_to_async
from websockets.asyncio.client import connect

from chat.models import Message, SupportConversation
from chat.services import support
from tests.live import http_json, recv_frame

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

SHOP = "https://shop.example"


@pytest.fixture
def site(alice, bob):
    return support.create_site(
        name="Shop", origins=[SHOP], agents=[alice.user, bob.user]
    )


def register(server, site, origin=SHOP, **body):
    return http_json(
        "POST",
        f"{server.http_url}/api/support/{site.public_key}/visitors/",
        body=body,
        headers={"Origin": origin},
    )


def visitor_socket(server, site, token, origin=SHOP):
    url = f"{server.ws_url}/ws/visitor/?site={site.public_key}&token={token}"
    return connect(url, origin=origin, proxy=None)


async def test_visitor_offline_then_leaves_a_message(daphne_server, site):
    """Token from an allowed origin; its socket says hello; the first message
    with no agent online is refused `offline`; the form is stored."""
    status, headers, body = await asyncio.to_thread(
        register, daphne_server, site, name="Ann"
    )
    assert status == 201, body
    assert headers.get("Access-Control-Allow-Origin") == SHOP
    async with visitor_socket(daphne_server, site, body["token"]) as ws:
        hello = await recv_frame(ws)
        assert hello["type"] == "hello"
        await ws.send(
            json.dumps({"type": "message.send", "body": "hi", "client_id": "v1"})
        )
        error = await recv_frame(ws)
        assert error["code"] == "offline"
    status, _, left = await asyncio.to_thread(
        http_json,
        "POST",
        f"{daphne_server.http_url}/api/support/{site.public_key}/offline/",
        body={"token": body["token"], "email": "ann@example.com", "body": "Call me"},
        headers={"Origin": SHOP},
    )
    assert status == 201, left
    stored = await sync_to_async(SupportConversation.objects.get)(
        pk=left["conversation"]
    )
    assert stored.offline
    assert await sync_to_async(
        Message.objects.filter(conversation_id=stored.pk, body="Call me").exists
    )()


async def test_other_origin_is_refused_live(daphne_server, site):
    status, _, body = await asyncio.to_thread(
        register, daphne_server, site, origin="https://evil.example"
    )
    assert status == 403
    assert body["code"] == "forbidden"
    _, _, good = await asyncio.to_thread(register, daphne_server, site)
    async with visitor_socket(
        daphne_server, site, good["token"], origin="https://evil.example"
    ) as ws:
        assert (await recv_frame(ws))["code"] == "forbidden"
        with pytest.raises(Exception):  # noqa: B017, PT011 (closed: 4403)
            await recv_frame(ws, timeout=2)
        assert ws.close_code == 4403
