"""The visitor's socket /ws/visitor/ and the agents' support frames on their
usual socket, through the real ASGI stack: a visitor's first message reaches
the agent, queue and agent.joined frames, typing both ways, internal notes
never on the visitor's socket, close, and what a visitor cannot reach."""

import json

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator

from chat.services import support
from chat.services import support_conversations as sc
from chatsite.asgi import application
from tests.chat.communicator import (
    TIMEOUT,
    Person,
    Socket,
    close_thread_connections,
)

from .conftest import SHOP


@pytest.fixture
async def open_visitor(transactional_db):
    opened = []

    async def open_socket(site, token, origin=SHOP, expect_hello=True):
        path = f"/ws/visitor/?site={site.public_key}&token={token}"
        headers = [(b"origin", origin.encode())] if origin else []
        communicator = WebsocketCommunicator(application, path, headers=headers)
        connected, _ = await communicator.connect(TIMEOUT)
        assert connected
        opened.append(communicator)
        if not expect_hello:
            return communicator
        hello = json.loads(await communicator.receive_from(TIMEOUT))
        assert hello["type"] == "hello"
        return Socket(communicator, hello)

    yield open_socket
    for communicator in opened:
        await communicator.disconnect(timeout=TIMEOUT)
    await close_thread_connections()


@pytest.fixture
def li_person(li, make_token):
    return Person(li, make_token(li))


async def visitor_token(site, name="Ann"):
    visitor = await sync_to_async(support.register_visitor)(
        site=site, fields={"name": name}
    )
    return visitor, support.visitor_token(visitor)


async def recv_type(socket, kind):
    """The next frame of this type (skipping others), with a timeout."""
    for _ in range(10):
        frame = await socket.recv()
        if isinstance(frame, dict) and frame.get("type") == kind:
            return frame
    raise AssertionError(f"no {kind} frame")


async def test_wrong_origin_is_refused(site, open_visitor):
    """A page of another origin gets an error and the 4403 close."""
    _, token = await visitor_token(site)
    communicator = await open_visitor(
        site, token, origin="https://evil.example", expect_hello=False
    )
    frame = json.loads(await communicator.receive_from(TIMEOUT))
    assert frame["code"] == "forbidden"
    closed = await communicator.receive_output(TIMEOUT)
    assert closed == {"type": "websocket.close", "code": 4403}


async def test_bad_token_is_refused(site, open_visitor):
    communicator = await open_visitor(site, "nope", expect_hello=False)
    frame = json.loads(await communicator.receive_from(TIMEOUT))
    assert frame["code"] == "forbidden"


async def test_visitor_chats_with_an_agent(site, li, li_person, open_visitor, connect):
    """The visitor's first message reaches li's socket as an offer and a
    message once taken; li's reply and typing reach the visitor; li's note
    never does; close reaches the visitor. li is online because his socket
    is open (real presence, which the test settings turn off: an agent's open
    connection counts all the same, docs/configuration.md)."""
    agent = await connect(li_person)
    visitor, token = await visitor_token(site)
    socket = await open_visitor(site, token)
    await socket.send(
        {"type": "message.send", "body": "Where is my order?", "client_id": "v1"}
    )
    ack = await recv_type(socket, "ack")
    assert ack["client_id"] == "v1"
    queue = await recv_type(socket, "queue")
    assert queue == {"type": "queue", "position": 1, "estimated_wait_seconds": 60}
    started = await recv_type(agent, "support.conversation")
    assert started["conversation"]["status"] == "queued"
    offer = await recv_type(agent, "support.conversation")
    assert offer["conversation"]["status"] == "offered"
    assert offer["conversation"]["offered_to"]["username"] == "li"
    conversation_id = offer["conversation"]["id"]

    await agent.send(
        {
            "type": "support.send",
            "conversation": conversation_id,
            "body": "Li here",
            "client_id": "a1",
        }
    )
    joined = await recv_type(socket, "agent.joined")
    assert joined["agent"] == {"display_name": "Li"}
    message = await recv_type(socket, "message")
    assert message["body"] == "Li here"
    assert message["kind"] == "support"
    assert message["conversation"] == conversation_id
    assert message["sender"]["display_name"] == "Li"

    await socket.send({"type": "typing"})
    typing = await recv_type(agent, "typing")
    assert typing["conversation"] == conversation_id
    assert typing["user"]["display_name"] == "Ann"
    await agent.send({"type": "support.typing", "conversation": conversation_id})
    assert (await recv_type(socket, "typing"))["user"]["display_name"] == "Li"

    await sync_to_async(sc.add_note)(
        agent=li, conversation_id=conversation_id, body="VIP customer"
    )
    note = await recv_type(agent, "support.note")
    assert note["note"]["body"] == "VIP customer"
    await sync_to_async(sc.close)(agent=li, conversation_id=conversation_id)
    closed = await recv_type(socket, "conversation.closed")
    assert closed["conversation"] == conversation_id
    # Nothing of the note came before the close, nor comes after it.
    await socket.assert_silent()


