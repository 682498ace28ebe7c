"""A real daphne process on a free port, and clients that talk to it.

The daphne process uses the test run's own database (the tests commit their data
with `transactional_db`, so the server sees it) and, with Redis, the run's own key
prefix. The HTTP helpers are blocking (urllib): async tests call them through
`asyncio.to_thread`.
"""

import asyncio
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from datetime import datetime
from http.cookiejar import CookieJar
from pathlib import Path
from typing import Any
from urllib.error import HTTPError
from urllib.parse import urlencode
from urllib.request import (
    HTTPCookieProcessor,
    HTTPRedirectHandler,
    ProxyHandler,
    Request,
    build_opener,
)

from django.conf import settings
from django.db import connection
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def database_url() -> str:
    """The URL of the database the tests use now (the test database)."""
    db = connection.settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{db['NAME']}"
    user = db.get("USER") or "postgres"
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    host = db.get("HOST") or "127.0.0.1"
    port = db.get("PORT") or 5432
    return f"postgres://{user}{password}@{host}:{port}/{db['NAME']}"


def server_env(**overrides: str) -> dict:
    from tests.conftest import REDIS_PREFIX

    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DATABASE_URL", "REDIS_URL"}
    }
    env.update(
        DJANGO_SETTINGS_MODULE="chatsite.settings",
        CHAT_ENV_FILE="",
        DEBUG="0",
        SECRET_KEY="test-secret-key-for-the-live-server",
        ALLOWED_HOSTS="127.0.0.1,localhost",
        DATABASE_URL=database_url(),
        CHAT_HEARTBEAT_SECONDS="1",
        # Limits are tested where a test sets them (tests/security).
        CHAT_RATE_BURST="1000000",
        CHAT_AUTH_RATE_BURST="1000000",
        CHAT_MAX_CONNECTIONS_PER_USER="1000",
        # On in the tests of presence (tests.settings says why).
        CHAT_PRESENCE_ENABLED="0",
        # No notifications round unless a test asks for one: a round reading
        # the tables while pytest-django flushes them after a test can
        # deadlock with the flush's TRUNCATE on PostgreSQL.
        CHAT_NOTIFY_INTERVAL_SECONDS="3600",
        LOG_LEVEL="WARNING",
        PYTHONUNBUFFERED="1",
    )
    if settings.REDIS_URL:
        env.update(REDIS_URL=settings.REDIS_URL, CHAT_REDIS_PREFIX=REDIS_PREFIX)
    env.update(overrides)
    return env


class DaphneServer:
    """`daphne chatsite.asgi:application` on 127.0.0.1 and a free port."""

    def __init__(
        self,
        log_path: Path,
        *,
        port: int | None = None,
        args: tuple[str, ...] = (),
        **env: str,
    ):
        # A fixed port lets a test start the server again where clients expect it.
        self.port = port or free_port()
        self.args = tuple(args)  # more daphne options, e.g. --websocket_timeout
        self.env = server_env(**env)
        self.log_path = log_path
        self.process: subprocess.Popen | None = None

    @property
    def http_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    def start(self, timeout: float = 20) -> "DaphneServer":
        log = open(self.log_path, "ab")  # noqa: SIM115 - lives as long as the process
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "daphne",
                "-b",
                "127.0.0.1",
                "-p",
                str(self.port),
                *self.args,
                "chatsite.asgi:application",
            ],
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"daphne exited early:\n{self.log()}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return self
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"daphne did not start in {timeout}s:\n{self.log()}")

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)

    def kill(self) -> None:
        """SIGKILL: the process dies at once, closing nothing."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)

    def log(self) -> str:
        with contextlib.suppress(OSError):
            return self.log_path.read_text(errors="replace")[-5000:]
        return ""


async def recv_frame(ws, timeout: float = 5, *, skip_pings: bool = True):
    """The next frame: a dict for JSON, the text itself otherwise.

    Heartbeat `ping` frames are skipped unless `skip_pings` is False.
    """
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        remaining = deadline - asyncio.get_running_loop().time()
        raw = await asyncio.wait_for(ws.recv(), timeout=max(remaining, 0.01))
        if skip_pings and raw == "ping":
            continue
        if isinstance(raw, str) and raw.startswith("{"):
            return json.loads(raw)
        return raw


async def recv_until(ws, frame_type: str, timeout: float = 5) -> list:
    """Frames up to and including the first of `frame_type`."""
    frames = []
    while True:
        frame = await recv_frame(ws, timeout)
        frames.append(frame)
        if isinstance(frame, dict) and frame.get("type") == frame_type:
            return frames


async def assert_silent(ws, seconds: float = 0.5) -> None:
    """Nothing but heartbeats arrives for `seconds`."""
    try:
        frame = await recv_frame(ws, seconds)
    except TimeoutError:
        return
    raise AssertionError(f"expected no frame, got {frame!r}")


async def close_code(ws, timeout: float = 5) -> int:
    """The code the server closes with; fails if a frame (not a ping) comes first."""
    try:
        frame = await recv_frame(ws, timeout)
    except ConnectionClosed:
        return ws.close_code
    raise AssertionError(f"expected the server to close, got {frame!r}")


def manage(*args: str) -> subprocess.CompletedProcess:
    """Run manage.py as an operator would, against the live server's database."""
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=server_env(),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


