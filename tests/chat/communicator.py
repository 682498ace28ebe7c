"""Sockets through the whole ASGI stack (channels' WebsocketCommunicator), as
the consumer tests use them: a person with a token, and a socket that reads frames
as dicts."""

import asyncio
import json
from dataclasses import dataclass

from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.db import connections

from accounts.models import User

TIMEOUT = 5
SILENCE = 0.2


async def close_thread_connections() -> None:
    """Close what the consumer opened in its database thread.

    channels' communicator keeps database_sync_to_async from closing connections
    (for TestCase transactions); one left open blocks PostgreSQL's teardown.
    """
    await sync_to_async(connections.close_all)()


@dataclass
class Person:
    user: User
    token: str

    @property
    def public(self) -> dict:
        return {"id": self.user.pk, "username": self.user.username}


class Socket:
    """One client connection: sends dicts, reads frames as dicts (text otherwise)."""

    def __init__(self, communicator: WebsocketCommunicator, hello: dict):
        self.communicator = communicator
        self.hello = hello

    async def send(self, frame: dict) -> None:
        await self.communicator.send_json_to(frame)

    async def send_text(self, text: str) -> None:
        await self.communicator.send_to(text_data=text)

    async def recv(self):
        text = await self.communicator.receive_from(TIMEOUT)
        return json.loads(text) if text.startswith("{") else text

    async def recv_many(self, count: int) -> list:
        return [await self.recv() for _ in range(count)]

    async def assert_silent(self) -> None:
        if not await self.communicator.receive_nothing(SILENCE):
            raise AssertionError(f"expected no frame, got {await self.recv()!r}")

    async def expect_only(self, *frames) -> None:
        """The next frames are exactly these, and nothing follows them."""
        assert await self.recv_many(len(frames)) == list(frames)
        await self.assert_silent()

    async def still_works(self) -> None:
        await self.send_text("ping")
        assert await self.recv() == "pong"


async def assert_all_silent(*sockets: Socket) -> None:
    await asyncio.gather(*(socket.assert_silent() for socket in sockets))
