"""What chat.realtime.guards changes in daphne's WebSocket protocol, on a stand-in."""

from types import SimpleNamespace

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
    server_guards._write_frames_without_debug_formatting(protocol_class)
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
    server_guards._format_connection_settings_lazily()
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
