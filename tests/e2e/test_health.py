"""GET /healthz on a real daphne: the database and the channel layer."""

import asyncio
from http.client import HTTPConnection

import pytest
from django.conf import settings

from tests.live import free_port, http_json

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

ALL_OK = {"status": "ok", "database": {"ok": True}, "channel_layer": {"ok": True}}


def test_healthz_ok_for_any_host(daphne_server):
    """200 and every part ok, even for a Host outside ALLOWED_HOSTS (a probe by IP)."""
    for host in ("127.0.0.1", "10.1.2.3:8001"):
        status, headers, body = http_json(
            "GET", f"{daphne_server.http_url}/healthz", headers={"Host": host}
        )
        assert (status, body) == (200, ALL_OK)
        assert headers["Content-Type"] == "application/json"
        assert headers["Cache-Control"] == "no-store"


def test_healthz_needs_no_credentials_and_takes_only_get(daphne_server):
    """HEAD answers like GET without a body; POST is 405 with Allow."""
    connection = HTTPConnection("127.0.0.1", daphne_server.port, timeout=20)
    try:
        connection.request("HEAD", "/healthz")
        response = connection.getresponse()
        assert (response.status, response.read()) == (200, b"")
    finally:
        connection.close()
    status, headers, body = http_json(
        "POST", f"{daphne_server.http_url}/healthz", body={}
    )
    assert status == 405
    assert headers["Allow"] == "GET, HEAD"


def test_healthz_reports_an_unreachable_database(start_daphne):
    """503: the database part fails with its reason, the layer part is ok."""
    dead = f"postgres://postgres@127.0.0.1:{free_port()}/nothing"
    server = start_daphne(DATABASE_URL=dead)
    status, _, body = http_json("GET", f"{server.http_url}/healthz")
    assert status == 503
    assert body["status"] == "unavailable"
    assert body["channel_layer"] == {"ok": True}
    assert body["database"]["ok"] is False
    assert "OperationalError" in body["database"]["detail"]


@pytest.mark.skipif(
    not settings.REDIS_URL, reason="needs REDIS_URL: runs in the Redis pass"
)
async def test_healthz_reports_an_unreachable_redis(start_daphne):
    """503: the channel layer part fails with its reason, the database part is ok."""
    server = start_daphne(REDIS_URL=f"redis://127.0.0.1:{free_port()}/0")
    status, _, body = await asyncio.to_thread(
        http_json, "GET", f"{server.http_url}/healthz"
    )
    assert status == 503
    assert body["status"] == "unavailable"
    assert body["database"] == {"ok": True}
    assert body["channel_layer"]["ok"] is False
    assert "ConnectionError" in body["channel_layer"]["detail"]
