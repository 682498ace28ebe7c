"""Several daphne processes on the run's PostgreSQL and Redis, and the people
who talk through them (the end-to-end tests' factories)."""

import pytest

from tests.e2e.conftest import (  # noqa: F401 - fixtures shared with tests/e2e
    alice,
    bob,
    carol,
    dave,
    lobby,
    make_person,
)
from tests.live import DaphneServer

from .support import RedisServer


@pytest.fixture
def start_daphnes(django_db_setup, tmp_path):
    """Start daphne processes (same settings each); all stopped after the test."""
    servers: list[DaphneServer] = []

    def start(count: int = 1, *, args: tuple[str, ...] = (), **env: str):
        started = []
        for _ in range(count):
            log = tmp_path / f"daphne-{len(servers)}.log"
            server = DaphneServer(log, args=args, **env)
            servers.append(server)
            started.append(server.start())
        return started

    yield start
    for server in servers:
        server.stop()


@pytest.fixture
def own_redis(tmp_path):
    """A redis-server of this test's own, which the test may stop and start."""
    server = RedisServer(tmp_path / "redis.log").start()
    yield server
    server.stop()
