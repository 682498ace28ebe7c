"""What the multi-process tests need: their own Redis, a TCP proxy they can cut,
and a client that reconnects to another process and recovers with `sync`.

Nothing here stops or touches the machine's shared Redis or PostgreSQL.
"""

import asyncio
import contextlib
import itertools
import json
import logging
import socket
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from django.conf import settings
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake

from tests.live import DaphneServer, bearer, free_port

logger = logging.getLogger(__name__)

SERVICES_ONLY = pytest.mark.skipif(
    not (
        settings.DATABASES["default"]["ENGINE"].endswith("postgresql")
        and settings.REDIS_URL
    ),
    reason="runs in the PostgreSQL + Redis pass (several processes share them)",
)


class RedisServer:
    """A redis-server of the test's own on a spare port: it may be stopped."""

    def __init__(self, log_path: Path, port: int | None = None):
        self.port = port or free_port()
        self.log_path = log_path
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, timeout: float = 10) -> "RedisServer":
        log = open(self.log_path, "ab")  # noqa: SIM115 - lives with the process
        self.process = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            address = ("127.0.0.1", self.port)
            with (
                contextlib.suppress(OSError),
                socket.create_connection(address, 0.5) as sock,
            ):
                sock.sendall(b"PING\r\n")
                if sock.recv(16).startswith(b"+PONG"):
                    return self
            time.sleep(0.05)
        raise RuntimeError(f"redis-server on {self.port} did not start")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)


class SentinelServer:
    """A Redis Sentinel of the test's own, watching `master` as "mymaster"."""

    def __init__(self, directory: Path, master: RedisServer):
        self.port = free_port()
        self.directory = directory
        self.master = master
        self.process: subprocess.Popen | None = None

    def start(self, timeout: float = 10) -> "SentinelServer":
        config = self.directory / f"sentinel-{self.port}.conf"
        config.write_text(
            f"port {self.port}\nbind 127.0.0.1\n"
            f"sentinel monitor mymaster 127.0.0.1 {self.master.port} 1\n"
        )
        log = open(self.directory / "sentinel.log", "ab")  # noqa: SIM115
        self.process = subprocess.Popen(
            ["redis-server", str(config), "--sentinel"],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + timeout
        query = b"SENTINEL get-master-addr-by-name mymaster\r\n"
        while time.monotonic() < deadline:
            address = ("127.0.0.1", self.port)
            with (
                contextlib.suppress(OSError),
                socket.create_connection(address, 0.5) as sock,
            ):
                sock.sendall(query)
                if str(self.master.port).encode() in sock.recv(256):
                    return self
            time.sleep(0.05)
        raise RuntimeError(f"redis sentinel on {self.port} did not start")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)


