"""What chat.realtime.guards changes in daphne's WebSocket protocol, on a stand-in."""

import json
import logging
import sys
import types
from types import SimpleNamespace

import pytest

from chat.realtime import guards as server_guards


class Protocol:
    STATE_OPEN, STATE_CLOSING = 1, 2

    def __init__(self) -> None:
        self.state = self.STATE_OPEN
        self.send_queue: list = []
        self.written: list[bytes] = []
        self.transport = SimpleNamespace(write=self.written.append)
        self.trafficStats = SimpleNamespace(outgoingOctetsWireLevel=0)
        self.queued: list = []

    def sendData(self, data, sync=False, chopsize=None):  # noqa: N802 (autobahn's)
        self.queued.append((data, sync, chopsize))


def guarded() -> type[Protocol]:
    """A class of its own per test: the guard changes the class it is given."""
    protocol_class = type("GuardedProtocol", (Protocol,), {})
    server_guards.write_frames_without_debug_formatting(protocol_class)
    return protocol_class


def test_a_frame_with_nothing_queued_goes_straight_to_the_socket():
    """Written and counted as autobahn would, without its debug line."""
    protocol = guarded()()
    protocol.sendData(b"\x81\x02hi")
    assert protocol.written == [b"\x81\x02hi"]
    assert protocol.trafficStats.outgoingOctetsWireLevel == 4
    assert protocol.queued == []


def test_anything_else_takes_autobahns_own_way():
    """Behind queued data, synchronous, chopped, or not open: autobahn's sendData."""
    protocol_class = guarded()
    behind, sync, chopped, closing = (protocol_class() for _ in range(4))
    behind.send_queue.append((b"earlier", False))
    behind.sendData(b"a")
    sync.sendData(b"b", sync=True)
    chopped.sendData(b"c", chopsize=1)
    closing.state = Protocol.STATE_CLOSING
    closing.sendData(b"d")
    assert [p.queued for p in (behind, sync, chopped, closing)] == [
        [(b"a", False, None)],
        [(b"b", True, None)],
        [(b"c", False, 1)],
        [(b"d", False, None)],
    ]
    assert not any(p.written for p in (behind, sync, chopped, closing))


class Transport:
    """The parts of a Twisted TCP transport that `write_now` reads, on a real
    non-blocking socket; `write` stands for Twisted's queue."""

    TLS = False
    connected = True
    disconnecting = False
    _writeDisconnected = False

    def __init__(self, sock) -> None:
        self.socket = sock
        self._tempDataBuffer: list[bytes] = []
        self.dataBuffer = b""
        self.offset = 0

    def write(self, data: bytes) -> None:
        self._tempDataBuffer.append(data)


def _pair():
    import socket

    ours, peer = socket.socketpair()
    ours.setblocking(False)
    peer.settimeout(2)
    return ours, peer


def test_a_frame_is_sent_at_once_when_nothing_waits_before_it():
    ours, peer = _pair()
    with ours, peer:
        transport = Transport(ours)
        server_guards.write_now(transport, b"\x81\x02hi")
        assert peer.recv(100) == b"\x81\x02hi"
        assert transport._tempDataBuffer == []


def test_a_frame_behind_queued_data_is_queued_after_it():
    ours, peer = _pair()
    with ours, peer:
        transport = Transport(ours)
        transport._tempDataBuffer.append(b"first")
        server_guards.write_now(transport, b"second")
        assert transport._tempDataBuffer == [b"first", b"second"]
        ours.send(b"x")
        assert peer.recv(100) == b"x"  # nothing of the frames went around the queue


def test_what_the_socket_does_not_take_is_queued_in_order():
    import socket

    ours, peer = _pair()
    with ours, peer:
        ours.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
        transport = Transport(ours)
        data = bytes(range(256)) * 4096  # 1 MiB: more than the socket takes
        server_guards.write_now(transport, data)
        assert len(transport._tempDataBuffer) == 1
        rest = transport._tempDataBuffer[0]
        assert 0 < len(rest) < len(data)
        received = b""
        while len(received) < len(data) - len(rest):
            received += peer.recv(65536)
        assert received + rest == data


def test_autobahns_settings_are_pretty_printed_only_when_a_line_is_written(
    monkeypatch,
):
    """The debug line of every connection costs nothing until it is written, and
    reads the same when it is."""
    import pprint

    from autobahn.websocket import protocol

    monkeypatch.setattr(protocol, "pformat", pprint.pformat)
    monkeypatch.setattr(protocol.Timings, "__str__", protocol.Timings.__str__)
    server_guards.format_connection_settings_lazily(protocol)
    calls = []
    real = pprint.pformat
    monkeypatch.setattr(
        pprint, "pformat", lambda value: calls.append(value) or real(value)
    )
    settings = [("autoPingInterval", 0, "WebSocketServerFactory")]

    lazy = protocol.pformat(settings)
    assert calls == []
    assert f"\n{lazy}" == "\n" + real(settings)
    timings = protocol.Timings()
    timings.track("onOpen")
    assert str(timings) == real(timings._timings)


# --- the other patches, each on a stand-in of the class it changes ------------------


