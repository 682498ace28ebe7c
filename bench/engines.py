"""The engines the bench runs on, set up for the run and removed after it.

- embedded: an SQLite file in a temporary folder and the in-memory layer.
- services: a PostgreSQL database made for the run (`bench_<pid>_<n>`, dropped
  at the end) and Redis under a key prefix of the run's own (its keys deleted at
  the end; nothing else in Redis is touched).
"""

import logging
import os
import shutil
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

logger = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parent.parent
ENGINES = ("embedded", "services")

BASE_ENV = {
    "DEBUG": "0",
    "SECRET_KEY": "bench-only-secret-key-not-for-production",
    "ALLOWED_HOSTS": "127.0.0.1,localhost",
    "LOG_LEVEL": "WARNING",
    "PYTHONUNBUFFERED": "1",
    # The per-user rate limit (60 frames, then 10 a second) would refuse each
    # sender's frames after its first 60: the bench measures the fan-out, not
    # the limiter (whose Redis round trip, a lease every few frames, still runs).
    "CHAT_RATE_BURST": "1000000",
    "CHAT_RATE_PER_SECOND": "1000000",
    "CHAT_MAX_CONNECTIONS_PER_USER": "1000000",
}


class Engine:
    """Databases and a layer for one engine; `env()` is what a server gets."""

    def __init__(self, name: str, *, postgres_url: str, redis_url: str) -> None:
        if name not in ENGINES:
            raise ValueError(f"unknown engine {name!r}")
        self.name = name
        self.postgres_url = postgres_url
        self.redis_url = redis_url
        self.run_id = f"{os.getpid()}_{uuid.uuid4().hex[:6]}"
        self.folder = Path(tempfile.mkdtemp(prefix="chat-bench-"))
        self.databases: dict[str, str] = {}
        self.prefixes: list[str] = []

    # --- databases -------------------------------------------------------------

    def database_url(self, slot: str) -> str:
        """A database of its own for `slot` (made on first use)."""
        if slot in self.databases:
            return self.databases[slot]
        if self.name == "embedded":
            url = f"sqlite:///{self.folder / f'{slot}.sqlite3'}"
        else:
            name = f"bench_{self.run_id}_{slot}".replace("-", "_")
            self._postgres(f'CREATE DATABASE "{name}"')
            parts = urlsplit(self.postgres_url)
            url = urlunsplit(parts._replace(path=f"/{name}"))
        self.databases[slot] = url
        return url

    def _postgres(self, statement: str) -> None:
        import psycopg

        with psycopg.connect(self.postgres_url, autocommit=True) as connection:
            connection.execute(statement)

    def env(self, *, slot: str, target: str) -> dict:
        """The environment of a server (or fixtures script) on this engine."""
        env = {
            k: v
            for k, v in os.environ.items()
            if k not in {"DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE"}
        }
        env.update(BASE_ENV)
        env["DATABASE_URL"] = self.database_url(slot)
        if target == "tutorial":
            env["DJANGO_SETTINGS_MODULE"] = "bench.reference.settings"
        else:
            env["DJANGO_SETTINGS_MODULE"] = "chatsite.settings"
        if self.name == "services":
            prefix = f"bench-{self.run_id}-{target}"
            if prefix not in self.prefixes:
                self.prefixes.append(prefix)
            env["REDIS_URL"] = self.redis_url
            env["CHAT_REDIS_PREFIX"] = prefix
        return env

    def fixtures(self, *args: str, slot: str, timeout: float = 900) -> dict:
        """Run `python -m bench.fixtures ARGS` against the slot's database."""
        import json

        env = self.env(slot=slot, target="ours")
        # Set-up publishes to nobody: no outbox rows for the server to relay.
        env["CHAT_RELAY_OTHER_PROCESSES"] = "0"
        done = subprocess.run(  # noqa: S603 - our own module
            [sys.executable, "-m", "bench.fixtures", *args],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"bench.fixtures {args[0]} failed:\n{done.stderr}")
        return json.loads(done.stdout)

    # --- the end ------------------------------------------------------------------

    def teardown(self) -> None:
        """Drop what the run made; never anything else."""
        if self.name == "services":
            for url in self.databases.values():
                name = urlsplit(url).path.lstrip("/")
                try:
                    self._postgres(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
                except Exception:
                    logger.warning("could not drop %s", name, exc_info=True)
            self._delete_redis_keys()
        shutil.rmtree(self.folder, ignore_errors=True)

    def _delete_redis_keys(self) -> None:
        if not self.prefixes:
            return
        import redis

        try:
            client = redis.Redis.from_url(self.redis_url)
            for prefix in self.prefixes:
                keys = list(client.scan_iter(match=f"{prefix}*", count=1000))
                for start in range(0, len(keys), 500):
                    client.delete(*keys[start : start + 500])
            client.close()
        except Exception:
            logger.warning("could not delete the bench's Redis keys", exc_info=True)
