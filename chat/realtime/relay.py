"""Live delivery of events from other processes, on a process-local layer.

On the embedded default the channel layer lives in the daphne process, so what a
`manage.py` command publishes (a message, a member added or removed) cannot reach
it through the layer. Such a process writes its events to the outbox table
instead, and the daphne process, which serves the sockets, publishes them about
twice a second. With a shared layer (REDIS_URL) every process publishes itself
and none of this runs.
"""

import asyncio
import logging
from datetime import timedelta

from channels.db import database_sync_to_async
from channels.layers import InMemoryChannelLayer, get_channel_layer
from django.conf import settings
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from chat import ordering
from chat.models import OutboxEvent

logger = logging.getLogger(__name__)

INTERVAL_SECONDS = 0.5
KEEP = timedelta(minutes=10)
BATCH = 500


def _newest_id() -> int:
    return OutboxEvent.objects.aggregate(last=Max("id"))["last"] or 0


def _events_after(cursor: int) -> list[OutboxEvent]:
    return list(OutboxEvent.objects.filter(id__gt=cursor).order_by("id")[:BATCH])


def _store(groups: list[str], event: dict) -> None:
    with transaction.atomic():
        ordering.commit_in_id_order(ordering.OUTBOX)
        OutboxEvent.objects.create(groups=groups, event=event)
    OutboxEvent.objects.filter(created_at__lt=timezone.now() - KEEP).delete()


class Relay:
    def __init__(self) -> None:
        self.serving = False
        self.task: asyncio.Task | None = None

    def mark_serving(self) -> None:
        """This process serves the sockets (chatsite.asgi loaded): it publishes."""
        self.serving = True

    @property
    def in_use(self) -> bool:
        return settings.CHAT_RELAY_OTHER_PROCESSES and isinstance(
            get_channel_layer(), InMemoryChannelLayer
        )

    @property
    def writes_outbox(self) -> bool:
        """True in a process whose in-memory layer no socket listens to."""
        return not self.serving and self.in_use

    def ensure_running(self) -> None:
        """Start publishing the outbox in the running loop, where it is needed."""
        if self.serving and self.in_use and (self.task is None or self.task.done()):
            self.task = asyncio.get_running_loop().create_task(self.run())

    async def store(self, groups: list[str], event: dict) -> None:
        await database_sync_to_async(_store)(list(groups), event)

    async def run(self) -> None:
        layer = get_channel_layer()
        cursor = await database_sync_to_async(_newest_id)()
        while True:
            await asyncio.sleep(INTERVAL_SECONDS)
            try:
                rows = await database_sync_to_async(_events_after)(cursor)
            except Exception:
                logger.warning("relay could not read the outbox", exc_info=True)
                continue
            for row in rows:
                for group in row.groups:
                    await layer.group_send(group, row.event)
                cursor = row.id


relay = Relay()
