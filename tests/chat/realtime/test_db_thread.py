"""The handshakes' database thread (chat.realtime.db_thread): batched reads
on a kept connection.

A kept connection must not outlive the database it talked to: after the
database went away and came back (here a TCP proxy in front of PostgreSQL cuts
every connection), the next call works on a new connection; while it is away
the call fails at once with a database error (the handshake's 1013).
"""

import asyncio

import pytest
from django.db import OperationalError, connection, connections

from chat.realtime.db_thread import KeptConnectionThread
from chat.selectors import last_visible_ids, room_group_ids_of
from chat.services.messages import store_message
from tests.multiprocess.support import TcpProxy

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
async def thread():
    kept = KeptConnectionThread("test-kept-db")
    yield kept
    await kept.run(connections.close_all)
    kept.executor.shutdown()


def _pid() -> int:
    """The database session: a backend pid on PostgreSQL, the connection's id
    (a new one per connection) on SQLite."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            return cursor.fetchone()[0]
    connection.ensure_connection()
    return id(connection.connection)


async def test_the_connection_is_kept_between_calls(thread):
    """Calls reuse one database connection instead of opening one each."""
    first = await thread.run(_pid)
    assert await thread.run(_pid) == first


async def test_a_connection_error_on_a_kept_connection_is_tried_again(thread):
    """A call that fails with a connection error on a kept connection runs once
    more on a new connection; a second failure is raised."""
    before = await thread.run(_pid)
    calls = []

    def flaky():
        calls.append(_pid())
        if len(calls) == 1:
            raise OperationalError("server closed the connection unexpectedly")
        return "read"

    assert await thread.run(flaky) == "read"
    assert calls[0] == before
    assert await thread.run(_pid) == calls[1]

    def broken():
        raise OperationalError("connection refused")

    with pytest.raises(OperationalError):
        await thread.run(broken)
    # Not retried when the caller says so (a write that must not run twice).
    calls.clear()
    await thread.run(_pid)
    with pytest.raises(OperationalError):
        await thread.run(flaky, retry=False)
    assert len(calls) == 1


@pytest.fixture
def scene(make_user, make_room) -> dict:
    """alice and bob in the lobby, where bob said hi; carol alone in a quiet room."""
    alice, bob, carol = (make_user(name) for name in ("alice", "bob", "carol"))
    lobby = make_room("lobby", owner=alice, members=[bob])
    quiet = make_room("quiet", owner=carol)
    message, _ = store_message(sender=bob, room="lobby", body="hi")
    return {
        "alice": alice,
        "bob": bob,
        "carol": carol,
        "lobby": lobby,
        "quiet": quiet,
        "message": message,
    }


async def test_reads_that_wait_together_are_one_query_each(thread, scene):
    """Handshakes of the same moment share one round: each kind of read is one
    call for all of them, and each gets its own answer."""
    alice, bob, carol = scene["alice"], scene["bob"], scene["carol"]
    lobby, quiet, message = scene["lobby"], scene["quiet"], scene["message"]
    batches = []

    def rooms(users):
        batches.append(len(users))
        return room_group_ids_of(users)

    answers = await asyncio.gather(
        thread.run_batched(rooms, alice),
        thread.run_batched(rooms, bob),
        thread.run_batched(rooms, carol),
        thread.run_batched(rooms, alice),
        thread.run_batched(last_visible_ids, alice),
        thread.run_batched(last_visible_ids, carol),
    )
    assert batches == [4]
    assert answers == [[lobby.pk], [lobby.pk], [quiet.pk], [lobby.pk], message.id, 0]


async def test_a_failed_batch_fails_each_of_its_reads(thread, scene):
    """A batch that fails gives each waiting read the error, and the next
    round works."""
    carol = scene["carol"]

    def unreachable(users):
        raise OperationalError("connection refused")

    results = await asyncio.gather(
        thread.run_batched(unreachable, carol),
        thread.run_batched(unreachable, carol),
        thread.run_batched(last_visible_ids, carol),
        return_exceptions=True,
    )
    assert [type(result) for result in results] == [
        OperationalError,
        OperationalError,
        int,
    ]
    assert await thread.run_batched(last_visible_ids, carol) == 0


@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="a TCP proxy in front of PostgreSQL"
)
async def test_kept_connection_recovers_after_the_database_went_away(thread, scene):
    """PostgreSQL cut off (every connection dropped): a read while it is away
    fails at once with a database error; once it is back, the next read works
    on a new connection, with no error."""
    alice, newest = scene["alice"], scene["message"].id
    upstream = int(connection.settings_dict.get("PORT") or 5432)
    proxy = TcpProxy(upstream).start()

    def through_proxy() -> None:
        connections.close_all()
        here = connections["default"]
        here.settings_dict = {**here.settings_dict, "PORT": proxy.port}

    try:
        await thread.run(through_proxy)
        before = await thread.run(_pid)
        assert await thread.run_batched(last_visible_ids, alice) == newest

        proxy.cut()
        await asyncio.sleep(0.3)  # the proxy's listener is let go
        proxy.restore()  # back at once: the kept connection is dead all the same
        assert await thread.run_batched(last_visible_ids, alice) == newest
        assert await thread.run(_pid) != before

        proxy.cut()
        with pytest.raises(OperationalError):
            await thread.run_batched(last_visible_ids, alice)
        await asyncio.sleep(0.3)
        proxy.restore()
        assert await thread.run_batched(last_visible_ids, alice) == newest
    finally:
        proxy.stop()
