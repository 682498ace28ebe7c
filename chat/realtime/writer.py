"""Group commit for the consumers' messages: one thread hop and one transaction
for every `message.send` waiting at that moment.

Every database call of the process queues for one thread
(`database_sync_to_async`), so a message stored on its own pays a thread hop, a
database connection, the ordering lock and a commit. Here the first message to
arrive starts a batch; those that arrive while a batch is being stored go in the
next one. Each sender still hears about its own message only once the batch has
committed: store, then ack, then fan out, as before.

The answers of a batch are handed out in the order the messages arrived, and
the fan-out of new messages goes through one ordered queue per process
(`Publisher`), so that the members hear a process's messages in the order of
their ids even when publishing waits on Redis.
"""

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor

from django.db import connection, connections

from chat import events
from chat.errors import Unavailable
from chat.models import Message

logger = logging.getLogger(__name__)

# A batch is at most this many messages (one transaction, one lock hold).
MAX_BATCH = 200
# The writer's thread keeps its database connection while messages keep coming,
# and closes it once none came for this long.
IDLE_CLOSE_SECONDS = 1.0
# A layer message carries at most this many new messages (Publisher).
PUBLISH_BATCH = 200

# What a batch answers for one request: (message, created) or the error.
OnResult = Callable[[object], Awaitable[None]]


class _PerLoop:
    """State that belongs to one event loop (tests run one loop after another)."""

    loop: asyncio.AbstractEventLoop | None = None
    task: asyncio.Task | None = None

    def _this_loop(self) -> asyncio.AbstractEventLoop:
        loop = asyncio.get_running_loop()
        if self.loop is not loop:
            self.loop, self.task = loop, None
            self.reset()
        return loop

    def reset(self) -> None:
        raise NotImplementedError

    def _ensure_task(self, coroutine_function) -> None:
        loop = self._this_loop()
        if self.task is None or self.task.done():
            self.task = loop.create_task(coroutine_function())


def _store_in_thread(requests: list[dict]) -> list:
    """store_messages on the writer thread's own, kept, database connection.

    A connection that fails is closed. If it was an old one (the database
    restarted since, say), the batch is tried once more on a new connection:
    nothing of a failed batch was committed, and a client_id stores once.
    """
    from chat.services.messages import store_messages

    reused = connection.connection is not None
    results = store_messages(requests)
    if any(isinstance(result, Unavailable) for result in results):
        connection.close()
        if reused:
            results = store_messages(requests)
            if any(isinstance(result, Unavailable) for result in results):
                connection.close()
    return results


class MessageWriter(_PerLoop):
    """One thread of its own, one batch at a time (chat.services.messages)."""

    def __init__(self) -> None:
        self.pending: list[tuple[dict, OnResult]] = []
        self.executor: ThreadPoolExecutor | None = None
        self.last_batch_at = 0.0
        self.idle_check: asyncio.TimerHandle | None = None

    def reset(self) -> None:
        self.pending = []
        self.idle_check = None
        # The idle timer of a finished loop never fires: close its connection.
        if self.executor is not None:
            self.executor.submit(connections.close_all)

    def close_connection(self) -> None:
        """Close the writer thread's database connection now (the tests' end)."""
        if self.executor is not None:
            self.executor.submit(connections.close_all).result(timeout=10)

    def submit(self, request: dict, on_result: OnResult) -> None:
        """Store store_message(**request) in the next batch, then await
        `on_result` with what it returned or raised (in arrival order)."""
        self._this_loop()
        self.pending.append((request, on_result))
        self._ensure_task(self._drain)

    async def store(self, **request) -> tuple[Message, bool]:
        """store_message(**request), in the next batch; raises what it raises."""
        future = asyncio.get_running_loop().create_future()

        async def settle(result) -> None:
            if future.done():
                return  # its caller went away meanwhile
            if isinstance(result, BaseException):
                future.set_exception(result)
            else:
                future.set_result(result)

        self.submit(request, settle)
        return await future

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


class Publisher(_PerLoop):
    """Fans new messages out in the order they were handed: to this process's
    connections at once, then to the layer by one task.

    The task sends what waits at that moment (at most PUBLISH_BATCH messages) as
    one layer message per group (`_batched`): a Redis round trip, and one copy
    coming back here, per group rather than per message.
    """

    def __init__(self) -> None:
        # Per message, in id order: what each of its groups is to be sent.
        self.queue: deque[list[tuple[str, dict]]] = deque()

    def reset(self) -> None:
        self.queue = deque()

    async def publish(self, message: Message) -> None:
        """Deliver to this process's connections now, then queue for the layer.

        Awaited by the writer before its next batch: acks cannot run ahead of
        the fan-out here. The layer is never waited for (a failing one would
        hold up the acks); its queue empties a batch per round trip.
        """
        self._this_loop()
        event = events.message_event(message)
        self.queue.append(await events.deliver_message_here(message, event))
        self._ensure_task(self._drain)

    async def _drain(self) -> None:
        while self.queue:
            count = min(len(self.queue), PUBLISH_BATCH)
            messages = [self.queue.popleft() for _ in range(count)]
            await events.publish_in_order(_batched(messages))


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


writer = MessageWriter()
publisher = Publisher()
