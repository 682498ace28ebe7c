"""Redis or PostgreSQL gone while clients talk: nothing acked is lost, and the
server comes back by itself."""

import asyncio

import pytest

from tests.live import database_url, http_json, open_chat

from .support import SERVICES_ONLY, ChatClient, TcpProxy, until

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True), SERVICES_ONLY]


async def health(server) -> tuple[int, dict]:
    status, _, body = await asyncio.to_thread(
        http_json, "GET", f"{server.http_url}/healthz"
    )
    return status, body


async def wait_health(server, status: int, timeout: float = 20) -> dict:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        got, body = await health(server)
        if got == status:
            return body
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"/healthz still {got}: {body}")
        await asyncio.sleep(0.2)


@pytest.fixture(params=["restart", "network cut"])
def redis_outage(request, own_redis):
    """How Redis goes away: restarted empty, or cut off (its data kept)."""
    if request.param == "restart":
        yield own_redis.url, own_redis.stop, own_redis.start
        return
    proxy = TcpProxy(own_redis.port).start()
    yield f"redis://127.0.0.1:{proxy.port}/0", proxy.cut, proxy.restore
    proxy.stop()


async def test_redis_outage_loses_no_acked_message_and_live_resumes(
    start_daphnes, redis_outage, alice, bob, lobby
):
    """Redis gone and back while both send: every ack reaches the other
    process's user, the health check tells, and live delivery resumes by itself."""
    url, stop_redis, start_redis = redis_outage
    one, two = start_daphnes(2, REDIS_URL=url)
    a = ChatClient("alice", alice.token, [one]).start()
    b = ChatClient("bob", bob.token, [two]).start()
    await asyncio.gather(a.ready.wait(), b.ready.wait())
    first = await a.send("before 0", room=lobby)
    await until(lambda: first in b.messages)

    stop_redis()
    during = [await a.send(f"during {n}", room=lobby) for n in range(5)]
    during.append(await a.send("during dm", to="bob"))
    answer = await b.send("during answer", to="alice")
    body = await wait_health(one, 503)
    assert body["status"] == "unavailable"
    assert body["database"] == {"ok": True}
    assert body["channel_layer"]["ok"] is False

    start_redis()  # a restarted Redis is empty: it forgot every group
    await wait_health(one, 200)
    await wait_health(two, 200)
    # What Bob missed comes after the layer is back, without a reconnect.
    await until(lambda: all(mid in b.messages for mid in during), timeout=20)
    await until(lambda: answer in a.messages, timeout=20)
    # Live again, through groups the processes re-added on their own.
    after = await a.send("after 0", room=lobby)
    await until(lambda: after in b.messages, timeout=10)
    reply = await b.send("after dm", to="alice")
    await until(lambda: reply in a.messages, timeout=10)
    assert (a.connections, b.connections) == (1, 1), "nobody had to reconnect"
    assert a.errors == b.errors == []
    for client in (a, b):
        await client.stop()


@pytest.fixture
def database_proxy():
    """A TCP proxy in front of the run's PostgreSQL, which the test may cut."""
    from django.db import connection

    proxy = TcpProxy(int(connection.settings_dict.get("PORT") or 5432)).start()
    yield proxy
    proxy.stop()


async def test_database_unreachable_send_gets_unavailable_then_recovers(
    start_daphnes, database_proxy, alice, bob, lobby
):
    """PostgreSQL cut off: a send gets error `unavailable`, never an ack; once it
    is back the same send is stored and delivered."""
    url = database_url().replace(
        f":{database_proxy.upstream_port}/", f":{database_proxy.port}/"
    )
    (server,) = start_daphnes(1, DATABASE_URL=url)
    async with open_chat(server, alice.token) as a, open_chat(server, bob.token) as b:
        database_proxy.cut()
        await a.send(type="message.send", room=lobby, body="lost?", client_id="c1")
        frames = await a.recv_until("error", timeout=15)
        assert frames[-1] == {
            "type": "error",
            "code": "unavailable",
            "detail": frames[-1]["detail"],
            "client_id": "c1",
        }
        assert all(f.get("type") != "ack" for f in frames if isinstance(f, dict))
        status, body = await health(server)
        assert status == 503
        assert body["database"]["ok"] is False
        assert body["channel_layer"] == {"ok": True}
        # Still answering: a sync fails the same way, the heartbeat goes on.
        await a.send(type="sync", after=0)
        assert (await a.recv_until("error", timeout=15))[-1]["code"] == "unavailable"
        await a.ws.send("ping")
        assert await a.recv() == "pong"

        database_proxy.restore()
        await wait_health(server, 200)
        await a.send(type="message.send", room=lobby, body="lost?", client_id="c1")
        ack = (await a.recv_until("ack", timeout=15))[-1]
        assert ack["client_id"] == "c1"
        delivered = [f for f in await b.recv_until("message") if isinstance(f, dict)]
        assert delivered[-1]["id"] == ack["id"]


async def test_redis_partition_bounds_every_wait_and_recovers(
    start_daphnes, own_redis, alice, bob, lobby
):
    """Redis silent (no answer, no reset): acks keep coming within seconds, the
    health check says so, and after the partition heals Bob gets what he missed."""
    proxy = TcpProxy(own_redis.port).start()
    try:
        url = f"redis://127.0.0.1:{proxy.port}/0"
        one, two = start_daphnes(2, REDIS_URL=url)
        a = ChatClient("alice", alice.token, [one]).start()
        b = ChatClient("bob", bob.token, [two]).start()
        await asyncio.gather(a.synced.wait(), b.synced.wait())
        proxy.freeze()
        during = []
        for number in range(3):
            started = asyncio.get_running_loop().time()
            during.append(await a.send(f"during {number}", room=lobby, wait=10))
            took = asyncio.get_running_loop().time() - started
            assert took < 6, f"an ack took {took:.1f}s"
        status, body = await health(one)
        assert status == 503
        assert body["channel_layer"] == {"ok": False, "detail": "no answer in time"}
        proxy.thaw()
        # Process 1 sends again what it could not publish; nobody reconnects.
        await until(lambda: all(mid in b.messages for mid in during), timeout=30)
        after = await a.send("after", room=lobby)
        await until(lambda: after in b.messages, timeout=15)
        assert (a.connections, b.connections) == (1, 1)
        for client in (a, b):
            await client.stop()
    finally:
        proxy.thaw()
        proxy.stop()
