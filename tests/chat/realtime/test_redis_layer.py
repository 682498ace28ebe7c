"""The Redis layer (chat.realtime.redis_layer) across event loops: tests, scripts and
`async_to_sync` run one loop after another in a process."""

import asyncio
import threading

import pytest
from channels.layers import get_channel_layer
from django.conf import settings

pytestmark = pytest.mark.skipif(
    not settings.REDIS_URL, reason="the Redis layer (REDIS_URL is not set)"
)

TIMEOUT = 5
# The reads of loops that ended mid-read: kept, so that they are not collected
# (and reported unfinished) during another test.
abandoned: list = []


def run_loop_that_ends_mid_read(layer) -> None:
    """A loop whose receive is still reading Redis when the loop stops, its
    tasks never cancelled (a script's loop, a test's loop torn down)."""

    async def start_reading() -> None:
        channel = await layer.new_channel()
        asyncio.ensure_future(layer.receive(channel))
        await asyncio.sleep(0.3)  # the read is waiting on Redis now
        abandoned.extend(asyncio.all_tasks())

    loop = asyncio.new_event_loop()
    loop.run_until_complete(start_reading())
    loop.close()


async def test_a_loop_that_ended_mid_read_holds_nothing_up():
    """Receives in the next loop get their messages: nothing of the ended
    loop (a lock, a reader) stands in their way."""
    layer = get_channel_layer()
    thread = threading.Thread(target=run_loop_that_ends_mid_read, args=(layer,))
    thread.start()
    await asyncio.to_thread(thread.join)
    first, second = await layer.new_channel(), await layer.new_channel()
    waiting = asyncio.ensure_future(layer.receive(first))
    await layer.send(first, {"type": "a"})
    await layer.send(second, {"type": "b"})
    assert await asyncio.wait_for(waiting, TIMEOUT) == {"type": "a"}
    assert await asyncio.wait_for(layer.receive(second), TIMEOUT) == {"type": "b"}


async def test_a_receive_cancelled_as_its_message_came_loses_nothing():
    """A message handed to a receive that is cancelled before it runs goes to
    the next receive of that channel, before what came after it."""
    layer = get_channel_layer()
    channel = await layer.new_channel()
    waiting = asyncio.ensure_future(layer.receive(channel))
    await asyncio.sleep(0)
    layer._hand_over(channel, {"type": "first"})  # as the reader does
    layer._hand_over(channel, {"type": "second"})
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting
    assert await layer.receive(channel) == {"type": "first"}
    assert await layer.receive(channel) == {"type": "second"}


async def test_a_listened_channel_hands_its_messages_to_the_callback():
    """Messages of a listened channel go to its callback, in order, from the
    loop's reader; after unlisten they wait for a receive again."""
    layer = get_channel_layer()
    channel = await layer.new_channel()
    heard: list[dict] = []
    arrived = asyncio.Event()

    def hear(message):
        heard.append(message)
        if len(heard) == 2:
            arrived.set()

    layer.listen(channel, hear)
    await layer.send(channel, {"type": "a"})
    await layer.send(channel, {"type": "b"})
    await asyncio.wait_for(arrived.wait(), TIMEOUT)
    assert heard == [{"type": "a"}, {"type": "b"}]
    layer.unlisten(channel)
    await layer.send(channel, {"type": "c"})
    assert await asyncio.wait_for(layer.receive(channel), TIMEOUT) == {"type": "c"}
    assert len(heard) == 2


def test_new_redis_connections_do_not_look_up_the_client_version(monkeypatch):
    """redis-py would search the installed packages for its own version at each
    new connection: a burst of handshakes opens a hundred."""
    from redis import utils

    from chat.realtime.redis_layer import RedisChannelLayer, driver_info

    driver_info()  # once per process
    looked_up = []
    monkeypatch.setattr(utils, "get_lib_version", lambda: looked_up.append(1) or "x")
    layer = RedisChannelLayer(hosts=[{"address": settings.REDIS_URL}])
    pool = layer.create_pool(0)
    connections = [pool.make_connection() for _ in range(3)]
    assert looked_up == []
    assert {connection.driver_info.lib_version for connection in connections} != {"x"}
