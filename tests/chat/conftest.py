"""People with tokens, a room, and sockets for the consumer tests (tests/chat)."""

import asyncio
import json

import pytest
from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator
from django.db import connections

from chatsite.asgi import application
from tests.chat.communicator import (
    TIMEOUT,
    Person,
    Socket,
    close_thread_connections,
)


@pytest.fixture
def person(make_user, make_token):
    def make(username: str) -> Person:
        user = make_user(username)
        return Person(user, make_token(user))

    return make


@pytest.fixture
def alice(person):
    return person("alice")


@pytest.fixture
def bob(person):
    return person("bob")


@pytest.fixture
def carol(person):
    return person("carol")


@pytest.fixture
def dave(person):
    return person("dave")


@pytest.fixture
def lobby(make_room, alice, bob):
    """A public room of alice's, with bob in it."""
    return make_room("lobby", owner=alice.user, members=[bob.user])


@pytest.fixture
async def connect(transactional_db):
    """Open a socket as a person (after its hello); all are closed after the test."""
    opened: list[WebsocketCommunicator] = []

    async def open_socket(who: Person, path: str = "/ws/chat/") -> Socket:
        communicator = WebsocketCommunicator(application, f"{path}?token={who.token}")
        connected, _ = await communicator.connect(TIMEOUT)
        assert connected
        opened.append(communicator)
        hello = json.loads(await communicator.receive_from(TIMEOUT))
        assert hello["type"] == "hello"
        return Socket(communicator, hello)

    yield open_socket
    for communicator in opened:
        await communicator.disconnect(timeout=TIMEOUT)
    await close_thread_connections()


@pytest.fixture
async def listener():
    """A channel-layer channel that joins the groups a test names; reads with a
    timeout (the services' and the writer's tests)."""
    layer = get_channel_layer()
    channel = await layer.new_channel()
    joined = []

    class Listener:
        async def join(self, group: str) -> None:
            await layer.group_add(group, channel)
            joined.append(group)

        async def receive(self) -> dict:
            return await asyncio.wait_for(layer.receive(channel), TIMEOUT)

        async def assert_nothing(self) -> None:
            with pytest.raises(TimeoutError):
                await asyncio.wait_for(layer.receive(channel), 0.2)

    yield Listener()
    for group in joined:
        await layer.group_discard(group, channel)
    await sync_to_async(connections.close_all)()
