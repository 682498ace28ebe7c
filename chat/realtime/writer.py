"""Group commit for the consumers' messages: one thread hop and one transaction
for every `message.send` waiting at that moment.

Every database call of the process queues for one thread
(`database_sync_to_async`), so a message stored on its own pays a thread hop, a
database connection, the ordering lock and a commit. Here the first message to
arrive starts a batch; those that arrive while a batch is being stored go in the
next one. Each sender still hears about its own message only once the batch has
committed: store, then ack, then fan out.

The answers of a batch are handed out in the order the messages arrived, and
the fan-out of new messages goes through one ordered queue per process
(`Publisher`), so that the members hear a process's messages in the order of
their ids even when publishing waits on Redis.
"""

import asyncio
import functools
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, TypeVar

from django.db import DatabaseError, connection, connections

from chat import events
from chat.errors import Unavailable
from chat.models import Message, MessageChange
from chat.services.messages import store_messages

if TYPE_CHECKING:
    from .hub import Hub
    from .publishing import LayerSender

logger = logging.getLogger(__name__)

T = TypeVar("T")

# A batch is at most this many messages (one transaction, one lock hold).
MAX_BATCH = 200
# The writer's thread keeps its database connection while messages keep coming,
# and closes it once none came for this long.
IDLE_CLOSE_SECONDS = 1.0
# A layer message carries at most this many new messages (Publisher).
PUBLISH_BATCH = 200

# What a batch answers for one request: (message, created) or the error.
OnResult = Callable[[object], Awaitable[None]]


def _store_in_thread(requests: list[dict]) -> list:
    """store_messages on the writer thread's own, kept, database connection.

    A connection that fails is closed. If it was an old one (the database
    restarted since, say), the batch is tried once more on a new connection:
    nothing of a failed batch was committed, and a client_id stores once.
    """
    reused = connection.connection is not None
    results: list = store_messages(requests)
    if any(isinstance(result, Unavailable) for result in results):
        connection.close()
        if reused:
            results = store_messages(requests)
            if any(isinstance(result, Unavailable) for result in results):
                connection.close()
    return results


def _run_in_thread(function: Callable[..., T], kwargs: dict) -> T:
    try:
        return function(**kwargs)
    except DatabaseError:
        connection.close()
        raise


class MessageWriter:
    """One thread of its own, one batch at a time (chat.services.messages)."""

    def __init__(self) -> None:
        self.pending: list[tuple[dict, OnResult]] = []
        self.executor: ThreadPoolExecutor | None = None
        self.task: asyncio.Task | None = None
        self.last_batch_at = 0.0
        self.idle_check: asyncio.TimerHandle | None = None

    def submit(self, request: dict, on_result: OnResult) -> None:
        """Store store_message(**request) in the next batch, then await
        `on_result` with what it returned or raised (in arrival order)."""
        self.pending.append((request, on_result))
        if self.task is None or self.task.done():
            self.task = asyncio.get_running_loop().create_task(self._drain())

    async def run(self, function: Callable[..., T], /, **kwargs: Any) -> T:
        """`function(**kwargs)` on the writer's thread, between two batches:
        the consumers' other writes (edits, reactions) reuse its kept database
        connection, where a thread hop of their own opened one each time.

        A failure closes the connection (the next call opens a new one); it is
        not tried again: a change, unlike a message, has no client_id that would
        make a second try harmless.
        """
        loop = asyncio.get_running_loop()
        if self.executor is None:
            self.executor = ThreadPoolExecutor(1, thread_name_prefix="chat-writer")
        self.last_batch_at = loop.time()
        try:
            return await loop.run_in_executor(
                self.executor, functools.partial(_run_in_thread, function, kwargs)
            )
        finally:
            self.last_batch_at = loop.time()
            if self.idle_check is None:
                self.idle_check = loop.call_later(
                    IDLE_CLOSE_SECONDS, self._close_if_idle
                )

    async def close(self) -> None:
        """Stop, and close the writer thread's database connection."""
        if self.task is not None and not self.task.get_loop().is_closed():
            self.task.cancel()
        if self.idle_check is not None:
            self.idle_check.cancel()
        if self.executor is not None:
            loop = asyncio.get_running_loop()
            await loop.run_in_executor(self.executor, connections.close_all)
            self.executor.shutdown(wait=False)
            self.executor = None

    async def _drain(self) -> None:
        loop = asyncio.get_running_loop()
        if self.executor is None:
            self.executor = ThreadPoolExecutor(1, thread_name_prefix="chat-writer")
        while self.pending:
            batch, self.pending = self.pending[:MAX_BATCH], self.pending[MAX_BATCH:]
            self.last_batch_at = loop.time()
            try:
                results = await loop.run_in_executor(
                    self.executor, _store_in_thread, [request for request, _ in batch]
                )
            except Exception as exc:
                results = [exc] * len(batch)
            for (_, on_result), result in zip(batch, results, strict=True):
                try:
                    await on_result(result)
                except Exception:
                    logger.exception("a stored message's answer failed")
        if self.idle_check is None:
            self.idle_check = loop.call_later(IDLE_CLOSE_SECONDS, self._close_if_idle)

    def _close_if_idle(self) -> None:
        """Close the writer's connection once no batch came for a while."""
        self.idle_check = None
        loop = asyncio.get_running_loop()
        idle = loop.time() - self.last_batch_at
        busy = self.task is not None and not self.task.done()
        if idle < IDLE_CLOSE_SECONDS or busy:
            self.idle_check = loop.call_later(
                max(0.0, IDLE_CLOSE_SECONDS - idle) + 0.01, self._close_if_idle
            )
        elif self.executor is not None:
            self.executor.submit(connections.close_all)


