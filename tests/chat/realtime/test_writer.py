"""The process's writer and publisher: the WebSocket's path of a message, and
new messages going to the layer a batch at a time.

The messages are stored by sync fixtures; the publisher only reads them. The
channel layer is the run's own (in-memory, or Redis in the services pass).
"""

import asyncio

import pytest
from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from django.db import connections

from chat import events
from chat.models import Message
from chat.realtime.publishing import Unpublished
from chat.realtime.writer import Publisher, _batched, submit_message
from chat.services.messages import store_messages

TIMEOUT = 5

pytestmark = pytest.mark.django_db


@pytest.fixture
def lobby_messages(make_user, make_room):
    """Three new messages in room `lobby`, by two senders, in id order."""
    alice, bob = make_user("alice"), make_user("bob")
    room = make_room("lobby", owner=alice, members=[bob])
    requests = [
        {"sender": sender, "room": "lobby", "body": body, "client_id": body}
        for sender, body in [(alice, "one"), (bob, "two"), (alice, "three")]
    ]
    return room, [message for message, _ in store_messages(requests)]


@pytest.fixture
def unpublished(runtime):
    """The runtime's queue of failed sends, empty before and after the test."""
    runtime.unpublished.clear()
    yield runtime.unpublished
    runtime.unpublished.clear()


async def publish_all(publisher: Publisher, messages) -> None:
    """Hand `messages` over one after another, as the writer does, and wait
    until the publisher has sent them."""
    for message in messages:
        await publisher.publish(message)
    await asyncio.wait_for(publisher.task, TIMEOUT)


async def test_messages_waiting_together_go_out_as_one_layer_message(
    lobby_messages, listener, runtime
):
    """Three messages of a room handed over at once: one layer message for the
    room's group, carrying their frames in id order."""
    room, messages = lobby_messages
    await listener.join(events.room_group(room.pk))
    await publish_all(Publisher(runtime.hub, runtime.sender), messages)
    event = await listener.receive()
    assert event == {
        "type": events.FRAMES,
        "frames": [events.message_event(message) for message in messages],
    }


async def test_a_failed_batch_is_published_again_whole_and_in_order(
    lobby_messages, listener, unpublished, monkeypatch, runtime
):
    """While the layer fails, the batch is kept as one; once it answers,
    `republish` sends that same layer message."""
    room, messages = lobby_messages
    group = events.room_group(room.pk)
    await listener.join(group)
    layer = get_channel_layer()

    async def broken_group_send(group, message):
        raise ConnectionError("layer down")

    monkeypatch.setattr(layer, "group_send", broken_group_send)
    await publish_all(Publisher(runtime.hub, runtime.sender), messages)
    batch = events.frames_event([events.message_event(m) for m in messages])
    assert list(unpublished) == [([group], batch)]
    monkeypatch.undo()
    assert await runtime.sender.republish()
    assert await listener.receive() == batch
    assert not unpublished


def test_what_waits_to_be_published_again_is_bounded_by_frames():
    """A batch counts as many frames as it carries: past the limit the oldest
    sends are dropped (their clients sync), the newest kept in order."""
    kept = Unpublished(limit=5)
    frame = {"type": events.FRAME, "text": "", "message_id": 1}
    batch = events.frames_event([frame] * 3)
    sends = [(["room.1"], batch), (["room.2"], frame), (["room.1"], batch)]
    kept.keep(sends)
    assert list(kept) == sends[1:]
    assert kept.frames == 4
    kept.drop(sends[2])  # not the first: still waiting
    assert list(kept) == sends[1:]
    kept.drop(sends[1])
    assert (list(kept), kept.frames) == (sends[2:], 3)


def queued(*pairs: tuple[int, list[str]]) -> list[list[tuple[str, dict]]]:
    """The publisher's queue: per (message id, groups), each group's event."""
    return [
        [
            (group, {"type": events.FRAME, "text": "", "message_id": id_})
            for group in groups
        ]
        for id_, groups in pairs
    ]


def shape(sends) -> list[tuple[str, list[int]]]:
    """The layer messages as (group, message ids)."""
    out = []
    for (group,), event in sends:
        batch = event["frames"] if event["type"] == events.FRAMES else [event]
        out.append((group, [frame["message_id"] for frame in batch]))
    return out


def test_each_group_gets_one_layer_message_per_run():
    """A direct message goes to both users' groups; a run ends only where a
    group it left comes back, so that no frame overtakes an older one."""
    messages = queued(
        (1, ["room.1"]),
        (2, ["room.1"]),
        (3, ["user.1", "user.2"]),
        (4, ["user.1", "user.2"]),
        (5, ["room.2"]),
        (6, ["room.1"]),
    )
    assert shape(_batched(messages)) == [
        ("room.1", [1, 2]),
        ("user.1", [3, 4]),
        ("user.2", [3, 4]),
        ("room.2", [5]),
        ("room.1", [6]),
    ]


# --- the WebSocket's path: store in a batch, acknowledge, then fan out -------------


async def send_over_the_writer(runtime, *, on_stored=None, **request):
    """A message.send as the consumer hands it over (realtime.writer), until
    it has been acknowledged and handed to the publisher."""
    done = asyncio.get_running_loop().create_future()

    async def stored(message, created):
        if on_stored is not None:
            await on_stored(message, created)
        done.set_result((message, created))

    async def failed(error):
        done.set_exception(error)

    request = {"room": None, "to": None, "client_id": None, **request}
    submit_message(
        runtime.writer, runtime.publisher, request, on_stored=stored, on_failed=failed
    )
    result = await asyncio.wait_for(done, TIMEOUT)
    await asyncio.sleep(0)  # the publisher's turn, right after the answer
    await runtime.publisher.flush()
    return result


