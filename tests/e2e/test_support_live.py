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
from tests.e2e.test_uploads_live import multipart
from tests.e2e.test_uploads_live import upload as upload_as_member
from tests.live import http_json, open_chat, recv_frame, recv_until

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


def visitor_upload(server, site, token, name, content):
    body, headers = multipart(name, content)
    return http_json(
        "POST",
        f"{server.http_url}/api/support/{site.public_key}/uploads/",
        raw=body,
        headers={**headers, "Origin": SHOP, "Authorization": f"Bearer {token}"},
    )


def visitor_download(server, site, url, token):
    path = url.replace("/api/uploads/", f"/api/support/{site.public_key}/uploads/")
    return http_json(
        "GET", f"{server.http_url}{path}", headers={"Authorization": f"Bearer {token}"}
    )


async def wait_open(server, site, timeout: float = 10) -> None:
    """Until the widget's config says an agent is online (presence is live)."""
    url = f"{server.http_url}/api/support/{site.public_key}/"
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        _, _, config = await asyncio.to_thread(http_json, "GET", url)
        if config.get("open"):
            return
        assert asyncio.get_running_loop().time() < deadline, config
        await asyncio.sleep(0.1)


async def test_files_both_ways_on_the_visitor_socket(
    start_daphne, tmp_path, site, alice, bob, dave
):
    """The visitor uploads with their token and sends it on `message.send`;
    the team downloads it, a stranger gets 404; the agent's file reaches the
    visitor's socket and the visitor downloads it with their token."""
    server = await sync_to_async(start_daphne)(
        CHAT_PRESENCE_ENABLED="1", CHAT_MEDIA_ROOT=str(tmp_path)
    )
    async with open_chat(server, alice.token) as agent:
        await wait_open(server, site)
        _, _, visitor = await asyncio.to_thread(register, server, site, name="Ann")
        token = visitor["token"]
        status, _, file = await asyncio.to_thread(
            visitor_upload, server, site, token, "order.txt", b"order 42\n"
        )
        assert status == 201, file
        async with visitor_socket(server, site, token) as ws:
            assert (await recv_frame(ws))["type"] == "hello"
            await ws.send(
                json.dumps(
                    {
                        "type": "message.send",
                        "body": "See attached",
                        "client_id": "v-file",
                        "attachments": [file["id"]],
                    }
                )
            )
            ack = (await recv_until(ws, "ack"))[-1]
            own = (await recv_until(ws, "message"))[-1]
            assert [a["id"] for a in own["attachments"]] == [file["id"]]
            frames = await agent.recv_until("support.conversation")
            pk = frames[-1]["conversation"]["id"]
            assert ack["client_id"] == "v-file"
            status, _, taken = await asyncio.to_thread(
                http_json,
                "POST",
                f"{server.http_url}/api/support/conversations/{pk}/take/",
                token=alice.token,
            )
            assert status == 200, taken
            status, _, detail = await asyncio.to_thread(
                http_json,
                "GET",
                f"{server.http_url}/api/support/conversations/{pk}/",
                token=alice.token,
            )
            shown = detail["messages"][0]["attachments"]
            assert [a["name"] for a in shown] == ["order.txt"]
            for person, expected in ((alice, 200), (bob, 200), (dave, 404)):
                status, _, text = await asyncio.to_thread(
                    http_json,
                    "GET",
                    f"{server.http_url}{file['url']}",
                    token=person.token,
                )
                assert status == expected, person
                if expected == 200:
                    assert text == "order 42\n"
            status, _, reply_file = await asyncio.to_thread(
                upload_as_member, server, alice.token, "receipt.txt", b"paid\n"
            )
            assert status == 201, reply_file
            await agent.send(
                type="support.send",
                conversation=pk,
                body="Your receipt",
                client_id="a-file",
                attachments=[reply_file["id"]],
            )
            message = (await recv_until(ws, "message"))[-1]
            assert message["body"] == "Your receipt"
            assert [a["name"] for a in message["attachments"]] == ["receipt.txt"]
            status, _, text = await asyncio.to_thread(
                visitor_download, server, site, message["attachments"][0]["url"], token
            )
            assert (status, text) == (200, "paid\n")
            other = await asyncio.to_thread(register, server, site, name="Bo")
            status, _, _ = await asyncio.to_thread(
                visitor_download, server, site, file["url"], other[2]["token"]
            )
            assert status == 404
