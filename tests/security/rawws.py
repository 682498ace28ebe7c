"""A bare-socket WebSocket client: it does only what a test tells it to.

websockets answers pings and reads its socket on its own; a client that stops
reading or never answers a ping has to be written by hand.
"""

import base64
import os
import socket
import struct


def open_raw(
    port: int, path: str, *, headers: dict | None = None, rcvbuf: int | None = None
) -> socket.socket:
    """A socket past the WebSocket handshake (101), nothing read after it."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if rcvbuf is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    sock.settimeout(10)
    sock.connect(("127.0.0.1", port))
    key = base64.b64encode(os.urandom(16)).decode()
    lines = [
        f"GET {path} HTTP/1.1",
        f"Host: 127.0.0.1:{port}",
        "Upgrade: websocket",
        "Connection: Upgrade",
        f"Sec-WebSocket-Key: {key}",
        "Sec-WebSocket-Version: 13",
        *(f"{name}: {value}" for name, value in (headers or {}).items()),
    ]
    sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
    answer = b""
    while b"\r\n\r\n" not in answer:
        chunk = sock.recv(1)  # byte by byte: not one byte past the handshake
        if not chunk:
            raise ConnectionError(f"closed during the handshake: {answer!r}")
        answer += chunk
    assert answer.startswith(b"HTTP/1.1 101"), answer
    return sock


def text_frame(text: str) -> bytes:
    """One masked (client-to-server) text frame."""
    payload = text.encode()
    mask = os.urandom(4)
    header = bytes([0x81])
    if len(payload) < 126:
        header += bytes([0x80 | len(payload)])
    elif len(payload) < 65536:
        header += bytes([0x80 | 126]) + struct.pack(">H", len(payload))
    else:
        header += bytes([0x80 | 127]) + struct.pack(">Q", len(payload))
    masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    return header + mask + masked


def read_until_closed(sock: socket.socket, timeout: float) -> int:
    """Read (and throw away) until the server ends the connection; bytes read."""
    sock.settimeout(timeout)
    total = 0
    while True:
        try:
            chunk = sock.recv(65536)
        except ConnectionResetError:
            return total
        if not chunk:
            return total
        total += len(chunk)
