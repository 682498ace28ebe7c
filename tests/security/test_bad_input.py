"""Inputs that must never give a 5xx or a traceback, on a real daphne, DEBUG on and off.

Deeply nested JSON and huge numbers on every JSON endpoint and in WebSocket
frames, a body over the size limit, a WebSocket handshake to a path that is not
served. Each answer is the documented 4xx (or `error` frame), and the server's
log holds one line at most for it, never a traceback.
"""

import asyncio
import json
import re

import pytest
from drf_spectacular.generators import SchemaGenerator
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from tests.live import DaphneServer, bearer, http_json, open_chat, recv_frame

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

ACCESS_LINE = re.compile(r'^\S+:\d+ - - \[[^\]]+\] "')

# Bodies Python's decoder fails on (RecursionError), or reads as inf/NaN, or
# refuses with a message about an interpreter setting.
BAD_JSON = {
    "list_5000_deep": b"[" * 5000 + b"]" * 5000,
    "object_5000_deep": b'{"a":' * 5000 + b"1" + b"}" * 5000,
    "mixed_3000_deep": b'[{"a":' * 3000 + b"1" + b"}]" * 3000,
    "object_40_deep": b'{"a":' * 40 + b"1" + b"}" * 40,
    "field_deep": b'{"username":' + b"[" * 5000 + b"]" * 5000 + b"}",
    "1e400": b'{"username": 1e400, "password": "x"}',
    "minus_1e400": b'{"id": -1e400}',
    "digits_5000": b'{"id": ' + b"9" * 5000 + b"}",
    "NaN": b'{"id": NaN}',
    "Infinity": b'{"id": Infinity}',
}
LIMIT = 65536


def body_operations() -> list[tuple[str, str, bool]]:
    """(method, path, reads JSON) of every operation but GET, from the schema."""
    spec = SchemaGenerator().get_schema(request=None, public=True)
    found = []
    for path, methods in spec["paths"].items():
        for method, operation in methods.items():
            if method != "get":
                url = (
                    path.replace("{slug}", "fuzzroom")
                    .replace("{username}", "bob")
                    .replace("{message_id}", "1")
                    .replace("{emoji}", "%F0%9F%91%8D")
                    .replace("{code}", "nocode")
                    .replace("{report_id}", "1")
                    .replace("{public_key}", "site_none")
                    .replace("{id}", "1")
                )
                content = operation.get("requestBody", {}).get("content", {})
                found.append((method.upper(), url, "application/json" in content))
    return found


@pytest.fixture(scope="module", params=["0", "1"], ids=["debug_off", "debug_on"])
def server(request, django_db_setup, tmp_path_factory):
    """A daphne with DEBUG off, then one with DEBUG on (as under `make run`)."""
    log = tmp_path_factory.mktemp("bad-input") / "daphne.log"
    started = DaphneServer(log, DEBUG=request.param).start()
    yield started
    started.stop()


@pytest.fixture
def world(make_person, make_room):
    """alice, in the room `fuzzroom`; bob, to talk to."""
    alice = make_person("alice")
    make_person("bob")
    make_room("fuzzroom", members=[alice.user])
    return alice


class LogWatch:
    """What the server logged since the watch began (access-log lines aside)."""

    def __init__(self, server: DaphneServer):
        self.server = server
        self.offset = server.log_path.stat().st_size

    def lines(self) -> list[str]:
        with self.server.log_path.open("rb") as log:
            log.seek(self.offset)
            text = log.read().decode(errors="replace")
        return [
            line for line in text.splitlines() if line and not ACCESS_LINE.match(line)
        ]

    def assert_at_most_one_line(self) -> None:
        lines = self.lines()
        assert "Traceback" not in "\n".join(lines), "\n".join(lines)
        assert len(lines) <= 1, "\n".join(lines)


def test_every_operation_with_a_body_is_covered():
    """The run reaches all 43 operations but GET; 26 of them read a JSON body
    (the two uploads read multipart only; the schema shows no DELETE body)."""
    operations = body_operations()
    assert ("POST", "/api/auth/token/", True) in operations
    assert ("PATCH", "/api/messages/1/", True) in operations
    assert ("POST", "/api/uploads/", False) in operations
    assert ("POST", "/api/support/site_none/uploads/", False) in operations
    assert ("POST", "/api/rooms/fuzzroom/bans/", True) in operations
    assert ("DELETE", "/api/rooms/fuzzroom/mutes/bob/", False) in operations
    assert ("POST", "/api/push/subscriptions/", True) in operations
    assert ("DELETE", "/api/push/subscriptions/", False) in operations
    assert ("POST", "/api/rooms/fuzzroom/invites/", True) in operations
    assert ("POST", "/api/rooms/fuzzroom/reports/1/resolve/", True) in operations
    assert ("POST", "/api/support/site_none/visitors/", True) in operations
    assert ("POST", "/api/support/conversations/1/transfer/", True) in operations
    assert len(operations) == 43, operations
    assert sum(reads for _, _, reads in operations) == 26, operations