async def test_visitor_note_never_arrives_anywhere_on_its_socket(
    site, li, online, open_visitor
):
    """Every frame a visitor's socket gets during a note: none mentions it."""
    online.set(li)
    visitor, token = await visitor_token(site)
    socket = await open_visitor(site, token)
    await socket.send({"type": "message.send", "body": "hi", "client_id": "v1"})
    await recv_type(socket, "ack")
    found = await sync_to_async(sc.open_of)(visitor)
    await sync_to_async(sc.take)(agent=li, conversation_id=found.pk)
    await sync_to_async(sc.add_note)(
        agent=li, conversation_id=found.pk, body="zzsecret"
    )
    frames = []
    while not await socket.communicator.receive_nothing(0.3):
        frames.append(await socket.communicator.receive_from(TIMEOUT))
    assert frames
    assert not any("zzsecret" in text for text in frames)
    await socket.send({"type": "sync", "after": 0})
    texts = []
    while True:
        text = await socket.communicator.receive_from(TIMEOUT)
        texts.append(text)
        if '"sync.done"' in text:
            break
    assert not any("zzsecret" in text for text in texts)
    assert any('"hi"' in text for text in texts)


async def test_visitor_reaches_nothing_else(site, li, online, open_visitor, make_room):
    """room.join, a message to a room or to a user: refused."""
    await sync_to_async(make_room)("lobby", owner=li)
    online.set(li)
    _, token = await visitor_token(site)
    socket = await open_visitor(site, token)
    await socket.send({"type": "room.join", "room": "lobby"})
    assert (await socket.recv())["code"] == "unknown_type"
    await socket.send(
        {"type": "message.send", "room": "lobby", "body": "x", "client_id": "r"}
    )
    assert (await socket.recv())["code"] == "invalid"
    await socket.send(
        {"type": "message.send", "to": "li", "body": "x", "client_id": "d"}
    )
    assert (await socket.recv())["code"] == "invalid"


async def test_offline_refusal(site, online, open_visitor):
    """No agent online: the first message is refused with `offline`."""
    _, token = await visitor_token(site)
    socket = await open_visitor(site, token)
    await socket.send({"type": "message.send", "body": "hi", "client_id": "v1"})
    error = await socket.recv()
    assert error["code"] == "offline"
    assert error["client_id"] == "v1"


async def test_reconnect_tells_queue_place(site, li, online, open_visitor):
    """A new tab of the same visitor hears its queue place after hello."""
    online.set(li)
    _, token = await visitor_token(site)
    socket = await open_visitor(site, token)
    await socket.send({"type": "message.send", "body": "hi", "client_id": "v1"})
    await recv_type(socket, "ack")
    again = await open_visitor(site, token)
    assert (await again.recv())["type"] == "queue"


async def frames_for(socket, seconds: float = 0.3) -> list:
    found = []
    while not await socket.communicator.receive_nothing(seconds):
        found.append(await socket.recv())
    return found


async def test_visitor_typing_reads_the_conversation_once_per_connection(
    site, li, wu, li_person, make_token, open_visitor, connect, monkeypatch
):
    """Typing frames reach the agent with one read of the conversation per
    connection; a transfer or a close (told to the visitor) makes the next
    frame read it again: typing then goes to the new agent, then to no one."""
    reads = []
    real = sc.visitor_typing_targets

    def counted(visitor):
        reads.append(visitor.pk)
        return real(visitor)

    monkeypatch.setattr(sc, "visitor_typing_targets", counted)
    li_socket = await connect(li_person)
    wu_socket = await connect(Person(wu, await sync_to_async(make_token)(wu)))
    visitor, token = await visitor_token(site)
    socket = await open_visitor(site, token)
    await socket.send({"type": "message.send", "body": "hi", "client_id": "v1"})
    await recv_type(socket, "ack")
    found = await sync_to_async(sc.open_of)(visitor)
    await sync_to_async(sc.take)(agent=li, conversation_id=found.pk)
    await recv_type(socket, "agent.joined")
    await frames_for(li_socket)
    for _ in range(3):
        await socket.send({"type": "typing"})
        assert (await recv_type(li_socket, "typing"))["conversation"] == found.pk
    assert len(reads) == 1

    await sync_to_async(sc.transfer)(agent=li, conversation_id=found.pk, to="wu")
    assert (await recv_type(socket, "agent.joined"))["agent"] == {"display_name": "Wu"}
    await frames_for(li_socket)
    await frames_for(wu_socket)
    await socket.send({"type": "typing"})
    await socket.send({"type": "typing"})
    typed = [f for f in await frames_for(wu_socket) if f.get("type") == "typing"]
    assert len(typed) == 2
    assert not [f for f in await frames_for(li_socket) if f.get("type") == "typing"]
    assert len(reads) == 2

    await sync_to_async(sc.close)(agent=wu, conversation_id=found.pk)
    await recv_type(socket, "conversation.closed")
    await frames_for(wu_socket)
    await socket.send({"type": "typing"})
    await socket.send({"type": "typing"})
    assert not [f for f in await frames_for(wu_socket) if f.get("type") == "typing"]
    assert len(reads) == 3
