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
from django.conf import settings
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from chat import ordering
from chat.models import OutboxEvent

from .layer import RealtimeLayer

logger = logging.getLogger(__name__)

INTERVAL_SECONDS = 0.5
KEEP = timedelta(minutes=10)
BATCH = 500


def outbox_in_use(layer: RealtimeLayer) -> bool:
    """Whether processes without sockets reach this layer through the outbox."""
    return settings.CHAT_RELAY_OTHER_PROCESSES and layer.process_local


def _newest_id() -> int:
    return OutboxEvent.objects.aggregate(last=Max("id"))["last"] or 0


def _events_after(cursor: int) -> list[OutboxEvent]:
    return list(OutboxEvent.objects.filter(id__gt=cursor).order_by("id")[:BATCH])


def store_in_outbox(groups: list[str], event: dict) -> None:
    """Leave an event for the serving process to publish (in id order)."""
    with transaction.atomic():
        ordering.commit_in_id_order(ordering.OUTBOX)
        OutboxEvent.objects.create(groups=groups, event=event)
    OutboxEvent.objects.filter(created_at__lt=timezone.now() - KEEP).delete()


class Relay:
    """The serving process's reader of the outbox (a task of the runtime)."""

    def __init__(self, layer: RealtimeLayer) -> None:
        self.layer = layer
        self.interval = INTERVAL_SECONDS

    async def run(self) -> None:
        cursor = await database_sync_to_async(_newest_id)()
        while True:
            await asyncio.sleep(self.interval)
            try:
                rows = await database_sync_to_async(_events_after)(cursor)
            except Exception:
                logger.warning("relay could not read the outbox", exc_info=True)
                continue
            for row in rows:
                for group in row.groups:
                    await self.layer.group_send(group, row.event)
                cursor = row.id
