"""The outbox relay: how a manage.py process reaches the server's in-memory layer."""

import asyncio

import pytest
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from django.conf import settings

from chat import events
from chat.models import OutboxEvent
from chat.realtime.layer import realtime_layer
from chat.realtime.publishing import LayerSender
from chat.realtime.relay import outbox_in_use
from chat.realtime.runtime import Runtime

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def relay(settings, monkeypatch):
    """The setting on, a fast relay; the layer of the run."""
    settings.CHAT_RELAY_OTHER_PROCESSES = True
    monkeypatch.setattr("chat.realtime.relay.INTERVAL_SECONDS", 0.05)
    return realtime_layer(get_channel_layer())


ON_REDIS = bool(settings.REDIS_URL)
in_memory_only = pytest.mark.skipif(
    ON_REDIS, reason="the outbox serves the in-memory layer only (REDIS_URL is set)"
)


def test_with_redis_every_process_publishes_itself(relay):
    """A shared layer reaches every process: nothing goes through the outbox."""
    assert outbox_in_use(relay) is not ON_REDIS


@in_memory_only
async def test_a_process_that_serves_no_sockets_writes_the_outbox(relay, no_runtime):
    """A command's events go to the outbox, not to a layer nobody listens to."""
    assert outbox_in_use(relay)
    await events.publish_membership(user_id=7, conversation=await _room(), joined=False)
    row = await database_sync_to_async(OutboxEvent.objects.get)()
    assert row.groups == ["user.7"]
    assert row.event["type"] == events.UNSUBSCRIBE


@in_memory_only
async def test_a_batch_of_frames_goes_through_the_outbox_as_it_is(relay):
    """A layer message of several frames is stored whole: the serving process
    publishes the same batch, and its hub hands out each frame."""
    frames = [
        {"type": events.FRAME, "text": text, "message_id": number}
        for number, text in enumerate(["one", "two"], start=1)
    ]
    batch = events.frames_event(frames)
    sender = LayerSender(relay, outbox=outbox_in_use(relay))
    assert await sender.send_in_order([(["room.7"], batch)])
    row = await database_sync_to_async(OutboxEvent.objects.get)()
    assert (row.groups, row.event) == (["room.7"], batch)


@in_memory_only
async def test_the_serving_process_publishes_the_outbox_to_its_layer(relay):
    """daphne's relay hands each outbox event to its groups, once, in id order."""
    serving = Runtime()
    assert serving.relay is not None
    assert not serving.sender.outbox
    layer = get_channel_layer()
    channel = await layer.new_channel()
    await layer.group_add("user.7", channel)
    serving.start()
    try:
        await asyncio.sleep(0.1)  # the relay starts from the newest row
        for text in ["one", "two"]:
            await database_sync_to_async(OutboxEvent.objects.create)(
                groups=["user.7"], event={"type": events.FRAME, "text": text}
            )
        got = [await asyncio.wait_for(layer.receive(channel), 2) for _ in range(2)]
        assert [event["text"] for event in got] == ["one", "two"]
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(layer.receive(channel), 0.3)
    finally:
        await serving.stop()
        await layer.group_discard("user.7", channel)


async def _room():
    from chat.services.rooms import create_room

    return await database_sync_to_async(create_room)(slug="lobby")
