"""Receives that wait on a channel, for both of our channel layers
(realtime.redis_layer, realtime.memory_layer): a waiting receive is one
future, not an asyncio.Queue (four deques), and a message goes
straight to the first receive that still waits."""

import asyncio
from collections import deque
from collections.abc import Callable


class WaitingReceives:
    """The receives waiting on each channel, first come first served."""

    def __init__(self) -> None:
        # A list per channel: nearly always one receive, and a deque is
        # several times larger (docs/performance.md).
        self.by_channel: dict[str, list[asyncio.Future]] = {}

    def hand(self, channel: str, message: dict) -> bool:
        """Give `message` to the first receive still waiting; False if none."""
        waiters = self.by_channel.get(channel)
        while waiters:
            waiter = waiters.pop(0)
            if not waiter.done() and not waiter.get_loop().is_closed():
                waiter.set_result(message)
                return True
        return False

    async def next_message(
        self,
        kept: dict[str, deque[tuple[float, dict]]],
        channel: str,
        put_back: Callable[[str, dict], None],
    ) -> dict:
        """The oldest of the (time, message) pairs `kept` for `channel` (its
        emptied queue dropped), or else the next message handed to it."""
        queue = kept.get(channel)
        if queue:
            _, message = queue.popleft()
            if not queue:
                del kept[channel]
            return message
        return await self.wait(channel, put_back)

    async def wait(self, channel: str, put_back: Callable[[str, dict], None]) -> dict:
        """The next message handed to `channel`. A message handed to a receive
        that is cancelled before it runs goes back by `put_back`, to be first
        in line for the next receive."""
        waiter = asyncio.get_running_loop().create_future()
        self.by_channel.setdefault(channel, []).append(waiter)
        try:
            return await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():
                put_back(channel, waiter.result())
            raise
        finally:
            waiters = self.by_channel.get(channel)
            if waiters is not None:
                if waiter in waiters:
                    waiters.remove(waiter)
                if not waiters:
                    del self.by_channel[channel]
