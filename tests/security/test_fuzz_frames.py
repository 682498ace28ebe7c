"""Arbitrary frames thrown at the consumer (hypothesis).

Any JSON, wrong types, huge numbers (1e400, thousands of digits, NaN), nesting
thousands deep, odd Unicode, binary: each frame gets an
`error` frame or a valid answer, the connection survives (a `ping` sent after
every frame is answered), and the database holds exactly the messages that
were acknowledged. The bulk runs through channels' communicator (the whole
ASGI stack, fast); a smaller run goes through a real daphne, DEBUG off and on.
"""

import asyncio
import json

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.db import connections
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from websockets.asyncio.client import connect

from chat.models import Message
from chatsite.asgi import application
from tests.live import bearer, recv_frame

pytestmark = pytest.mark.django_db(transaction=True)

ANSWERS = {"error", "ack", "message", "sync.done", "room.joined", "room.left"}
ERROR_CODES = {
    "invalid_json",
    "invalid_frame",
    "invalid",
    "unknown_type",
    "empty",
    "too_long",
    "not_found",
    "forbidden",
}
TYPES = ["message.send", "sync", "room.join", "room.leave"]

scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**80), max_value=2**80)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=20)
)
json_values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=8,
)
frames = st.fixed_dictionaries(
    {"type": st.sampled_from(TYPES) | json_values},
    optional={
        "room": st.sampled_from(["lobby", "nowhere", "", "LOBBY"]) | json_values,
        "to": st.sampled_from(["bob", "alice", "nobody", ""]) | json_values,
        "body": st.text(max_size=30)
        | st.sampled_from(["x" * 4001, " \t\n", "你吃饭了没?", "\x00"])
        | json_values,
        "client_id": st.text(max_size=70) | json_values,
        "after": st.integers(min_value=-5, max_value=2**64) | json_values,
        "limit": st.integers(min_value=-5, max_value=10**6) | json_values,
    },
)
client_ids = st.none() | st.text(max_size=70) | st.sampled_from(["c1", "c2"])
# Close to valid, so that messages are stored too (and retried by client_id).
plausible = st.one_of(
    st.builds(
        lambda where, body, client_id: {
            "type": "message.send",
            **where,
            "body": body,
            **({} if client_id is None else {"client_id": client_id}),
        },
        st.sampled_from([{"room": "lobby"}, {"to": "bob"}, {"room": "lobby", "to": 1}]),
        st.text(min_size=1, max_size=40),
        client_ids,
    ),
    st.fixed_dictionaries(
        {
            "type": st.just("sync"),
            "after": st.integers(0, 2**63),
            "limit": st.integers(1, 600),
        }
    ),
    st.sampled_from(
        [
            {"type": "room.join", "room": "lobby"},
            {"type": "room.leave", "room": "lobby"},
        ]
    ),
)
# JSON Python's reader trips on: nesting past the server's 32 levels (up to a
# RecursionError), numbers out of range or of thousands of digits, NaN.
nested = st.integers(min_value=33, max_value=2600).flatmap(
    lambda depth: st.sampled_from(
        [
            "[" * depth + "]" * depth,
            '{"a":' * depth + "1" + "}" * depth,
            '{"type": "sync", "after": ' + "[" * depth + "]" * depth + "}",
        ]
    )
)
huge_numbers = st.sampled_from(
    ["1e400", "-1e400", "NaN", "Infinity", "-Infinity"]
) | st.integers(min_value=4301, max_value=12000).map(lambda digits: "9" * digits)
unreadable = nested | st.tuples(
    st.sampled_from(["after", "limit", "body", "room", "client_id", "type"]),
    huge_numbers,
).map(lambda pair: '{"type": "sync", "%s": %s}' % pair)  # noqa: UP031 - JSON text
# What goes over the wire: a frame object, any JSON, any text, or bytes.
wire = (
    unreadable
    | plausible.map(json.dumps)
    | frames.map(json.dumps)
    | json_values.map(json.dumps)
    | st.text(max_size=60).filter(lambda t: t not in {"ping", "pong"})
    | st.binary(max_size=60)
)


def bounded(examples: int) -> settings:
    """Repeatable runs of a fixed size, no example database left behind."""
    return settings(
        max_examples=examples,
        derandomize=True,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )


@pytest.fixture(autouse=True)
def _roomy_limits(settings):
    settings.CHAT_RATE_BURST = 10**9
    settings.CHAT_HEARTBEAT_SECONDS = 3600


@pytest.fixture
def alice(make_user, make_token, make_room):
    user = make_user("alice")
    make_user("bob")
    make_room("lobby", members=[user])
    return user, make_token(user)


