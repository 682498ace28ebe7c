"""The order of what a connection sends: answers in the order of the frames,
and group events held back while an answer must come first.

Mixins of the consumer: their state is class-level until first used, so an
idle connection carries none of it.
"""

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

from chat import events
from chat.errors import ChatError

logger = logging.getLogger(__name__)


class AnswersInOrder:
    """message.send frames are answered once their batch commits; any other
    answer waits for them, so a connection is answered in order."""

    in_flight = 0
    answered: asyncio.Event | None = None

    if TYPE_CHECKING:  # the consumer's

        async def send_text(self, text: str) -> None: ...

    async def acknowledge(self, message, created: bool) -> None:
        """A message.send stored: its ack."""
        try:
            frame = events.ack_frame(client_id=message.client_id, message_id=message.id)
            await self.send_text(frame)
        finally:
            self.one_answered()

    async def refuse(self, client_id: str | None, error: Exception) -> None:
        """A message.send not stored: its error (`internal` for a bug of ours)."""
        try:
            extra = None
            if isinstance(error, ChatError):
                code, detail, extra = error.code, error.detail, error.extra
            else:
                logger.error("unexpected error while storing a message", exc_info=error)
                code, detail = "internal", "The server failed on this frame."
            frame = events.error_frame(
                code=code, detail=detail, client_id=client_id, extra=extra
            )
            await self.send_text(frame)
        finally:
            self.one_answered()

    def one_pending(self) -> None:
        """A message.send was handed over; its answer is still to come."""
        self.in_flight += 1

    def one_answered(self) -> None:
        self.in_flight -= 1
        if not self.in_flight and self.answered is not None:
            self.answered.set()

    async def wait_answered(self) -> None:
        """Until every message.send before this frame has had its answer."""
        while self.in_flight:
            self.answered = asyncio.Event()
            await self.answered.wait()


class HeldEvents:
    """Group events that arrive while a handler's frames must come first (the
    hello, a sync's pages) wait until the block is done, as channels'
    one-event-at-a-time dispatch did when each socket had its own channel."""

    holding = 0
    held: list[dict] | None = None

    if TYPE_CHECKING:  # realtime.member's

        async def handle_event(self, event: dict) -> None: ...

    def hold(self, event: dict) -> None:
        if self.held is None:
            self.held = []
        self.held.append(event)

    @contextlib.asynccontextmanager
    async def holding_events(self) -> AsyncIterator[None]:
        self.holding += 1
        try:
            yield
        finally:
            self.holding -= 1
            while not self.holding and self.held:
                event = self.held.pop(0)
                if not self.held:
                    self.held = None
                try:
                    await self.handle_event(event)
                except Exception:
                    logger.warning("could not deliver a held event", exc_info=True)
