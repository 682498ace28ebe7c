"""The process's hub: one layer subscription per group, each member served once.

Members here are stand-ins that record what they are handed; the channel layer
is the run's own (in-memory, or Redis in the services pass). Two `Hub` objects
on one layer stand for two processes.
"""

import asyncio

import pytest
from channels.layers import get_channel_layer

from chat import events
from chat.realtime.hub import Hub
from chat.realtime.layer import PlainLayerAdapter, realtime_layer

TIMEOUT = 5
SILENCE = 0.3


class Member:
    def __init__(self, *, fail: bool = False) -> None:
        self.events: list[dict] = []
        self.fail = fail
        self.arrived = asyncio.Event()

    async def receive_event(self, event: dict) -> None:
        if self.fail:
            raise ConnectionError("this socket is gone")
        self.events.append(event)
        self.arrived.set()

    async def receive_frame(self, out: dict, event: dict) -> None:
        assert out == {"type": "websocket.send", "text": event["text"]}
        await self.receive_event(event)

    async def wait(self, count: int) -> None:
        async with asyncio.timeout(TIMEOUT):
            while len(self.events) < count:
                self.arrived.clear()
                await self.arrived.wait()


def frame(text: str, message_id: int = 1) -> dict:
    return {"type": events.FRAME, "text": text, "message_id": message_id}


@pytest.fixture
async def hubs():
    """Hubs made by the test; every group they joined is left at the end."""
    made: list[Hub] = []

    def make(layer=None) -> Hub:
        made.append(Hub(layer or realtime_layer(get_channel_layer())))
        return made[-1]

    yield make
    for hub in made:
        for group, subscription in list(hub.groups.items()):
            for member in list(subscription.members):
                await hub.leave(group, member)


async def test_two_members_each_get_exactly_one_frame(hubs):
    """Two sockets in a room: one published frame reaches each exactly once."""
    hub, first, second = hubs(), Member(), Member()
    await hub.join("room.901", first)
    await hub.join("room.901", second)
    await get_channel_layer().group_send("room.901", frame("hi"))
    await first.wait(1)
    await second.wait(1)
    await asyncio.sleep(SILENCE)
    assert first.events == [frame("hi")]
    assert second.events == [frame("hi")]


async def test_a_user_in_two_tabs_gets_it_on_both(hubs):
    """Both connections of one user (its user group) get a direct message."""
    hub, tab1, tab2 = hubs(), Member(), Member()
    await hub.join("user.902", tab1)
    await hub.join("user.902", tab2)
    await hub.join("room.902", tab1)
    await get_channel_layer().group_send("user.902", frame("psst"))
    await tab1.wait(1)
    await tab2.wait(1)
    await asyncio.sleep(SILENCE)
    assert tab1.events == tab2.events == [frame("psst")]


async def test_leaving_stops_delivery_and_the_last_one_out_unsubscribes(hubs):
    """A member that left gets nothing more; with none left the process leaves."""
    hub, staying, leaving = hubs(), Member(), Member()
    await hub.join("room.903", staying)
    await hub.join("room.903", leaving)
    await hub.leave("room.903", leaving)
    layer = get_channel_layer()
    await layer.group_send("room.903", frame("one"))
    await staying.wait(1)
    await asyncio.sleep(SILENCE)
    assert leaving.events == []
    await hub.leave("room.903", staying)
    assert "room.903" not in hub.groups
    await layer.group_send("room.903", frame("two"))
    await asyncio.sleep(SILENCE)
    assert staying.events == [frame("one")]


async def test_a_failing_member_does_not_stop_the_others(hubs):
    """A socket that raises on send costs only itself its frame."""
    hub, broken, fine = hubs(), Member(fail=True), Member()
    await hub.join("room.904", broken)
    await hub.join("room.904", fine)
    await get_channel_layer().group_send("room.904", frame("a"))
    await get_channel_layer().group_send("room.904", frame("b"))
    await fine.wait(2)
    assert fine.events == [frame("a"), frame("b")]