class Daphne:
    """The parts of daphne's WebSocketProtocol the close and send patches use."""

    STATE_OPEN, STATE_CLOSING, STATE_CLOSED = 1, 2, 3

    def __init__(self, transport=None) -> None:
        self.state = self.STATE_OPEN
        self.transport = transport
        self.calls: list[tuple] = []

    def handle_reply(self, message):
        self.calls.append(("handle_reply", message["type"]))

    def serverClose(self, code=None):  # noqa: N802 (daphne's)
        self.calls.append(("serverClose", code))

    def serverSend(self, content, binary=False):  # noqa: N802 (daphne's)
        self.calls.append(("serverSend", content))

    def sendCloseFrame(self, code=None, reasonUtf8=None, isReply=False):  # noqa: N802, N803
        self.calls.append(("sendCloseFrame", code, reasonUtf8))


def patched(patch) -> type[Daphne]:
    protocol_class = type("Patched", (Daphne,), {})
    patch(protocol_class)
    return protocol_class


def test_send_buffer_guard_closes_a_client_that_does_not_read(settings):
    """Past CHAT_SEND_BUFFER_BYTES waiting: a 1008 close, and later sends vanish."""
    settings.CHAT_SEND_BUFFER_BYTES = 100
    transport = SimpleNamespace(_tempDataLen=0, dataBuffer=b"", offset=0)
    protocol = patched(server_guards.guard_send_buffer)(transport)
    send = {"type": "websocket.send", "text": "hi"}
    protocol.handle_reply(send)
    transport.dataBuffer = b"x" * 101
    protocol.handle_reply(send)
    protocol.handle_reply(send)
    assert protocol.calls == [
        ("handle_reply", "websocket.send"),
        ("sendCloseFrame", 1008, b"Too much unread data."),
    ]


def test_server_close_codes_go_out_as_close_frames():
    """1001, 1008, 1011, 1012 and 1013 are sent; other codes take daphne's way."""
    protocol = patched(server_guards.allow_server_close_codes)()
    for code in (1013, 1012, 4401, None):
        protocol.serverClose(code)
    assert protocol.calls == [
        ("sendCloseFrame", 1013, None),
        ("sendCloseFrame", 1012, b"server restarting"),
        ("serverClose", 4401),
        ("serverClose", None),
    ]


def test_frames_for_a_closing_socket_are_dropped():
    """Open: daphne's serverSend; closing or closed: nothing, and no error."""
    protocol = patched(server_guards.drop_sends_while_closing)()
    protocol.serverSend("a")
    protocol.state = Daphne.STATE_CLOSING
    protocol.serverSend("b")
    protocol.state = Daphne.STATE_CLOSED
    protocol.serverSend("c")
    assert protocol.calls == [("serverSend", "a")]


def test_access_log_hides_tokens_and_tickets():
    """The access log gets the path with `token` and `ticket` values hidden."""

    class Generator:
        def __init__(self) -> None:
            self.logged: list = []

        def __call__(self, protocol, action, details):
            self.logged.append(details["path"])

    server_guards.redact_access_log(Generator)
    generator = Generator()
    generator(None, "connected", {"path": "/ws/chat/?ticket=abc&x=1&TOKEN=t.k"})
    generator(None, "complete", {"path": None})
    assert generator.logged == [
        "/ws/chat/?ticket=[redacted]&x=1&TOKEN=[redacted]",
        None,
    ]


# --- what the patches read, on the installed daphne, autobahn and Twisted -----------


def test_the_internals_the_patches_read_are_there():
    """Each attribute a patch reads or replaces exists in the installed versions."""
    from autobahn.websocket import protocol as autobahn_protocol
    from daphne.access import AccessLogGenerator
    from daphne.ws_protocol import WebSocketProtocol
    from twisted.internet.abstract import FileDescriptor

    for name in (
        "handle_reply",
        "serverClose",
        "serverSend",
        "sendData",
        "sendCloseFrame",
        "STATE_OPEN",
        "STATE_CLOSING",
        "STATE_CLOSED",
    ):
        assert hasattr(WebSocketProtocol, name), name
    assert callable(AccessLogGenerator.__call__)
    from daphne.http_protocol import WebRequest

    assert callable(WebRequest.handleContentChunk)
    assert "_parsePOSTFormSubmission" in WebRequest.__init__.__code__.co_names or (
        "parsePOSTFormSubmission" in WebRequest.__mro__[1].__init__.__code__.co_varnames
    )
    assert callable(autobahn_protocol.pformat)
    assert hasattr(autobahn_protocol.Timings, "_timings") or hasattr(
        autobahn_protocol.Timings(), "_timings"
    )
    descriptor = FileDescriptor()
    for name in (
        "dataBuffer",
        "offset",
        "_tempDataLen",
        "_tempDataBuffer",
        "_writeDisconnected",
        "disconnecting",
        "connected",
    ):
        assert hasattr(descriptor, name), name


# --- the version guard -------------------------------------------------------------


def test_the_installed_versions_are_the_tested_ones():
    """The pins of requirements.txt are what the patches were tested with."""
    assert server_guards.untested_versions() == []


