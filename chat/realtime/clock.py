"""Time for the runtime's timers: the event loop's, or one a test advances."""

import asyncio
import heapq
import itertools
from typing import Protocol


class Clock(Protocol):
    def now(self) -> float:
        """Seconds on a monotonic scale."""

    async def sleep(self, seconds: float) -> None: ...


class LoopClock:
    """The running event loop's clock."""

    def now(self) -> float:
        return asyncio.get_running_loop().time()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


class ManualClock:
    """A clock that moves only when told (`advance`): timers without waiting."""

    def __init__(self, start: float = 1000.0) -> None:
        self.time = start
        self.sleepers: list[tuple[float, int, asyncio.Future]] = []
        self.order = itertools.count()

    def now(self) -> float:
        return self.time

    async def sleep(self, seconds: float) -> None:
        if seconds <= 0:
            await asyncio.sleep(0)
            return
        waiter = asyncio.get_running_loop().create_future()
        heapq.heappush(self.sleepers, (self.time + seconds, next(self.order), waiter))
        await waiter

    async def advance(self, seconds: float) -> None:
        """Move on by `seconds`, waking each sleeper at its time, in order."""
        until = self.time + seconds
        await _settle()  # tasks just started reach their first sleep
        while self.sleepers and self.sleepers[0][0] <= until:
            due, _, waiter = heapq.heappop(self.sleepers)
            self.time = max(self.time, due)
            if not waiter.done():
                waiter.set_result(None)
            await _settle()
        self.time = until
        await _settle()


async def _settle() -> None:
    """Let the woken tasks run until they wait again."""
    for _ in range(20):
        await asyncio.sleep(0)