def check_answer(frame, acked: dict) -> None:
    """One server frame: a known answer, well formed."""
    assert isinstance(frame, dict), frame
    assert frame["type"] in ANSWERS, frame
    if frame["type"] == "error":
        assert frame["code"] in ERROR_CODES, frame
        assert isinstance(frame["detail"], str)
        client_id = frame["client_id"]
        assert client_id is None or (
            isinstance(client_id, str) and len(client_id) <= 64
        )
    elif frame["type"] == "ack":
        acked[frame["id"]] = frame["client_id"]
    elif frame["type"] == "message":
        assert frame["id"] in acked, frame  # live: only what was acknowledged


def stored_ids(user) -> set[int]:
    ids = set(Message.objects.filter(sender=user).values_list("id", flat=True))
    connections.close_all()
    return ids


class ChannelsSocket:
    """The communicator as a socket: text or bytes out, parsed frames in."""

    def __init__(self, token: str):
        self.communicator = WebsocketCommunicator(
            application, f"/ws/chat/?token={token}"
        )

    async def open(self) -> dict:
        connected, _ = await self.communicator.connect(10)
        assert connected
        return json.loads(await self.communicator.receive_from(10))

    async def send(self, item) -> None:
        # The communicator cannot send an empty frame (the daphne run does).
        if isinstance(item, bytes):
            await self.communicator.send_to(bytes_data=item or b"\x00")
        else:
            await self.communicator.send_to(text_data=item or " ")

    async def recv(self):
        text = await self.communicator.receive_from(10)
        return json.loads(text) if text.startswith("{") else text

    async def close(self) -> None:
        await self.communicator.disconnect()
        await sync_to_async(connections.close_all)()


class DaphneSocket:
    """A websockets client of a real daphne."""

    def __init__(self, server, token: str):
        self.server, self.token = server, token

    async def open(self) -> dict:
        self.ws = await connect(
            f"{self.server.ws_url}/ws/chat/",
            additional_headers=bearer(self.token),
            proxy=None,
            max_size=None,
        )
        return await recv_frame(self.ws)

    async def send(self, item) -> None:
        if isinstance(item, str):
            # A browser cannot send lone surrogates: they are not UTF-8.
            item = item.encode("utf-8", "replace").decode()
        await self.ws.send(item)

    async def recv(self):
        return await recv_frame(self.ws, 10)

    async def close(self) -> None:
        await self.ws.close()


async def answers_to(socket, item, acked: dict) -> None:
    """Send one item, then `ping`: everything before the `pong` answers it."""
    await socket.send(item)
    await socket.send("ping")
    answers = []
    while (frame := await socket.recv()) != "pong":
        answers.append(frame)
    for frame in answers:
        check_answer(frame, acked)
    # At least one answer of its own (live `message` frames may be anyone's).
    assert [f for f in answers if f["type"] != "message"], item


def fuzz(socket, user, examples: int) -> None:
    """Run `examples` batches of random items through `socket`, then check the DB."""
    loop = asyncio.new_event_loop()
    acked: dict[int, str] = {}
    try:
        assert loop.run_until_complete(socket.open())["type"] == "hello"

        @bounded(examples)
        @given(batch=st.lists(wire, min_size=1, max_size=5))
        def run(batch):
            for item in batch:
                loop.run_until_complete(answers_to(socket, item, acked))

        run()
        # Live copies of the last messages may still be on their way.
        loop.run_until_complete(socket.send("ping"))
        while (frame := loop.run_until_complete(socket.recv())) != "pong":
            check_answer(frame, acked)
        assert stored_ids(user) == set(acked)
    finally:
        loop.run_until_complete(socket.close())
        loop.close()


def test_fuzzed_frames_through_the_asgi_stack(alice):
    """300 batches of random frames: answered, alive, the DB holds the acked only."""
    user, token = alice
    fuzz(ChannelsSocket(token), user, examples=300)


@pytest.mark.e2e
@pytest.mark.parametrize("debug", ["0", "1"], ids=["debug_off", "debug_on"])
def test_fuzzed_frames_through_a_real_daphne(start_daphne, alice, debug):
    """The same over the network: daphne's framing and UTF-8 checks in the path."""
    user, token = alice
    server = start_daphne(
        DEBUG=debug, CHAT_RATE_BURST="1000000", CHAT_HEARTBEAT_SECONDS="3600"
    )
    fuzz(DaphneSocket(server, token), user, examples=40)


def test_unreadable_json_frames_are_invalid_json(alice):
    """Only nesting and numbers out of reach: each gets `invalid_json`, alive after."""
    user, token = alice
    socket = ChannelsSocket(token)
    loop = asyncio.new_event_loop()
    try:
        assert loop.run_until_complete(socket.open())["type"] == "hello"

        @bounded(80)
        @given(item=unreadable)
        def run(item):
            loop.run_until_complete(socket.send(item))
            error = loop.run_until_complete(socket.recv())
            assert error["type"] == "error", error
            assert error["code"] in {"invalid_json", "too_long"}, (error, item[:40])
            loop.run_until_complete(socket.send("ping"))
            assert loop.run_until_complete(socket.recv()) == "pong"

        run()
    finally:
        loop.run_until_complete(socket.close())
        loop.close()