class TcpProxy:
    """Forwards 127.0.0.1:port to an upstream port; `cut()` drops every
    connection and refuses new ones until `restore()`; `freeze()` holds every
    byte (a network partition: no answer, no reset) until `thaw()`."""

    def __init__(self, upstream_port: int, port: int | None = None):
        self.upstream_port = upstream_port
        self.port = port or free_port()
        self.listener: socket.socket | None = None
        self.sockets: set[socket.socket] = set()
        self.lock = threading.Lock()
        self.accepting = False
        self.flowing = threading.Event()
        self.flowing.set()

    def freeze(self) -> None:
        self.flowing.clear()

    def thaw(self) -> None:
        self.flowing.set()

    def start(self) -> "TcpProxy":
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(128)
        listener.settimeout(0.1)
        self.listener = listener
        self.accepting = True
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()
        return self

    restore = start

    def cut(self) -> None:
        self.accepting = False
        if self.listener is not None:
            self.listener.close()
            self.listener = None
        with self.lock:
            doomed, self.sockets = self.sockets, set()
        for sock in doomed:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    stop = cut

    def _accept(self, listener: socket.socket) -> None:
        while self.accepting and self.listener is listener:
            try:
                client, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            client.settimeout(None)
            try:
                upstream = socket.create_connection(
                    ("127.0.0.1", self.upstream_port), timeout=5
                )
            except OSError:
                client.close()
                continue
            upstream.settimeout(None)
            with self.lock:
                self.sockets.update((client, upstream))
            for source, target in ((client, upstream), (upstream, client)):
                threading.Thread(
                    target=self._pump, args=(source, target), daemon=True
                ).start()

    def _pump(self, source: socket.socket, target: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                self.flowing.wait()
                target.sendall(data)
        except OSError:
            pass
        for sock in (source, target):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        with self.lock:
            self.sockets.discard(source)
            self.sockets.discard(target)


_client_ids = itertools.count(1)


class ChatClient:
    """A client as docs/protocol.md asks: on a drop it reconnects (to the next
    process), `sync`s from the highest id it has seen and sends again, with the
    same client_id, what was never acknowledged."""

    def __init__(self, name: str, token: str, servers: list[DaphneServer], first=0):
        self.name = name
        self.token = token
        self.servers = servers
        self.index = first
        self.messages: dict[int, dict] = {}  # id -> message frame, de-duplicated
        self.live_copies: dict[int, int] = {}  # id -> how many times it arrived
        self.acks: dict[str, int] = {}  # client_id -> message id
        self.pending: dict[str, dict] = {}  # sent, not acknowledged yet
        self.errors: list[dict] = []
        self.trace: list = []  # (kind, id, ...) as seen: to read when a test fails
        self.close_codes: list[int | None] = []
        self.connections = 0
        self.ws = None
        self.in_sync = False
        self.recent: list[tuple[float, int]] = []  # (when, id) of live frames
        self.ready = asyncio.Event()
        self.synced = asyncio.Event()
        self.acked = asyncio.Condition()
        self.task: asyncio.Task | None = None
        self.stopping = False

    # Where the next sync starts (docs/protocol.md, "Delivery guarantees"): the
    # highest id seen on a connection whose own sync had finished, and not in
    # the last SETTLE seconds before it dropped. A live frame that overtakes the
    # sync answer, or one of a message that another process published a moment
    # before a lower id, must not move it past messages still on their way.
    cursor = 0
    SETTLE = 2.0

    def start(self) -> "ChatClient":
        self.task = asyncio.ensure_future(self.run())
        return self

    async def stop(self) -> None:
        self.stopping = True
        if self.ws is not None:
            await self.ws.close()
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task

    async def drop(self) -> None:
        """Close this connection from the client side; the client reconnects."""
        if self.ws is not None:
            await self.ws.close()

    async def run(self) -> None:
        while not self.stopping:
            server = self.servers[self.index % len(self.servers)]
            try:
                async with connect(
                    f"{server.ws_url}/ws/chat/",
                    additional_headers=bearer(self.token),
                    proxy=None,
                    open_timeout=5,
                ) as ws:
                    await self._session(ws)
            except (OSError, InvalidHandshake, TimeoutError) as exc:
                logger.info("%s: cannot connect to %s: %r", self.name, server.port, exc)
                self.index += 1  # that process is gone: try the next one
                await asyncio.sleep(0.05)
            except ConnectionClosed:
                pass
            finally:
                self.ready.clear()
                self.ws = None

    async def _session(self, ws) -> None:
        hello = json.loads(await asyncio.wait_for(ws.recv(), 10))
        assert hello["type"] == "hello", hello
        self.connections += 1
        self.ws = ws
        self.synced.clear()
        self.in_sync = False
        self.trace.append(("hello", ws.remote_address[1], self.cursor))
        await ws.send(json.dumps({"type": "sync", "after": self.cursor}))
        for frame in list(self.pending.values()):
            await ws.send(json.dumps(frame))
        self.ready.set()
        try:
            async for raw in ws:
                if raw == "ping":
                    continue
                await self._handle(ws, json.loads(raw))
        finally:
            settled = time.monotonic() - self.SETTLE
            for seen_at, message_id in self.recent:
                if seen_at <= settled:
                    self.cursor = max(self.cursor, message_id)
            self.recent = []
            self.trace.append(("closed", ws.close_code, None))
            self.close_codes.append(ws.close_code)

    async def _handle(self, ws, frame: dict) -> None:
        kind = frame["type"]
        self.trace.append((kind, frame.get("id") or frame.get("last_id"), None))
        if kind == "message":
            self.live_copies[frame["id"]] = self.live_copies.get(frame["id"], 0) + 1
            self.messages[frame["id"]] = frame
            if self.in_sync:
                self.recent.append((time.monotonic(), frame["id"]))
        elif kind == "ack":
            async with self.acked:
                self.pending.pop(frame["client_id"], None)
                self.acks[frame["client_id"]] = frame["id"]
                self.acked.notify_all()
        elif kind == "sync.done":
            self.cursor = max(self.cursor, frame["last_id"])
            if frame["more"]:
                await ws.send(json.dumps({"type": "sync", "after": frame["last_id"]}))
            else:
                self.in_sync = True
                self.synced.set()
        elif kind == "error":
            self.errors.append(frame)

    async def send(self, body: str, *, room=None, to=None, wait: float = 30) -> int:
        """Send until acknowledged (again after each reconnect); the message id."""
        client_id = f"{self.name}-{next(_client_ids)}"
        frame = {"type": "message.send", "body": body, "client_id": client_id}
        frame.update({"room": room} if room else {"to": to})
        self.pending[client_id] = frame
        if self.ws is not None and self.ready.is_set():
            with contextlib.suppress(ConnectionClosed):
                await self.ws.send(json.dumps(frame))
        async with self.acked:
            await asyncio.wait_for(
                self.acked.wait_for(lambda: client_id in self.acks), wait
            )
        return self.acks[client_id]

    async def resync(self, after: int = 0, timeout: float = 20) -> None:
        """Ask for everything after `after` and wait for the last sync.done."""
        await asyncio.wait_for(self.ready.wait(), timeout)
        self.synced.clear()
        await self.ws.send(json.dumps({"type": "sync", "after": after}))
        await asyncio.wait_for(self.synced.wait(), timeout)


async def until(predicate, timeout: float = 20, interval: float = 0.05) -> None:
    """Wait until `predicate()` is true, or fail after `timeout` seconds."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"still not true after {timeout}s: {predicate}")
        await asyncio.sleep(interval)


async def talk(
    clients: dict, acked: dict, name: str, count: int, room: str, *, pause: Callable
) -> None:
    """`count` messages from `name`: two to the room, then one direct to the next
    client, and so on; each acked one is noted for every member it should reach.
    `pause()` gives the seconds to wait between them."""
    names = sorted(clients)
    peer = names[(names.index(name) + 1) % len(names)]
    for number in range(count):
        direct = number % 3 == 2
        kwargs = {"to": peer} if direct else {"room": room}
        body = f"{name} {number}"
        message_id = await clients[name].send(body, **kwargs)
        for member in [name, peer] if direct else names:
            acked[member][message_id] = body
        await asyncio.sleep(pause())
