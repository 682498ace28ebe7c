"""Customer support across two daphne processes on PostgreSQL + Redis: the
offer goes to an online agent, passes to the other after the accept timeout,
and the visitor on the first process hears the agent of the second."""

import asyncio
import json

import pytest

from chat.services import support
from tests.e2e.test_support_live import SHOP, register, visitor_socket
from tests.live import http_json, open_chat, recv_frame, recv_until

from .support import SERVICES_ONLY

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True), SERVICES_ONLY]

# Who is online is presence's: each agent's socket leaves a record in Redis,
# which the routing on either process reads.
PRESENCE = {"CHAT_PRESENCE_ENABLED": "1", "CHAT_PRESENCE_GRACE_SECONDS": "1"}


@pytest.fixture
def site(alice, bob):
    return support.create_site(
        name="Shop", origins=[SHOP], agents=[alice.user, bob.user]
    )


async def test_routing_and_accept_timeout_across_processes(
    start_daphnes, site, alice, bob
):
    """alice on one process, bob on another, the visitor on the first: the
    offer goes to one agent, passes to the other after the accept timeout,
    who takes it by replying; the visitor sees agent.joined and the reply."""
    one, two = start_daphnes(2, SUPPORT_ACCEPT_SECONDS="1", **PRESENCE)
    async with open_chat(one, alice.token) as a, open_chat(two, bob.token) as b:
        _, _, body = await asyncio.to_thread(register, one, site, name="Ann")
        async with visitor_socket(one, site, body["token"]) as ws:
            await recv_frame(ws)
            await ws.send(
                json.dumps({"type": "message.send", "body": "hi", "client_id": "v1"})
            )
            frames = await recv_until(ws, "queue")
            assert frames[-1]["position"] == 1

            async def offered(chat, name):
                for frame in await chat.recv_until("support.conversation", timeout=10):
                    if frame.get("type") == "support.conversation":
                        conversation = frame["conversation"]
                        if (conversation.get("offered_to") or {}).get(
                            "username"
                        ) == name:
                            return conversation
                return await offered(chat, name)

            first = await asyncio.wait_for(offered(a, "alice"), 10)
            second = await asyncio.wait_for(offered(b, "bob"), 10)
            assert first["id"] == second["id"]
            await b.send(
                type="support.send",
                conversation=second["id"],
                body="Bob here",
                client_id="b1",
            )
            joined = await recv_until(ws, "agent.joined", timeout=10)
            assert joined[-1]["agent"] == {"display_name": "bob"}
            message = await recv_until(ws, "message", timeout=10)
            assert message[-1]["body"] == "Bob here"


async def support_frames(chat, seconds: float) -> list[dict]:
    """The `support.conversation` payloads `chat` gets within `seconds`."""
    found = []
    deadline = asyncio.get_running_loop().time() + seconds
    while (left := deadline - asyncio.get_running_loop().time()) > 0:
        try:
            frame = await chat.recv(timeout=left)
        except TimeoutError:
            break
        if isinstance(frame, dict) and frame.get("type") == "support.conversation":
            found.append(frame["conversation"])
    return found


async def offer_of(chat, name: str, timeout: float = 10) -> dict:
    """The next `support.conversation` offered to `name`."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        left = deadline - asyncio.get_running_loop().time()
        assert left > 0, f"no offer to {name}"
        for conversation in await support_frames(chat, min(left, 0.5)):
            if (conversation.get("offered_to") or {}).get("username") == name:
                return conversation


@pytest.fixture
def small_site(alice):
    return support.create_site(
        name="Shop", origins=[SHOP], agents=[alice.user], capacity=1
    )


async def test_capacity_holds_across_processes_and_a_close_offers_the_next(
    start_daphnes, small_site, alice
):
    """Capacity 1; alice (the one agent) on process 2, the visitors on 1, with
    CHAT_PRESENCE_ENABLED off (her open socket counts all the same): Ann's
    chat is offered to her and taken; Bo's waits, offered to no one, across
    sweeps; alice closes Ann's over HTTP on process 1 and Bo's is offered to
    her on process 2."""
    site = small_site
    one, two = start_daphnes(2, SUPPORT_ACCEPT_SECONDS="4", CHAT_PRESENCE_ENABLED="0")
    async with open_chat(two, alice.token) as a:
        _, _, ann = await asyncio.to_thread(register, one, site, name="Ann")
        _, _, bo = await asyncio.to_thread(register, one, site, name="Bo")
        async with (
            visitor_socket(one, site, ann["token"]) as ann_ws,
            visitor_socket(one, site, bo["token"]) as bo_ws,
        ):
            await recv_frame(ann_ws)
            await recv_frame(bo_ws)
            await ann_ws.send(
                json.dumps({"type": "message.send", "body": "hi", "client_id": "v1"})
            )
            first = await offer_of(a, "alice")
            await a.send(
                type="support.send", conversation=first["id"], body="Hi", client_id="a1"
            )
            await recv_until(ann_ws, "agent.joined", timeout=10)

            await bo_ws.send(
                json.dumps({"type": "message.send", "body": "bo", "client_id": "v2"})
            )
            assert (await recv_until(bo_ws, "queue", timeout=10))[-1]["position"] == 1
            # Several sweeps (every second with a 4 s accept timeout): no offer.
            seen = await support_frames(a, 3.0)
            waiting = [c for c in seen if c["id"] != first["id"]]
            assert waiting, seen
            assert {c["status"] for c in waiting} == {"queued"}
            assert all(c["offered_to"] is None for c in waiting)

            status, _, closed = await asyncio.to_thread(
                http_json,
                "POST",
                f"{one.http_url}/api/support/conversations/{first['id']}/close/",
                token=alice.token,
                body={},
            )
            assert status == 200, closed
            assert closed["conversation"]["status"] == "closed"
            offered = await offer_of(a, "alice")
            assert offered["id"] == waiting[0]["id"]
            assert offered["visitor"]["display_name"] == "Bo"
            assert (await recv_until(ann_ws, "conversation.closed"))[-1][
                "conversation"
            ] == first["id"]