async def test_membership_events_run_apart_from_frames(hubs):
    """A member stuck on a membership event does not hold up frames to others."""
    hub, stuck, fine = hubs(), Member(), Member()
    release = asyncio.Event()

    record = stuck.receive_event

    async def slow(event):
        if event["type"] == events.SUBSCRIBE:
            await release.wait()
        await record(event)

    stuck.receive_event = slow
    await hub.join("user.905", stuck)
    await hub.join("user.905", fine)
    layer = get_channel_layer()
    await layer.group_send("user.905", {"type": events.SUBSCRIBE, "group": "room.1"})
    await layer.group_send("user.905", frame("after"))
    await fine.wait(2)
    await stuck.wait(1)
    assert fine.events[1] == frame("after")
    assert stuck.events == [frame("after")]
    release.set()
    await stuck.wait(2)


async def test_each_process_gets_one_layer_message_per_group(hubs):
    """Two processes with two members each: one layer message reaches each
    process once, and each of its members once."""
    layer = get_channel_layer()
    received: list[str] = []
    original_receive, original_listen = layer.receive, layer.listen

    async def counting_receive(channel):
        message = await original_receive(channel)
        received.append(channel)
        return message

    def counting_listen(channel, callback):
        def counting_callback(message):
            received.append(channel)
            callback(message)

        original_listen(channel, counting_callback)

    # Read by a receive, or handed to a listener (our two layers).
    layer.receive, layer.listen = counting_receive, counting_listen
    try:
        one, two = hubs(), hubs()
        members = [Member() for _ in range(4)]
        await one.join("room.906", members[0])
        await one.join("room.906", members[1])
        await two.join("room.906", members[2])
        await two.join("room.906", members[3])
        await layer.group_send("room.906", frame("hello"))
        for member in members:
            await member.wait(1)
        await asyncio.sleep(SILENCE)
    finally:
        del layer.receive, layer.listen
    assert [member.events for member in members] == [[frame("hello")]] * 4
    channels = {one.groups["room.906"].channel, two.groups["room.906"].channel}
    assert sorted(received) == sorted(channels)


async def delivered_here(hub: Hub, group: str, event: dict) -> dict:
    """Deliver `event` here first, as chat.events does: what the layer gets."""
    tag = await hub.deliver_here(group, event)
    return event if tag is None else {**event, events.DELIVERED_IN: tag}


async def test_a_message_delivered_here_first_is_not_delivered_again(hubs):
    """A process's own message reaches its members at once, and only once,
    though the layer brings it back too."""
    hub, member = hubs(), Member()
    await hub.join("room.907", member)
    own = frame("mine", 41)
    published = await delivered_here(hub, "room.907", own)
    assert member.events == [own]
    layer = get_channel_layer()
    await layer.group_send("room.907", published)
    await layer.group_send("room.907", frame("theirs"))
    await member.wait(2)
    await asyncio.sleep(SILENCE)
    assert member.events == [own, frame("theirs")]


async def test_a_batch_delivers_each_of_its_frames_once_in_order(hubs):
    """One layer message carrying three frames: each member gets the three
    frames, once each, in the batch's order, and the frames that follow it."""
    hub, first, second = hubs(), Member(), Member()
    await hub.join("room.910", first)
    await hub.join("room.910", second)
    batch = [frame("a", 51), frame("b", 52), frame("c", 53)]
    layer = get_channel_layer()
    await layer.group_send("room.910", events.frames_event(batch))
    await layer.group_send("room.910", frame("d", 54))
    await first.wait(4)
    await second.wait(4)
    await asyncio.sleep(SILENCE)
    assert first.events == second.events == [*batch, frame("d", 54)]


async def test_a_batch_of_this_process_is_not_delivered_twice(hubs):
    """Frames delivered here first are dropped from the batch the layer brings
    back; the rest of it is still delivered."""
    hub, member = hubs(), Member()
    await hub.join("room.911", member)
    mine = [frame("one", 61), frame("two", 62)]
    published = [await delivered_here(hub, "room.911", own) for own in mine]
    assert member.events == mine
    layer = get_channel_layer()
    theirs = frame("theirs", 63)
    await layer.group_send("room.911", events.frames_event([*published, theirs]))
    await member.wait(3)
    await asyncio.sleep(SILENCE)
    assert member.events == [*mine, theirs]


