"""A real daphne process on a free port, and a WebSocket client that reads frames.

The daphne process uses the test run's own database (the tests commit their data
with `transactional_db`, so the server sees it) and, with Redis, the run's own key
prefix.
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
from pathlib import Path

from django.conf import settings
from django.db import connection

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
        DEBUG="0",
        SECRET_KEY="test-secret-key-for-the-live-server",
        ALLOWED_HOSTS="127.0.0.1,localhost",
        DATABASE_URL=database_url(),
        CHAT_HEARTBEAT_SECONDS="1",
        LOG_LEVEL="WARNING",
        PYTHONUNBUFFERED="1",
    )
    if settings.REDIS_URL:
        env.update(REDIS_URL=settings.REDIS_URL, CHAT_REDIS_PREFIX=REDIS_PREFIX)
    env.update(overrides)
    return env


class DaphneServer:
    """`daphne chatsite.asgi:application` on 127.0.0.1 and a free port."""

    def __init__(self, log_path: Path, **env: str):
        self.port = free_port()
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
