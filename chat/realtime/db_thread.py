"""The handshake's database thread: one thread with a database connection it keeps.

Every `database_sync_to_async` call queues for one thread and, with
CONN_MAX_AGE=0, opens and closes a connection each time: a PostgreSQL backend
forked per call, an SQLite file opened per call. The WebSocket handshake's reads
(the token, the rooms, the newest id) run here instead, and so does the batched
write of the tokens' last use (accounts.tokens). The thread keeps its connection
while calls keep coming and closes it once none came for IDLE_CLOSE_SECONDS.

No health check per call: a call that fails with a connection error on a kept
connection (the database restarted, a proxy cut it) closes the connection and,
if the caller allows it (reads, idempotent writes), runs once more on a new one.
The connection is in autocommit between calls: it holds no lock and no snapshot.

`run_batched` is the handshakes' way in: the reads that arrive while the thread
is busy wait and go together in its next round, each kind as one query for all
of them (like the message writer's batches). A burst of handshakes then costs a
few thread hops and queries, not three each: a hop is cheap on an idle process,
but on a busy one the thread waits for the event loop to let go of the GIL
every time it comes back from the database.
"""

import asyncio
import functools
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from django.db import DatabaseError, InterfaceError, OperationalError, connections

logger = logging.getLogger(__name__)

# The connection is closed once no call came for this long.
IDLE_CLOSE_SECONDS = 10.0

T = TypeVar("T")


def _close_quietly() -> None:
    """Close this thread's connections; one already broken may fail to close."""
    for conn in connections.all(initialized_only=True):
        try:
            conn.close()
        except DatabaseError:
            conn.connection = None


def _call(function: Callable[..., T], retry: bool, args, kwargs) -> T:
    """Run `function` on this thread's kept connection (in the thread)."""
    reused = connections["default"].connection is not None
    try:
        return function(*args, **kwargs)
    except (OperationalError, InterfaceError):
        # The connection may be what failed: never keep it after an error.
        _close_quietly()
        if not (retry and reused):
            raise
    logger.info("database connection lost; trying again on a new one")
    try:
        return function(*args, **kwargs)
    except (OperationalError, InterfaceError):
        _close_quietly()
        raise


def _call_each(batches: dict) -> dict:
    """Each batch function on its items: {function: results, or what it raised}."""
    outcomes = {}
    for function, items in batches.items():
        try:
            results = _call(function, True, (items,), {})
            if len(results) != len(items):
                raise RuntimeError(f"{function!r} gave {len(results)} results")
            outcomes[function] = results
        except Exception as exc:
            outcomes[function] = exc
    return outcomes


Batch = Callable[[list], list]


class KeptConnectionThread:
    """A single thread whose database connection outlives each call."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.executor: ThreadPoolExecutor | None = None
        self.loop: asyncio.AbstractEventLoop | None = None
        self.last_call_at = 0.0
        self.idle_check: asyncio.TimerHandle | None = None
        # run_batched: {batch function: [(item, future)]} for the next round.
        self.waiting: dict[Batch, list[tuple[object, asyncio.Future]]] = {}
        self.rounds: asyncio.Task | None = None

    async def run(
        self, function: Callable[..., T], /, *args, retry: bool = True, **kwargs
    ) -> T:
        """`function(*args, **kwargs)` on the thread; raises what it raises.

        `retry`: the call may run twice (once more after a lost connection), so
        it must be a read or a write that is harmless when repeated.
        """
        return await self._hop(functools.partial(_call, function, retry, args, kwargs))

    async def run_batched(self, function: Batch, item):
        """`function(items)[i]` for this `item` among the items that wait with it.

        `function` takes a list and returns one result per item, in order; it
        runs once per round for every item waiting, and may run twice (after a
        lost connection), so it must be a read. Raises what it raised.
        """
        loop = self._this_loop()
        future = loop.create_future()
        self.waiting.setdefault(function, []).append((item, future))
        if self.rounds is None or self.rounds.done():
            self.rounds = loop.create_task(self._run_rounds())
        return await future

    async def _run_rounds(self) -> None:
        while self.waiting:
            waiting, self.waiting = self.waiting, {}
            batches = {f: [item for item, _ in pairs] for f, pairs in waiting.items()}
            try:
                outcomes = await self._hop(functools.partial(_call_each, batches))
            except Exception as exc:
                outcomes = dict.fromkeys(batches, exc)
            for function, pairs in waiting.items():
                outcome = outcomes[function]
                for index, (_, future) in enumerate(pairs):
                    if future.done():
                        continue  # its handshake went away meanwhile
                    if isinstance(outcome, Exception):
                        future.set_exception(outcome)
                    else:
                        future.set_result(outcome[index])

    def _this_loop(self) -> asyncio.AbstractEventLoop:
        self.loop = asyncio.get_running_loop()
        return self.loop

    async def _hop(self, call: Callable[[], T]) -> T:
        loop = self._this_loop()
        if self.executor is None:
            self.executor = ThreadPoolExecutor(1, thread_name_prefix=self.name)
        try:
            return await loop.run_in_executor(self.executor, call)
        finally:
            self._note_call(loop)

    def _note_call(self, loop: asyncio.AbstractEventLoop) -> None:
        self.last_call_at = loop.time()
        if self.idle_check is None:
            self.idle_check = loop.call_later(IDLE_CLOSE_SECONDS, self._close_if_idle)

    def _close_if_idle(self) -> None:
        self.idle_check = None
        loop = self.loop
        if loop is None:
            return
        idle = loop.time() - self.last_call_at
        if idle < IDLE_CLOSE_SECONDS:
            self.idle_check = loop.call_later(
                IDLE_CLOSE_SECONDS - idle + 0.01, self._close_if_idle
            )
        elif self.executor is not None:
            self.executor.submit(_close_quietly)

    async def close(self) -> None:
        """Close the thread's connection and end the thread (the runtime stops;
        PostgreSQL refuses to drop a test database still in use)."""
        if self.idle_check is not None:
            self.idle_check.cancel()
            self.idle_check = None
        if self.rounds is not None and not self.rounds.get_loop().is_closed():
            self.rounds.cancel()
        if self.executor is not None:
            loop = asyncio.get_running_loop()
            await loop.run_in_executor(self.executor, _close_quietly)
            self.executor.shutdown(wait=False)
            self.executor = None
