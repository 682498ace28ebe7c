"""The presence job with a manual clock (chat.realtime.presence): statuses
from records, the grace, the renewal, a dead process's records running out,
the debounce, and what was_online_at and has_open_page answer."""

from datetime import UTC, datetime

import pytest
from channels.db import database_sync_to_async

from chat.models import OnlineSpan, Presence
from chat.realtime.clock import ManualClock
from chat.realtime.presence import MemoryRecords, PresenceKeeper
from chat.services import presence as domain
from chat.services.presence import Record, status_of
from tests.chat.communicator import close_thread_connections

pytestmark = pytest.mark.django_db(transaction=True)

TTL, GRACE, DEBOUNCE = 60.0, 20.0, 10.0
BASE = 1_800_000_000.0  # Unix seconds at the clock's 0


def test_status_from_records():
    """Online if any live record is; away if all live ones are; else offline."""
    online, away = Record("online", 10, True), Record("away", 10, True)
    assert status_of([away, online], now=5) == "online"
    assert status_of([away, away], now=5) == "away"
    assert status_of([online], now=10) == "offline"  # run out
    assert status_of([Record("online", 4, True), away], now=5) == "away"
    assert status_of([], now=5) == "offline"


def test_a_record_reads_back_and_rejects_garbage():
    record = Record("away", 12.5, False)
    assert Record.load(record.dump()) == record
    assert Record.load(record.dump().encode()) == record
    assert Record.load("nonsense") is None


@pytest.fixture(autouse=True)
def _settings(settings):
    settings.CHAT_PRESENCE_ENABLED = True
    settings.CHAT_PRESENCE_TTL_SECONDS = TTL
    settings.CHAT_PRESENCE_GRACE_SECONDS = GRACE
    settings.CHAT_PRESENCE_DEBOUNCE_SECONDS = DEBOUNCE
    # The records in memory (MemoryRecords) on both engines; the consumer's
    # and the multi-process tests use Redis's.
    settings.REDIS_URL = ""


@pytest.fixture
async def keeper():
    clock = ManualClock(start=0.0)
    kept = PresenceKeeper(clock, MemoryRecords(), wall=lambda: BASE + clock.now())
    kept.start()
    await clock.advance(0)
    await kept.settled()
    yield kept
    await kept.close()
    await close_thread_connections()


async def advance(keeper: PresenceKeeper, seconds: float) -> None:
    """Move the clock on in steps, letting the job finish at each."""
    step = 1.0
    while seconds > 0:
        await keeper.clock.advance(min(step, seconds))  # type: ignore[attr-defined]
        await keeper.settled()
        seconds -= step


async def status(user) -> str:
    row = await Presence.objects.filter(pk=user.pk).afirst()
    return row.status if row else "offline"


def at(seconds: float) -> datetime:
    return datetime.fromtimestamp(BASE + seconds, tz=UTC)


async def test_offline_only_after_the_grace(keeper, make_user):
    user = await database_sync_to_async(make_user)("bob")
    keeper.connected("conn.a", user.pk)
    await keeper.settled()
    assert await status(user) == "online"
    keeper.closed("conn.a")
    await advance(keeper, GRACE - 2)
    assert await status(user) == "online"
    await advance(keeper, 3)
    assert await status(user) == "offline"
    row = await Presence.objects.aget(pk=user.pk)
    assert row.last_active_at == at(0)  # when the tab closed, not the grace's end
    span = await OnlineSpan.objects.aget(user=user)
    assert span.started_at == at(0)
    assert span.ended_at is not None


async def test_away_while_every_connection_is_away(keeper, make_user):
    user = await database_sync_to_async(make_user)("bob")
    keeper.connected("conn.a", user.pk)
    keeper.connected("conn.b", user.pk)
    keeper.changed("conn.a", "away")
    await keeper.settled()
    assert await status(user) == "online"
    keeper.changed("conn.b", "away")
    await keeper.settled()
    assert await status(user) == "away"
    # A closed tab keeps its last status through the grace.
    keeper.changed("conn.a", "online")
    keeper.closed("conn.a")
    await keeper.settled()
    assert await status(user) == "online"
    await advance(keeper, GRACE + 1)
    assert await status(user) == "away"


async def test_renewed_records_outlive_the_ttl(keeper, make_user):
    """The process renews its open connections' records: no expiry while open."""
    user = await database_sync_to_async(make_user)("bob")
    keeper.connected("conn.a", user.pk)
    await keeper.settled()
    await advance(keeper, 3 * TTL)
    assert await status(user) == "online"
    assert await database_sync_to_async(domain.has_open_page)(user.pk)


async def test_a_dead_process_leaves_no_one_online(keeper, make_user):
    """Records another process wrote and stopped renewing (killed) run out:
    the sweep finds its user offline within the TTL, and the span closes."""
    user = await database_sync_to_async(make_user)("bob")
    # The other process: online from 0, its record last renewed at TTL / 2
    # (living TTL / 2 more), then killed.
    record = Record("online", BASE + TTL, True)
    await keeper.store.put({"conn.dead.1": (user.pk, record)})
    await database_sync_to_async(domain.record_statuses)({user.pk: "online"}, at(0))
    await advance(keeper, TTL - 1)
    assert await status(user) == "online"
    # Within the TTL of its death, offline (the sweep runs every TTL / 4).
    await advance(keeper, TTL / 4 + 2)
    assert await status(user) == "offline"
    row = await Presence.objects.aget(pk=user.pk)
    assert row.last_active_at == at(TTL / 2)  # its last renewal
    was_online = database_sync_to_async(domain.was_online_at)
    assert await was_online(user.pk, at(5))
    assert not await was_online(user.pk, at(TTL / 2 + 5))
    assert not await was_online(user.pk, at(-5))
    assert await keeper.store.read([user.pk]) == {user.pk: {}}  # cleaned up


async def test_a_change_is_told_at_most_once_per_debounce(keeper, make_user, listener):
    """online, then away 2 s later: the away frame goes out 10 s after the
    online one, not before; away and back within it sends nothing more."""
    bob = await database_sync_to_async(make_user)("bob")
    alice = await database_sync_to_async(make_user)("alice")
    from chat.services.rooms import direct_conversation_for

    await database_sync_to_async(direct_conversation_for)(alice, bob)
    await listener.join(f"user.{alice.pk}")
    keeper.connected("conn.a", bob.pk)
    await keeper.settled()
    first = await listener.receive()
    assert first["type"] == "chat.presence"
    assert '"status":"online"' in first["text"]
    await advance(keeper, 2)
    keeper.changed("conn.a", "away")
    await keeper.settled()
    await advance(keeper, DEBOUNCE - 4)
    await listener.assert_nothing()
    await advance(keeper, 3)
    second = await listener.receive()
    assert '"status":"away"' in second["text"]
    # Away and back within the next debounce: nothing to tell.
    keeper.changed("conn.a", "online")
    keeper.changed("conn.a", "away")
    await keeper.settled()
    await advance(keeper, DEBOUNCE + 1)
    await listener.assert_nothing()
    assert keeper.frames_published == 2


async def test_has_open_page_counts_open_connections_only(keeper, make_user):
    user = await database_sync_to_async(make_user)("bob")
    open_page = database_sync_to_async(domain.has_open_page)
    assert not await open_page(user.pk)
    keeper.connected("conn.a", user.pk)
    await keeper.settled()
    assert await open_page(user.pk)
    keeper.closed("conn.a")  # in its grace, shown online still, but closed
    await keeper.settled()
    assert not await open_page(user.pk)
    assert await status(user) == "online"