@pytest.fixture
def alice(make_user):
    return make_user("alice")


@pytest.fixture
def bob(make_user):
    return make_user("bob")


@pytest.fixture
def lobby(make_room, alice, bob):
    return make_room("lobby", owner=alice, members=[bob])


@pytest.mark.django_db(transaction=True)
async def test_asend_acknowledges_before_it_publishes_once(
    alice, lobby, listener, monkeypatch, runtime
):
    """The sender's ack comes first; the room's group then gets the frame once."""
    await listener.join(events.room_group(lobby.pk))
    steps = []
    publish = runtime.publisher.publish

    async def recording_publish(message):
        steps.append(("publish", message.pk))
        return await publish(message)

    async def on_stored(message, created):
        steps.append(("ack", message.pk, created))

    monkeypatch.setattr(runtime.publisher, "publish", recording_publish)
    message, created = await send_over_the_writer(
        runtime,
        sender=alice,
        room="lobby",
        body="hi",
        client_id="a1",
        on_stored=on_stored,
    )
    assert created
    assert steps == [("ack", message.pk, True), ("publish", message.pk)]
    assert await listener.receive() == {
        "type": events.FRAME,
        "text": events.message_frame(message),
        "message_id": message.id,
    }
    await listener.assert_nothing()

    steps.clear()
    again, created = await send_over_the_writer(
        runtime,
        sender=alice,
        room="lobby",
        body="hi",
        client_id="a1",
        on_stored=on_stored,
    )
    assert not created
    assert again.pk == message.pk
    assert steps == [("ack", message.pk, False)]
    await listener.assert_nothing()


@pytest.mark.django_db(transaction=True)
async def test_asend_direct_message_reaches_both_users_groups(
    alice, bob, listener, runtime
):
    """A direct message goes to the sender's and the recipient's user groups."""
    await listener.join(events.user_group(bob.pk))
    await listener.join(events.user_group(alice.pk))
    message, _ = await send_over_the_writer(
        runtime, sender=alice, to="bob", body="psst"
    )
    text = events.message_frame(message)
    event = {"type": events.FRAME, "text": text, "message_id": message.id}
    assert await listener.receive() == event
    assert await listener.receive() == event
    await listener.assert_nothing()


@pytest.mark.django_db(transaction=True)
async def test_layer_failure_keeps_the_message_and_the_ack(
    alice, lobby, monkeypatch, runtime
):
    """A channel layer that fails neither un-stores nor un-acks a message."""
    layer = get_channel_layer()

    async def broken_group_send(group, message):
        raise ConnectionError("layer down")

    monkeypatch.setattr(layer, "group_send", broken_group_send)
    acks = []

    async def on_stored(message, created):
        acks.append(message.pk)

    message, created = await send_over_the_writer(
        runtime,
        sender=alice,
        room="lobby",
        body="kept",
        client_id="k",
        on_stored=on_stored,
    )
    assert created
    assert acks == [message.pk]
    stored = await database_sync_to_async(Message.objects.get)(pk=message.pk)
    assert stored.body == "kept"
    await sync_to_async(connections.close_all)()


@pytest.fixture
def lobby_change(lobby_messages):
    """An edit of the lobby's first message, stored (not published)."""
    from chat.models import MessageChange
    from chat.services.changes import store_edit

    _, messages = lobby_messages
    stored = store_edit(
        user=messages[0].sender, message_id=messages[0].id, body="one, edited"
    )
    return MessageChange.objects.select_related("conversation").get(pk=stored.change.pk)


async def test_changes_take_the_queue_of_the_messages_in_the_order_handed(
    lobby_messages, lobby_change, listener, runtime
):
    """A message, a change, a message handed over together: one layer message
    for the room, their frames in the order they were handed, the change's
    with its change_id."""
    room, messages = lobby_messages
    await listener.join(events.room_group(room.pk))
    publisher = Publisher(runtime.hub, runtime.sender)
    await publisher.publish(messages[1])
    await publisher.publish_change(lobby_change)
    await publisher.publish(messages[2])
    await asyncio.wait_for(publisher.task, TIMEOUT)
    change_event = events.change_event(lobby_change)
    assert change_event["change_id"] == lobby_change.id
    assert await listener.receive() == {
        "type": events.FRAMES,
        "frames": [
            events.message_event(messages[1]),
            change_event,
            events.message_event(messages[2]),
        ],
    }


@pytest.mark.django_db(transaction=True)
async def test_other_writes_run_on_the_writer_thread_and_keep_its_connection(
    runtime,
):
    """writer.run: the consumers' changes reuse the writer's one thread and its
    kept database connection; a database error closes it and is raised."""
    import threading

    from django.db import DatabaseError, connection

    def where() -> tuple[str, object]:
        connection.ensure_connection()
        return threading.current_thread().name, connection.connection

    def failing() -> None:
        connection.ensure_connection()
        raise DatabaseError("gone")

    writer = runtime.writer
    name, first = await writer.run(where)
    _, again = await writer.run(where)
    assert name.startswith("chat-writer")
    assert again is first
    with pytest.raises(DatabaseError):
        await writer.run(failing)
    _, after = await writer.run(where)
    assert after is not first