def test_an_untested_version_is_named_with_what_was_tested():
    """Each untested package is named, with its version, or as not installed."""
    installed = {"daphne": "9.0.0", "autobahn": "26.11.1"}
    assert server_guards.untested_versions(installed) == [
        "daphne 9.0.0",
        "Twisted (not installed)",
    ]


def test_untested_versions_stop_the_server_with_one_line():
    """Without the override: SystemExit with one line naming what to do."""
    installed = {**server_guards.installed_versions(), "Twisted": "99.1.0"}
    with pytest.raises(SystemExit) as stopped:
        server_guards.check_versions(allow_untested=False, installed=installed)
    message = str(stopped.value)
    assert "\n" not in message
    assert message.startswith("Untested server versions: Twisted 99.1.0.")
    assert "Twisted 26.10.0" in message
    assert "CHAT_ALLOW_UNTESTED_SERVER=1" in message


def test_the_override_starts_with_a_warning(caplog):
    """CHAT_ALLOW_UNTESTED_SERVER: the same line, as a warning, and no stop."""
    installed = {**server_guards.installed_versions(), "daphne": "5.0"}
    with caplog.at_level(logging.WARNING, logger="chat.realtime.guards"):
        server_guards.check_versions(allow_untested=True, installed=installed)
    [record] = caplog.records
    assert record.levelno == logging.WARNING
    assert record.getMessage().startswith("Untested server versions: daphne 5.0.")


def test_install_refuses_before_patching_anything(monkeypatch, settings):
    """Under daphne with an untested version, install stops and patches nothing."""
    from daphne.ws_protocol import WebSocketProtocol

    settings.CHAT_ALLOW_UNTESTED_SERVER = False
    monkeypatch.setitem(sys.modules, "daphne.server", types.ModuleType("daphne.server"))
    monkeypatch.setattr(
        server_guards,
        "installed_versions",
        lambda: {"daphne": "0.1", "autobahn": "26.11.1", "Twisted": "26.10.0"},
    )
    # As if not patched yet (this process may have installed them already).
    monkeypatch.delattr(WebSocketProtocol, "chat_guards_installed", raising=False)
    before = WebSocketProtocol.handle_reply
    with pytest.raises(SystemExit, match="daphne 0.1"):
        server_guards.install()
    assert WebSocketProtocol.handle_reply is before
    assert not hasattr(WebSocketProtocol, "chat_guards_installed")


def test_install_does_nothing_outside_daphne(monkeypatch):
    """Outside daphne (tests, commands) nothing is checked or patched."""
    monkeypatch.delitem(sys.modules, "daphne.server", raising=False)
    monkeypatch.setattr(server_guards, "installed_versions", lambda: {})
    assert server_guards.install() is False


class _Transport:
    def __init__(self):
        self.written = b""
        self.lost = False

    def write(self, data):
        self.written += data

    def loseConnection(self):
        self.lost = True


class _Request:
    """The two methods limit_request_bodies wraps, as Twisted's Request has them."""

    def __init__(self, path: bytes):
        self._parsePOSTFormSubmission = True
        self.channel = SimpleNamespace(_path=path, transport=_Transport())
        self.kept = b""

    def handleContentChunk(self, data):
        self.kept += data


@pytest.fixture
def limited_request():
    class Request(_Request):
        pass

    server_guards.limit_request_bodies(Request)
    return Request


def test_twisted_does_not_parse_multipart(limited_request):
    """Django's parser (bounded) reads a multipart body, not Twisted's (memory)."""
    assert limited_request(b"/api/uploads/")._parsePOSTFormSubmission is False


def test_a_body_past_its_paths_limit_is_refused_as_it_arrives(
    limited_request, settings
):
    """Over the limit: a JSON 413 under /api/, the connection closed, nothing kept."""
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 100
    request = limited_request(b"/api/rooms/?x=1")
    request.handleContentChunk(b"a" * 100)
    assert request.kept == b"a" * 100
    request.handleContentChunk(b"b")
    request.handleContentChunk(b"c" * 1000)
    assert request.kept == b"a" * 100
    transport = request.channel.transport
    assert transport.lost
    head, body = transport.written.split(b"\r\n\r\n", 1)
    assert head.startswith(b"HTTP/1.1 413 ")
    assert b"Content-Type: application/json" in head
    assert json.loads(body) == {
        "code": "too_long",
        "detail": "A request body is at most 100 bytes.",
    }


def test_uploads_have_their_own_larger_limit(limited_request, settings):
    """POST /api/uploads/ takes CHAT_UPLOAD_MAX_BYTES and its framing."""
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 100
    settings.CHAT_UPLOAD_MAX_BYTES = 1000
    request = limited_request(b"/api/uploads/")
    request.handleContentChunk(b"a" * (1000 + 65536))
    assert not request.channel.transport.lost
    request.handleContentChunk(b"a")
    assert request.channel.transport.lost


def test_a_page_gets_the_plain_text_413(limited_request, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10
    request = limited_request(b"/accounts/login/")
    request.handleContentChunk(b"a" * 11)
    assert b"Content-Type: text/plain" in request.channel.transport.written
