"""A TCP proxy that can go silent, as a dead network path does.

`freeze_websockets()` stops carrying bytes on the WebSocket connections open
through it, both ways, without closing them: neither end hears a thing, as
when a NAT forgets a connection or a laptop's Wi-Fi drops. New connections
(and plain HTTP) go on working, so a client that notices can come back.
"""

import contextlib
import socket
import threading
from dataclasses import dataclass, field

from tests.live import free_port


@dataclass
class _Pair:
    client: socket.socket
    upstream: socket.socket
    websocket: bool = False
    closed: bool = False
    frozen: threading.Event = field(default_factory=threading.Event)

    def close(self) -> None:
        self.closed = True
        for sock in (self.client, self.upstream):
            with contextlib.suppress(OSError):
                sock.close()


class FreezableProxy:
    """127.0.0.1:<port> carried to 127.0.0.1:<target_port>."""

    def __init__(self, target_port: int):
        self.target_port = target_port
        self.port = free_port()
        self.pairs: list[_Pair] = []
        self.listener = socket.create_server(("127.0.0.1", self.port))
        self.closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def http_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def freeze_websockets(self) -> int:
        """Silence every open WebSocket connection; returns how many."""
        frozen = 0
        for pair in self.pairs:
            if pair.websocket and not pair.closed and not pair.frozen.is_set():
                pair.frozen.set()
                frozen += 1
        return frozen

    def close(self) -> None:
        self.closed = True
        with contextlib.suppress(OSError):
            self.listener.close()
        for pair in self.pairs:
            pair.close()

    def _accept(self) -> None:
        while not self.closed:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(("127.0.0.1", self.target_port))
            except OSError:
                client.close()
                continue
            pair = _Pair(client, upstream)
            self.pairs.append(pair)
            threading.Thread(
                target=self._pump, args=(pair, client, upstream, True), daemon=True
            ).start()
            threading.Thread(
                target=self._pump, args=(pair, upstream, client, False), daemon=True
            ).start()

    def _pump(self, pair: _Pair, source, sink, from_client: bool) -> None:
        first = from_client
        try:
            while True:
                data = source.recv(65536)
                if not data:
                    break
                if first:
                    pair.websocket = b"upgrade: websocket" in data.lower()
                    first = False
                if pair.frozen.is_set():
                    continue  # swallowed: the path is dead
                sink.sendall(data)
        except OSError:
            pass
        if not pair.frozen.is_set():
            pair.close()
