"""Customer support's job of the runtime: every few seconds, offers not taken
within SUPPORT_ACCEPT_SECONDS go to the next agent, and what waits is offered
to agents who came online or got capacity meanwhile
(chat.services.support_conversations). Every serving process runs it: the
site's row lock makes one of them do each site."""

import asyncio
import logging

from channels.db import database_sync_to_async
from django.conf import settings

from chat.services.support_conversations import expire_offers, route_all

logger = logging.getLogger(__name__)


def interval() -> float:
    return max(0.5, min(5.0, settings.SUPPORT_ACCEPT_SECONDS / 4))


def sweep() -> None:
    expire_offers()
    route_all()


async def sweep_support_periodically() -> None:
    while True:
        await asyncio.sleep(interval())
        try:
            await database_sync_to_async(sweep)()
        except Exception:
            logger.warning("support offers could not be swept", exc_info=True)