@pytest.mark.parametrize("body", list(BAD_JSON), ids=str)
def test_nesting_and_huge_numbers_are_400_parse_error_on_every_json_endpoint(
    server, world, body
):
    """Every JSON endpoint (the token one unauthenticated) answers 400 parse_error.

    An operation that reads no body (join, leave, ticket) answers as without one.
    """
    for method, path, reads_json in body_operations():
        token = None if path == "/api/auth/token/" else world.token
        watch = LogWatch(server)
        status, headers, answer = http_json(
            method,
            f"{server.http_url}{path}",
            token=token,
            raw=BAD_JSON[body],
            headers={"Content-Type": "application/json"},
        )
        assert status < 500, (method, path, answer)
        assert headers["Content-Type"] == "application/json", (method, path, answer)
        if reads_json:
            assert status == 400, (method, path, answer)
            assert answer["code"] == "parse_error", (method, path, answer)
        watch.assert_at_most_one_line()


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/api/auth/token/"),
        ("POST", "/api/rooms/"),
        ("POST", "/api/rooms/fuzzroom/messages/"),
        ("PATCH", "/api/messages/1/"),
    ],
)
def test_a_body_over_the_limit_is_the_json_413(server, world, method, path):
    """Over 64 KiB under /api/: 413 too_long in JSON, DEBUG on as off."""
    watch = LogWatch(server)
    status, headers, answer = http_json(
        method,
        f"{server.http_url}{path}",
        token=world.token,
        raw=json.dumps({"body": "x" * LIMIT}).encode(),
        headers={"Content-Type": "application/json"},
    )
    assert status == 413
    assert headers["Content-Type"] == "application/json"
    assert answer == {
        "code": "too_long",
        "detail": f"A request body is at most {LIMIT} bytes.",
    }
    watch.assert_at_most_one_line()


def test_a_form_body_over_the_limit_on_a_page_is_a_413(server):
    """Over 64 KiB on a page's form: a plain-text 413, not the debug page."""
    status, headers, answer = http_json(
        "POST",
        f"{server.http_url}/accounts/login/",
        raw=b"username=" + b"x" * LIMIT,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert status == 413
    assert headers["Content-Type"].startswith("text/plain")
    assert answer == f"A request body is at most {LIMIT} bytes."


@pytest.mark.parametrize(
    "path", ["/ws/other/", "/ws/", "/ws/chat/extra/", "/chatroom", "/", "/api/rooms/"]
)
@pytest.mark.parametrize("authenticated", [False, True], ids=["anonymous", "token"])
async def test_a_websocket_to_a_path_not_served_is_refused_with_403(
    server, world, path, authenticated
):
    """A handshake to any other path: HTTP 403, no traceback in the log."""
    watch = LogWatch(server)
    headers = bearer(world.token) if authenticated else {}
    with pytest.raises(InvalidStatus) as refused:
        async with connect(
            f"{server.ws_url}{path}", additional_headers=headers, proxy=None
        ):
            pass
    assert refused.value.response.status_code == 403
    watch.assert_at_most_one_line()


BAD_FRAMES = {
    "list_5000_deep": "[" * 5000 + "]" * 5000,
    "object_2500_deep": '{"a":' * 2500 + "1" + "}" * 2500,
    "object_40_deep": '{"type": "sync", "a":' + '{"a":' * 40 + "1" + "}" * 41,
    "after_1e400": '{"type": "sync", "after": 1e400}',
    "limit_minus_1e400": '{"type": "sync", "limit": -1e400}',
    "after_5000_digits": '{"type": "sync", "after": ' + "9" * 5000 + "}",
    "after_NaN": '{"type": "sync", "after": NaN}',
    "body_Infinity": '{"type": "message.send", "room": "fuzzroom", "body": Infinity}',
}


@pytest.mark.parametrize("frame", list(BAD_FRAMES), ids=str)
async def test_nested_or_huge_number_frames_get_an_error_and_the_socket_works(
    server, world, frame
):
    """Such a frame gets one `invalid_json` error; the next `sync` is answered."""
    watch = LogWatch(server)
    async with open_chat(server, world.token) as chat:
        await chat.ws.send(BAD_FRAMES[frame])
        error = await recv_frame(chat.ws)
        assert error["type"] == "error", error
        assert error["code"] == "invalid_json", error
        await chat.send(type="sync", after=chat.hello["last_id"])
        assert await chat.recv() == {
            "type": "sync.done",
            "last_id": chat.hello["last_id"],
            "more": False,
        }
    await asyncio.sleep(0.1)  # the disconnect's log lines, if any
    assert "Traceback" not in "\n".join(watch.lines())
