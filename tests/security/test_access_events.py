"""The consumer's side of losing access, through the ASGI stack (in-process)."""

import json

import pytest
from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator
from django.db import connections

from accounts.access import CLOSE_FORBIDDEN, CLOSE_UNAUTHENTICATED
from accounts.models import ApiToken
from chat import events
from chat.models import Message
from chatsite.asgi import application

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def alice(make_user, make_token, make_room):
    user = make_user("alice")
    make_room("lobby", members=[user])
    token = make_token(user)
    row = ApiToken.objects.get(prefix=token.split(".")[0])
    other = make_token(user)
    return user, token, row.pk, other


async def open_socket(token: str) -> WebsocketCommunicator:
    communicator = WebsocketCommunicator(application, f"/ws/chat/?token={token}")
    connected, _ = await communicator.connect(5)
    assert connected
    assert json.loads(await communicator.receive_from(5))["type"] == "hello"
    return communicator


def stored() -> int:
    count = Message.objects.count()
    connections.close_all()
    return count


@pytest.mark.parametrize(
    ("which", "code"),
    [("token", CLOSE_UNAUTHENTICATED), ("account", CLOSE_FORBIDDEN)],
)
async def test_after_losing_access_nothing_more_is_handled(alice, which, code):
    """Closed for lost access: frames still in flight are ignored, not stored."""
    user, token, token_id, _ = alice
    socket = await open_socket(token)
    await get_channel_layer().group_send(
        events.user_group(user.pk),
        {
            "type": events.ACCESS_LOST,
            "code": code,
            "token_id": token_id if which == "token" else None,
            "session": None,
        },
    )
    assert await socket.receive_output(5) == {"type": "websocket.close", "code": code}
    await socket.send_to(
        text_data=json.dumps(
            {"type": "message.send", "room": "lobby", "body": "late", "client_id": "x"}
        )
    )
    assert await socket.receive_nothing(0.5)
    assert await sync_to_async(stored)() == 0
    await socket.disconnect()
    await sync_to_async(connections.close_all)()


async def test_another_tokens_loss_leaves_the_connection(alice):
    """An event about another token of the same user: this socket stays."""
    user, _, token_id, other = alice
    socket = await open_socket(other)
    await get_channel_layer().group_send(
        events.user_group(user.pk),
        {
            "type": events.ACCESS_LOST,
            "code": CLOSE_UNAUTHENTICATED,
            "token_id": token_id,
            "session": None,
        },
    )
    await socket.send_to(text_data="ping")
    assert await socket.receive_from(5) == "pong"
    await socket.disconnect()
    await sync_to_async(connections.close_all)()
