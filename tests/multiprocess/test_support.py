"""Customer support across two daphne processes on PostgreSQL + Redis: the
offer goes to an online agent, passes to the other after the accept timeout,
and the visitor on the first process hears the agent of the second."""

import asyncio
import json

import pytest

from chat.services import support
from tests.e2e.test_support_live import SHOP, register, visitor_socket
from tests.live import open_chat, recv_frame, recv_until

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
