"""The notifications job: a round of chat.services.notifications every
CHAT_NOTIFY_INTERVAL_SECONDS, on a database thread of its own (a slow mail
server or push service never holds up the handshakes' or the pages' threads).

Every serving process runs it; the round's row lock lets one at a time do the
work, the others skip.
"""

import asyncio
import logging

from django.conf import settings

from chat.services.notifications import run_round

from .db_thread import KeptConnectionThread

logger = logging.getLogger(__name__)


class NotificationJob:
    def __init__(self, interval: float | None = None) -> None:
        self.interval = interval or settings.CHAT_NOTIFY_INTERVAL_SECONDS
        self.thread = KeptConnectionThread("chat-notify-db")

    async def run(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            await self.run_once()

    async def run_once(self) -> None:
        try:
            result = await self.thread.run(run_round, retry=False)
        except Exception:
            logger.warning("the notifications round failed", exc_info=True)
            return
        if result.emails or result.pushed or result.failed_emails:
            logger.info(
                "notifications: %d emails, %d pushes, %d emails failed",
                result.emails,
                result.pushed,
                result.failed_emails,
            )

    async def close(self) -> None:
        await self.thread.close()