async def test_a_batch_of_another_process_is_delivered(hubs):
    """Two processes in a room: the batch one of them delivered first reaches
    the other's members, each frame once, and not the sender's again."""
    one, two, here, there = hubs(), hubs(), Member(), Member()
    await one.join("room.912", here)
    await two.join("room.912", there)
    mine = [frame("a", 71), frame("b", 72)]
    published = [await delivered_here(one, "room.912", own) for own in mine]
    await get_channel_layer().group_send("room.912", events.frames_event(published))
    await there.wait(2)
    await asyncio.sleep(SILENCE)
    assert here.events == mine
    assert [event["text"] for event in there.events] == ["a", "b"]


async def test_no_backlog_makes_the_hub_forget_its_own_messages(hubs):
    """More of its own messages than the old echo list kept (10,000) on their
    way back at once: not one is delivered twice."""
    hub, member = hubs(), Member()
    await hub.join("room.913", member)
    count = 10_050
    published = [
        await delivered_here(hub, "room.913", frame(str(n), n)) for n in range(count)
    ]
    layer = get_channel_layer()
    for start in range(0, count, 200):
        await layer.group_send(
            "room.913", events.frames_event(published[start : start + 200])
        )
    await layer.group_send("room.913", frame("theirs", count))
    await member.wait(count + 1)
    await asyncio.sleep(SILENCE)
    assert len(member.events) == count + 1
    assert member.events[-1] == frame("theirs", count)


async def test_a_subscription_made_after_the_delivery_gets_the_copy(hubs):
    """The group's only member left and another joined before the layer brought
    the message back: the newcomer, who never had it, gets it."""
    hub, leaving, coming = hubs(), Member(), Member()
    await hub.join("room.914", leaving)
    published = await delivered_here(hub, "room.914", frame("late", 81))
    await hub.leave("room.914", leaving)
    await hub.join("room.914", coming)
    await get_channel_layer().group_send("room.914", published)
    await coming.wait(1)
    assert [event["text"] for event in coming.events] == ["late"]
    assert [event["text"] for event in leaving.events] == ["late"]


async def test_a_frame_published_from_another_event_loop_is_not_dropped(hubs):
    """A sync caller publishes from a loop of its own: nothing is delivered
    there, nothing is tagged, and the layer's copy reaches the members."""
    hub, member = hubs(), Member()
    await hub.join("room.915", member)

    async def publish_elsewhere() -> dict:
        published = await delivered_here(hub, "room.915", frame("far", 91))
        await get_channel_layer().group_send("room.915", published)
        return published

    published = await asyncio.to_thread(asyncio.run, publish_elsewhere())
    assert events.DELIVERED_IN not in published
    await member.wait(1)
    assert member.events == [frame("far", 91)]


async def test_on_a_layer_that_cannot_listen_a_task_reads_each_group(hubs):
    """Any channel layer will do: without `listen`, the group's channel is read
    by a receive of its own, with the same deliveries."""
    layer = get_channel_layer()

    class PlainLayer:
        """channels' layer API only."""

        def __getattr__(self, name):
            if name in ("listen", "unlisten"):
                raise AttributeError(name)
            return getattr(layer, name)

    hub, member = hubs(PlainLayerAdapter(PlainLayer())), Member()
    await hub.join("room.908", member)
    assert hub.groups["room.908"].channel in hub.layer.readers
    await layer.group_send("room.908", frame("read"))
    await member.wait(1)
    await hub.leave("room.908", member)
    assert "room.908" not in hub.groups


async def test_an_event_sent_from_another_threads_loop_reaches_the_members(hubs):
    """A sync caller (an admin action, a command) publishes from an event loop
    of its own: the members still get the event, in the hub's loop."""
    hub, member = hubs(), Member()
    await hub.join("room.909", member)
    layer = get_channel_layer()
    await asyncio.to_thread(asyncio.run, layer.group_send("room.909", frame("far")))
    await member.wait(1)
    assert member.events == [frame("far")]
