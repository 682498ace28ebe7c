"""The embedded engine's in-memory layer keeps channels' contract: order,
capacity, expiry, groups, and no message lost to a cancelled receive."""

import asyncio

import pytest
from channels.exceptions import ChannelFull

from chat.realtime import memory_layer
from chat.realtime.memory_layer import InMemoryChannelLayer

TIMEOUT = 2


@pytest.fixture
def layer():
    return InMemoryChannelLayer(capacity=3, expiry=60, group_expiry=86400)


async def test_messages_arrive_in_order_whether_queued_or_awaited(layer):
    """Queued messages come out oldest first; a waiting receive gets the next."""
    channel = await layer.new_channel()
    await layer.send(channel, {"type": "a"})
    await layer.send(channel, {"type": "b"})
    assert (await layer.receive(channel))["type"] == "a"
    assert (await layer.receive(channel))["type"] == "b"
    waiting = asyncio.ensure_future(layer.receive(channel))
    await asyncio.sleep(0)
    await layer.send(channel, {"type": "c"})
    assert (await asyncio.wait_for(waiting, TIMEOUT))["type"] == "c"
    assert layer.channels == {}
    assert layer.waiting.by_channel == {}


async def test_a_receiver_gets_its_own_copy(layer):
    """What the sender changes afterwards never reaches the receiver."""
    channel = await layer.new_channel()
    message = {"type": "a", "items": [1]}
    waiting = asyncio.ensure_future(layer.receive(channel))
    await asyncio.sleep(0)
    await layer.send(channel, message)
    message["items"].append(2)
    assert (await asyncio.wait_for(waiting, TIMEOUT))["items"] == [1]


async def test_a_full_channel_refuses_and_group_send_skips_it(layer):
    """Past `capacity` a send raises ChannelFull; a group send drops it for
    that member only."""
    full, other = await layer.new_channel(), await layer.new_channel()
    for number in range(3):
        await layer.send(full, {"type": "m", "n": number})
    with pytest.raises(ChannelFull):
        await layer.send(full, {"type": "m", "n": 3})
    await layer.group_add("room.1", full)
    await layer.group_add("room.1", other)
    await layer.group_send("room.1", {"type": "m", "n": 4})
    assert (await layer.receive(other))["n"] == 4
    assert [(await layer.receive(full))["n"] for _ in range(3)] == [0, 1, 2]


async def test_group_send_reaches_each_member_once(layer):
    """Every channel of the group gets the message; a channel that left does not."""
    one, two, gone = [await layer.new_channel() for _ in range(3)]
    for channel in (one, two, gone):
        await layer.group_add("user.7", channel)
    await layer.group_discard("user.7", gone)
    await layer.group_send("user.7", {"type": "m"})
    assert await layer.receive(one) == {"type": "m"}
    assert await layer.receive(two) == {"type": "m"}
    assert gone not in layer.channels


async def test_a_cancelled_receive_loses_nothing(layer):
    """A message handed to a receive that is cancelled before it runs goes to
    the next receive, still first in line."""
    channel = await layer.new_channel()
    waiting = asyncio.ensure_future(layer.receive(channel))
    await asyncio.sleep(0)
    await layer.send(channel, {"type": "first"})
    await layer.send(channel, {"type": "second"})
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting
    assert (await layer.receive(channel))["type"] == "first"
    assert (await layer.receive(channel))["type"] == "second"


async def test_expired_messages_are_dropped_and_take_their_channel_out_of_groups(
    layer, monkeypatch
):
    """A message nobody received within `expiry` is dropped, and its channel
    leaves every group, as channels' layer does; the sweep runs once a second."""
    clock = [1000.0]
    monkeypatch.setattr(memory_layer.time, "time", lambda: clock[0])
    stale, live = await layer.new_channel(), await layer.new_channel()
    await layer.group_add("room.2", stale)
    await layer.group_add("room.2", live)
    await layer.send(stale, {"type": "old"})
    clock[0] += 61
    await layer.group_send("room.2", {"type": "new"})
    assert stale not in layer.channels
    assert set(layer.groups["room.2"]) == {live}
    assert await layer.receive(live) == {"type": "new"}


async def test_group_memberships_expire_unless_renewed(layer, monkeypatch):
    """A membership older than `group_expiry` ends; group_add renews it."""
    clock = [1000.0]
    monkeypatch.setattr(memory_layer.time, "time", lambda: clock[0])
    layer.group_expiry = 100
    old, renewed = await layer.new_channel(), await layer.new_channel()
    layer.groups["room.3"] = {old: 900.0, renewed: 900.0}
    await layer.group_add("room.3", renewed)
    clock[0] += 2
    await layer.group_send("room.3", {"type": "m"})
    assert set(layer.groups["room.3"]) == {renewed}
    assert await layer.receive(renewed) == {"type": "m"}


async def test_a_listened_channel_hands_each_message_to_its_callback(layer):
    """What was waiting and what comes next go to the listener (copies), in
    order; after unlisten, messages wait for a receive again."""
    channel = await layer.new_channel()
    await layer.send(channel, {"type": "waiting"})
    heard: list[dict] = []
    layer.listen(channel, heard.append)
    message = {"type": "next", "items": [1]}
    await layer.group_add("room.4", channel)
    await layer.group_send("room.4", message)
    message["items"].append(2)
    assert heard == [{"type": "waiting"}, {"type": "next", "items": [1]}]
    layer.unlisten(channel)
    await layer.send(channel, {"type": "later"})
    assert len(heard) == 2
    assert await layer.receive(channel) == {"type": "later"}


async def test_a_failing_listener_costs_only_itself(layer):
    """The sender and the group's other members go on."""
    broken, fine = await layer.new_channel(), await layer.new_channel()

    def fail(message):
        raise RuntimeError("this listener is broken")

    heard: list[dict] = []
    layer.listen(broken, fail)
    layer.listen(fine, heard.append)
    await layer.group_add("room.5", broken)
    await layer.group_add("room.5", fine)
    await layer.group_send("room.5", {"type": "m"})
    assert heard == [{"type": "m"}]
