"""Live delivery of messages that another process stored, on a process-local layer.

On the embedded default the channel layer lives in the daphne process, so a
message stored by `manage.py postmessage` (another process) cannot be published
to it. The relay closes that gap: once a second it reads the messages stored
since its cursor and publishes those this process did not publish itself. With
a shared layer (REDIS_URL) every process publishes its own and the relay is off.

A message is relayed only once it is a second old, by which time a message of
this process has long been published and marked here: nothing goes out twice.
"""

import asyncio
import logging
from datetime import timedelta

from channels.db import database_sync_to_async
from channels.layers import InMemoryChannelLayer, get_channel_layer
from django.conf import settings
from django.db.models import Max
from django.utils import timezone

from .models import Message
from .selectors import with_message_relations

logger = logging.getLogger(__name__)

INTERVAL_SECONDS = 1.0
SETTLE_SECONDS = 1.0
BATCH = 500


def _newest_id() -> int:
    return Message.objects.aggregate(last=Max("id"))["last"] or 0


def _settled_after(cursor: int) -> list[Message]:
    settled = timezone.now() - timedelta(seconds=SETTLE_SECONDS)
    return list(
        with_message_relations(
            Message.objects.filter(id__gt=cursor, created_at__lte=settled)
        ).order_by("id")[:BATCH]
    )


class Relay:
    def __init__(self) -> None:
        self.published_here: set[int] = set()
        self.task: asyncio.Task | None = None

    @property
    def wanted(self) -> bool:
        return settings.CHAT_RELAY_OTHER_PROCESSES and isinstance(
            get_channel_layer(), InMemoryChannelLayer
        )

    def ensure_running(self) -> None:
        """Start the relay in the running loop, if this process needs one."""
        if (self.task is None or self.task.done()) and self.wanted:
            self.task = asyncio.get_running_loop().create_task(self.run())

    def mark_published(self, message_id: int) -> None:
        if self.task is not None and not self.task.done():
            self.published_here.add(message_id)

    async def run(self) -> None:
        from .events import publish_message

        cursor = await database_sync_to_async(_newest_id)()
        while True:
            await asyncio.sleep(INTERVAL_SECONDS)
            try:
                messages = await database_sync_to_async(_settled_after)(cursor)
            except Exception:
                logger.warning("relay could not read new messages", exc_info=True)
                continue
            for message in messages:
                if message.id in self.published_here:
                    self.published_here.discard(message.id)
                else:
                    await publish_message(message, relayed=True)
                cursor = message.id
            self.published_here = {i for i in self.published_here if i > cursor}


relay = Relay()
