"""`GET /healthz`: can this process serve? For load balancers and supervisors.

200 `{"status": "ok", ...}` when the database answers a trivial query and the
channel layer answers (a PING to each Redis, or a send and receive on the
in-memory layer), each within CHAT_HEALTH_TIMEOUT_SECONDS; otherwise 503
`{"status": "unavailable", ...}` with the reason of each part that failed, and
503 `{"status": "shutting down"}` while the process drains after SIGTERM.

It is a small ASGI application in front of Django: it holds no thread while it
waits, needs no authentication, and answers whatever the `Host` header says,
because load balancers probe processes by address (ALLOWED_HOSTS would refuse
them). It shows nothing but these states; keep it off the public site anyway
(docs/deploy.md).
"""

import asyncio
import json
import logging

from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import connections

from .runtime import current

logger = logging.getLogger(__name__)

PATH = "/healthz"


def _query_database() -> None:
    connection = connections["default"]
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    finally:
        connection.close()


async def check_database() -> None:
    # A thread of its own (not the one the consumers share for the database),
    # so that a hung check never holds up their queries.
    await sync_to_async(_query_database, thread_sensitive=False)()


async def check_channel_layer() -> None:
    await current().layer.ping()


async def _part(check) -> dict:
    try:
        async with asyncio.timeout(settings.CHAT_HEALTH_TIMEOUT_SECONDS):
            await check()
    except TimeoutError:
        return {"ok": False, "detail": "no answer in time"}
    except Exception as exc:
        logger.warning("health check failed: %s", check.__name__, exc_info=True)
        return {"ok": False, "detail": f"{type(exc).__name__}: {exc}"[:200]}
    return {"ok": True}


async def health() -> tuple[int, dict]:
    """The status code and the JSON body of /healthz."""
    if current().draining:
        return 503, {"status": "shutting down"}
    database, layer = await asyncio.gather(
        _part(check_database), _part(check_channel_layer)
    )
    ok = database["ok"] and layer["ok"]
    body = {
        "status": "ok" if ok else "unavailable",
        "database": database,
        "channel_layer": layer,
    }
    return (200 if ok else 503), body


class HealthCheck:
    """ASGI: answers /healthz itself, passes every other request to `inner`."""

    def __init__(self, inner):
        self.inner = inner

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["path"] != PATH:
            return await self.inner(scope, receive, send)
        if scope["method"] not in {"GET", "HEAD"}:
            status, body = 405, {"status": "method not allowed"}
        else:
            status, body = await health()
        payload = json.dumps(body).encode()
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(payload)).encode()),
            (b"cache-control", b"no-store"),
        ]
        if status == 405:
            headers.append((b"allow", b"GET, HEAD"))
        await send(
            {"type": "http.response.start", "status": status, "headers": headers}
        )
        await send(
            {
                "type": "http.response.body",
                "body": b"" if scope["method"] == "HEAD" else payload,
            }
        )
