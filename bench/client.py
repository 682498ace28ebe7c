"""The load generator's side of the wire: WebSocket connections and plain HTTP.

The same client speaks to every target in the bench's common shape:

    client -> {"type": "message.send", "room": R, "body": B, "client_id": C}
    server -> {"type": "hello", ...}            first, on every connection
              {"type": "ack", "client_id": C, ...}          to the sender
              {"type": "message", "client_id": C, "body": B, ...} to each member
    client -> "ping"    server -> "pong"

Our server adds ids (`ack.id`, `message.id`) and `sync`; the references do not
store, so they have neither. Frames are told apart by a cheap look at their
first key, so the load generator spends its core on the socket, not on JSON.
"""

import asyncio
import contextlib
import re
from dataclasses import dataclass
from urllib.parse import quote

from websockets.asyncio.client import ClientConnection, connect

TYPE_RE = re.compile(r'\{"type":\s*"([a-z.]+)"')
CLIENT_ID_RE = re.compile(r'"client_id":\s*"([^"]*)"')


def frame_type(text: str) -> str | None:
    match = TYPE_RE.match(text)
    return match.group(1) if match else None


def frame_client_id(text: str) -> str | None:
    match = CLIENT_ID_RE.search(text)
    return match.group(1) if match else None


@dataclass(frozen=True)
class Target:
    """Where a target serves and what it can do beyond the common shape."""

    name: str
    port: int
    stores: bool  # ids, sync, history: our server only

    def ws_url(self, *, token: str | None, room: str) -> str:
        if self.name == "ours":
            return f"ws://127.0.0.1:{self.port}/ws/chat/?token={quote(token or '')}"
        return f"ws://127.0.0.1:{self.port}/ws/bench/{room}/"


async def open_socket(url: str, *, within: float = 30) -> tuple[ClientConnection, str]:
    """Connect and wait for the first frame (`hello`); returns both."""
    socket = await connect(
        url,
        compression=None,
        ping_interval=None,
        open_timeout=within,
        close_timeout=2,
        max_size=2**22,
        max_queue=4096,
    )
    try:
        async with asyncio.timeout(within):
            hello = await socket.recv()
    except BaseException:
        await socket.close()
        raise
    if frame_type(hello) != "hello":
        await socket.close()
        raise RuntimeError(f"expected hello, got {hello[:200]!r}")
    return socket, hello


async def close_all(sockets: list[ClientConnection]) -> None:
    async def close(socket: ClientConnection) -> None:
        with contextlib.suppress(Exception):  # the server may be gone already
            await socket.close()

    for start in range(0, len(sockets), 200):
        await asyncio.gather(*(close(s) for s in sockets[start : start + 200]))


async def http_request(
    port: int,
    method: str,
    path: str,
    *,
    token: str | None = None,
    body: bytes | None = None,
    within: float = 60,
) -> tuple[int, bytes]:
    """One HTTP/1.1 request on its own connection; returns status and body."""
    headers = [
        f"{method} {path} HTTP/1.1",
        f"Host: 127.0.0.1:{port}",
        "Connection: close",
    ]
    if token:
        headers.append(f"Authorization: Bearer {token}")
    if body is not None:
        headers += ["Content-Type: application/json", f"Content-Length: {len(body)}"]
    request = ("\r\n".join(headers) + "\r\n\r\n").encode() + (body or b"")
    async with asyncio.timeout(within):
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            writer.write(request)
            await writer.drain()
            raw = await reader.read()
        finally:
            writer.close()
    head, _, payload = raw.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1]) if head else 0
    if b"transfer-encoding: chunked" in head.lower():
        payload = _dechunk(payload)
    return status, payload


def _dechunk(data: bytes) -> bytes:
    out = bytearray()
    while data:
        size_line, _, rest = data.partition(b"\r\n")
        size = int(size_line.split(b";")[0] or b"0", 16)
        if size == 0:
            break
        out += rest[:size]
        data = rest[size + 2 :]
    return bytes(out)
