"""The process's registry of open connections: renewal and catch-up order."""

import asyncio

import pytest
from channels.layers import get_channel_layer

from chat.realtime.clock import ManualClock
from chat.realtime.connections import LocalConnections


class FakeConnection:
    def __init__(self, steps: list, name: str, *, fail_renew: bool = False):
        self.steps = steps
        self.name = name
        self.fail_renew = fail_renew
        self.seen_id = 7
        self.seen_change_id = 3

    async def renew_groups(self) -> None:
        if self.fail_renew:
            raise ConnectionError("redis still away")
        self.steps.append(("renew", self.name))
        self.seen_id = 9  # a live frame arrived as soon as the groups were back
        self.seen_change_id = 4

    async def catch_up(self, *, after: int, after_change: int | None = None) -> None:
        self.steps.append(("catch_up", self.name, after))
        self.changes_from = after_change

    async def close_for_restart(self) -> None:
        self.steps.append(("close", self.name))


async def test_after_an_outage_all_are_live_again_before_any_catches_up():
    """Every connection re-joins its groups first, then each is caught up from
    where it was before the outage ended (not from a later live frame)."""
    steps: list = []
    registry = LocalConnections(get_channel_layer())
    registry.open = {FakeConnection(steps, "a"), FakeConnection(steps, "b")}
    assert await registry.renew_all(after_outage=True)
    assert sorted(steps[:2]) == [("renew", "a"), ("renew", "b")]
    assert sorted(steps[2:]) == [("catch_up", "a", 7), ("catch_up", "b", 7)]
    # The changes likewise, from the change_id seen before the outage ended.
    assert [c.changes_from for c in registry.open] == [3, 3]


async def test_a_periodic_renewal_catches_nobody_up():
    """The quarter-of-group_expiry renewal only re-adds groups."""
    steps: list = []
    registry = LocalConnections(get_channel_layer())
    registry.open = {FakeConnection(steps, "a")}
    assert await registry.renew_all()
    assert steps == [("renew", "a")]


async def test_a_failed_renewal_is_reported_and_nobody_is_caught_up_yet():
    """If Redis fails again, the keeper retries later instead of catching up now."""
    steps: list = []
    registry = LocalConnections(get_channel_layer())
    registry.open = {
        FakeConnection(steps, "a"),
        FakeConnection(steps, "b", fail_renew=True),
    }
    assert not await registry.renew_all(after_outage=True)
    assert steps == [("renew", "a")]


async def test_wait_until_empty_returns_when_the_last_connection_leaves():
    """Shutdown waits for the registry to empty, and no longer."""
    steps: list = []
    registry = LocalConnections(get_channel_layer())
    first, second = FakeConnection(steps, "a"), FakeConnection(steps, "b")
    registry.open = {first, second}
    waiter = asyncio.ensure_future(registry.wait_until_empty())
    await asyncio.sleep(0)
    registry.discard(first)
    await asyncio.sleep(0)
    assert not waiter.done()
    registry.discard(second)
    await asyncio.wait_for(waiter, 1)


class Beating:
    """A connection that notes when it is pinged and when it is counted again."""

    def __init__(self, clock, *, slow_count: float = 0.0):
        self.clock = clock
        self.seen_id = 0
        self.pings: list[float] = []
        self.counted: list[float] = []
        self.slow_count = slow_count

    async def heartbeat(self) -> None:
        self.pings.append(self.clock.now())

    async def keep_counted(self) -> None:
        await self.clock.sleep(self.slow_count)
        self.counted.append(self.clock.now())


async def test_one_timer_pings_each_connection_every_heartbeat(settings):
    """Each connection is pinged every CHAT_HEARTBEAT_SECONDS from when it was
    added, and counted again after each ping; a closed one is not pinged."""
    settings.CHAT_HEARTBEAT_SECONDS = 0.2
    clock = ManualClock()
    registry = LocalConnections(get_channel_layer(), clock=clock)
    first, second = Beating(clock), Beating(clock)
    start = clock.now()
    registry.add(first)
    await clock.advance(0.1)
    registry.add(second)
    await clock.advance(0.45)
    registry.discard(first)
    await clock.advance(0.3)
    assert [round(t - start, 3) for t in first.pings] == [0.2, 0.4]
    assert [round(t - start, 3) for t in second.pings] == [0.3, 0.5, 0.7]
    assert len(second.counted) == 3
    registry.discard(second)
    await clock.advance(0.25)
    assert registry.beater.done()  # nobody left: the timer stopped
    assert len(second.pings) == 3


async def test_a_slow_count_never_delays_the_pings(settings):
    """Renewing the count may wait on Redis; the pings keep their time."""
    settings.CHAT_HEARTBEAT_SECONDS = 0.1
    clock = ManualClock()
    registry = LocalConnections(get_channel_layer(), clock=clock)
    slow, other = Beating(clock, slow_count=1.0), Beating(clock)
    start = clock.now()
    registry.add(slow)
    registry.add(other)
    await clock.advance(0.35)
    assert [round(t - start, 3) for t in other.pings] == [0.1, 0.2, 0.3]
    assert len(slow.pings) == 3
    registry.discard(slow)
    registry.discard(other)
    await registry.close()


@pytest.mark.django_db(transaction=True)
async def test_a_catch_up_goes_back_to_before_the_outage_began(make_user, make_room):
    """A connection's seen_id moves with its own process's messages, delivered
    here while Redis was away: the catch-up still starts before the outage
    (less how long it may have gone unnoticed), so what other processes sent
    into it comes too."""
    from asgiref.sync import sync_to_async
    from django.utils import timezone

    from chat.models import Message, MessageChange

    @sync_to_async
    def messages_around(noticed):
        alice = make_user("alice")
        room = make_room("lobby", owner=alice)
        ids = []
        for seconds_before, body in [(60, "long before"), (1, "into the outage")]:
            ids.append(
                Message.objects.create(
                    conversation=room,
                    sender=alice,
                    body=body,
                    client_id=body,
                    created_at=noticed - timezone.timedelta(seconds=seconds_before),
                ).pk
            )
        for seconds_before, message_id in [(60, ids[0]), (1, ids[1])]:
            ids.append(
                MessageChange.objects.create(
                    conversation=room,
                    message_id=message_id,
                    kind="message.edited",
                    frame={},
                    created_at=noticed - timezone.timedelta(seconds=seconds_before),
                ).pk
            )
        return ids

    noticed = timezone.now()
    before, during, change_before, change_during = await messages_around(noticed)

    class Layer:
        failing_since = noticed.timestamp()
        unnoticed_seconds = 2.5

    steps: list = []
    connection = FakeConnection(steps, "a")
    connection.seen_id = during + 1  # its own message, delivered during the outage
    connection.seen_change_id = change_during + 1  # and its own change
    registry = LocalConnections(Layer())
    registry.open = {connection}
    assert await registry.renew_all(after_outage=True)
    assert steps[-1] == ("catch_up", "a", before)
    assert connection.changes_from == change_before