class Chat:
    """A connected WebSocket client, with the hello the server greeted it with."""

    def __init__(self, ws: ClientConnection, hello: dict):
        self.ws = ws
        self.hello = hello

    async def send(self, **frame: Any) -> None:
        await self.ws.send(json.dumps(frame))

    async def recv(self, timeout: float = 5):
        return await recv_frame(self.ws, timeout)

    async def recv_until(self, frame_type: str, timeout: float = 5) -> list:
        return await recv_until(self.ws, frame_type, timeout)

    async def assert_silent(self, seconds: float = 0.3) -> None:
        await assert_silent(self.ws, seconds)


@contextlib.asynccontextmanager
async def open_chat(
    server: "DaphneServer", token: str, *, path: str = "/ws/chat/"
) -> AsyncIterator[Chat]:
    """A token client on `path` (Authorization: Bearer), past its hello."""
    async with connect(
        f"{server.ws_url}{path}", additional_headers=bearer(token), proxy=None
    ) as ws:
        hello = await recv_frame(ws)
        assert isinstance(hello, dict), hello
        assert hello["type"] == "hello", hello
        yield Chat(ws, hello)


class _NoRedirects(HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def _opener(*handlers):
    # Straight to 127.0.0.1 whatever proxy the environment names; a redirect is
    # an answer to look at, not to follow.
    return build_opener(ProxyHandler({}), _NoRedirects(), *handlers)


def http_json(
    method: str,
    url: str,
    *,
    token: str | None = None,
    body: dict | None = None,
    headers: dict | None = None,
    timeout: float = 20,
    raw: bytes | None = None,
) -> tuple[int, dict, Any]:
    """One HTTP request: the status, the headers and the JSON (or text) answer.

    `raw` is a body sent as it is (with the caller's Content-Type header).
    """
    request_headers = {"Accept": "application/json", **(headers or {})}
    if token is not None:
        request_headers.update(bearer(token))
    data = raw
    if body is not None:
        data = json.dumps(body).encode()
        request_headers["Content-Type"] = "application/json"
    # Only ever the test server's http:// URL.
    request = Request(url, data=data, headers=request_headers, method=method)  # noqa: S310
    try:
        with _opener().open(request, timeout=timeout) as response:
            status, response_headers, raw = (
                response.status,
                response.headers,
                response.read(),
            )
    except HTTPError as exc:
        status, response_headers, raw = exc.code, exc.headers, exc.read()
    text = raw.decode("utf-8", errors="replace")
    is_json = response_headers.get_content_type() == "application/json"
    return status, dict(response_headers.items()), json.loads(text) if is_json else text


def log_in(server: "DaphneServer", username: str, password: str) -> str:
    """Log in through the login page; returns the `Cookie` header of the session."""
    jar = CookieJar()
    opener = _opener(HTTPCookieProcessor(jar))
    url = f"{server.http_url}/accounts/login/"
    with opener.open(url, timeout=20) as response:
        response.read()
    csrf = next(c.value for c in jar if c.name == settings.CSRF_COOKIE_NAME)
    form = urlencode(
        {"username": username, "password": password, "csrfmiddlewaretoken": csrf}
    ).encode()
    request = Request(url, data=form, headers={"Referer": url})  # noqa: S310
    try:
        with opener.open(request, timeout=20) as response:
            status = response.status
    except HTTPError as exc:
        status = exc.code
        exc.close()
    assert status == 302, f"log-in as {username} answered {status}, not a redirect"
    return "; ".join(f"{c.name}={c.value}" for c in jar)


class _IsoTime:
    """Equal to an ISO 8601 timestamp with a time zone."""

    def __eq__(self, other) -> bool:
        try:
            return datetime.fromisoformat(other).tzinfo is not None
        except (TypeError, ValueError):
            return False

    def __repr__(self) -> str:
        return "<ISO 8601 time>"


def message_frame(
    *,
    id: int,
    sender: dict,
    body: str,
    client_id: str,
    room: str | None = None,
    recipient: dict | None = None,
    reply_to: int | None = None,
    mentions: list[int] | None = None,
) -> dict:
    """The `message` frame a client should see (any ISO 8601 `created_at`), of
    a message never edited, deleted or reacted to."""
    return {
        "type": "message",
        "id": id,
        "room": room,
        "recipient": recipient,
        "sender": sender,
        "body": body,
        "client_id": client_id,
        "created_at": _IsoTime(),
        "edited_at": None,
        "deleted": False,
        "reactions": [],
        "reply_to": reply_to,
        "mentions": mentions or [],
        "attachments": [],
    }