class Publisher:
    """Fans new messages out in the order they were handed: to this process's
    connections at once (the hub), then to the layer by one task.

    The task sends what waits at that moment (at most PUBLISH_BATCH messages) as
    one layer message per group (`_batched`): a Redis round trip, and one copy
    coming back here, per group rather than per message.
    """

    def __init__(self, hub: "Hub | None", sender: "LayerSender") -> None:
        self.hub = hub
        self.sender = sender
        # Per message, in id order: what each of its groups is to be sent.
        self.queue: deque[list[tuple[str, dict]]] = deque()
        self.task: asyncio.Task | None = None

    async def publish(self, message: Message) -> None:
        """Deliver to this process's connections now, then queue for the layer.

        Awaited by the writer before its next batch: acks cannot run ahead of
        the fan-out here. The layer is never waited for (a failing one would
        hold up the acks); its queue empties a batch per round trip.
        """
        event = events.message_event(message)
        groups = events.message_groups(message)
        self.queue.append(await self._deliver_here(groups, event))
        if self.task is None or self.task.done():
            self.task = asyncio.get_running_loop().create_task(self._drain())

    async def publish_change(self, change: MessageChange) -> None:
        """A stored change, in the same queue as new messages (publish): a
        connection hears a process's messages and changes in the order this
        process stored them."""
        event = events.change_event(change)
        groups = events.change_groups(change)
        self.queue.append(await self._deliver_here(groups, event))
        if self.task is None or self.task.done():
            self.task = asyncio.get_running_loop().create_task(self._drain())

    async def publish_frame(self, groups: list[str], event: dict) -> None:
        """A ready chat.frame for `groups`, in the same queue as new messages:
        support's frames (agent.joined, queue) come in order with them."""
        self.queue.append(await self._deliver_here(groups, event))
        if self.task is None or self.task.done():
            self.task = asyncio.get_running_loop().create_task(self._drain())

    async def flush(self) -> None:
        """Until everything handed over so far has been sent (or failed)."""
        while self.task is not None and not self.task.done():
            await asyncio.shield(self.task)

    async def close(self) -> None:
        if self.task is not None and not self.task.get_loop().is_closed():
            self.task.cancel()

    async def _deliver_here(
        self, groups: list[str], event: dict
    ) -> list[tuple[str, dict]]:
        """Hand `event` to this process's members of `groups` (the
        hub); what each group is to be sent on the layer: `event`, tagged where
        it was delivered here, so that the hub drops that copy when it comes
        back."""
        sends = []
        for group in groups:
            tag = None
            if self.hub is not None:
                tag = await self.hub.deliver_here(group, event)
            tagged = event if tag is None else {**event, events.DELIVERED_IN: tag}
            sends.append((group, tagged))
        return sends

    async def _drain(self) -> None:
        while self.queue:
            count = min(len(self.queue), PUBLISH_BATCH)
            messages = [self.queue.popleft() for _ in range(count)]
            await self.sender.send_in_order(_batched(messages))


def submit_message(
    writer: MessageWriter,
    publisher: Publisher,
    request: dict,
    *,
    on_stored: Callable[[Message, bool], Awaitable[None]],
    on_failed: Callable[[Exception], Awaitable[None]],
) -> None:
    """Store `request` (store_message's arguments) in the writer's next batch
    without waiting: the consumer reads its next frame meanwhile, so a busy
    sender's messages share a batch.

    Once stored: `on_stored`, then the fan-out (new messages only), both in the
    order the messages were submitted; `on_failed` with the error otherwise
    (a ChatError, or any other exception: a bug of ours).
    """

    async def answer(result) -> None:
        if isinstance(result, Exception):
            await on_failed(result)
            return
        message, created = result
        await on_stored(message, created)
        if created:
            await publisher.publish(message)

    writer.submit(request, answer)


def _batched(messages: list[list[tuple[str, dict]]]) -> list[tuple[list[str], dict]]:
    """The layer messages for `messages` (in id order): per run of messages,
    one per group with that group's frames in order (events.frames_event).

    A run ends before a message to a group that the run left: its groups are
    sent one after another, so a connection in several of them (a user in two
    busy rooms) still hears this process's messages in id order. A busy room,
    or one direct conversation, makes one run.
    """
    sends: list[tuple[list[str], dict]] = []
    run: dict[str, list[dict]] = {}
    previous: set[str] = set()
    for message in messages:
        groups = {group for group, _ in message}
        if any(group in run and group not in previous for group in groups):
            sends += _run_sends(run)
            run = {}
        for group, event in message:
            run.setdefault(group, []).append(event)
        previous = groups
    return sends + _run_sends(run)


def _run_sends(run: dict[str, list[dict]]) -> list[tuple[list[str], dict]]:
    return [([group], events.frames_event(frames)) for group, frames in run.items()]
