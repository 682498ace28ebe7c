"""Live delivery of messages that another process stored, on a process-local layer.

On the embedded default the channel layer lives in the daphne process, so a
message stored by `manage.py postmessage` (another process) cannot be published
to it. The relay closes that gap: once a second it reads the messages stored
since its cursor and publishes those that this process did not store itself.
With a shared layer (REDIS_URL) every process publishes its own; the relay is off.

Telling ours from theirs: every store in this process registers before it
writes and marks its message id before it unregisters. A message of ours that
the relay reads was therefore either marked already or stored by a write that
was under way when the read began; the relay waits for those writes to finish
before it decides, so nothing is published twice.
"""

import asyncio
import contextlib
import logging
import threading
from collections.abc import Iterator

from channels.db import database_sync_to_async
from channels.layers import InMemoryChannelLayer, get_channel_layer
from django.conf import settings
from django.db.models import Max

from .models import Message
from .selectors import with_message_relations

logger = logging.getLogger(__name__)

INTERVAL_SECONDS = 1.0
BATCH = 500


def _newest_id() -> int:
    return Message.objects.aggregate(last=Max("id"))["last"] or 0


def _stored_after(cursor: int) -> list[Message]:
    return list(
        with_message_relations(Message.objects.filter(id__gt=cursor)).order_by("id")[
            :BATCH
        ]
    )


class Relay:
    def __init__(self) -> None:
        self._lock = threading.Lock()  # stores run in worker threads
        self._writing: set[object] = set()
        self._ours: set[int] = set()
        self.task: asyncio.Task | None = None

    @property
    def wanted(self) -> bool:
        return settings.CHAT_RELAY_OTHER_PROCESSES and isinstance(
            get_channel_layer(), InMemoryChannelLayer
        )

    @property
    def running(self) -> bool:
        return self.task is not None and not self.task.done()

    def ensure_running(self) -> None:
        """Start the relay in the running loop, if this process needs one."""
        if not self.running and self.wanted:
            self.task = asyncio.get_running_loop().create_task(self.run())

    @contextlib.contextmanager
    def storing(self) -> Iterator[None]:
        """Wraps a store of this process; `mark_ours` the id before leaving."""
        token = object()
        with self._lock:
            self._writing.add(token)
        try:
            yield
        finally:
            with self._lock:
                self._writing.discard(token)

    def mark_ours(self, message_id: int) -> None:
        if self.running:
            with self._lock:
                self._ours.add(message_id)

    async def run(self) -> None:
        from .events import publish_message

        cursor = await database_sync_to_async(_newest_id)()
        while True:
            await asyncio.sleep(INTERVAL_SECONDS)
            with self._lock:
                under_way = set(self._writing)
            try:
                messages = await database_sync_to_async(_stored_after)(cursor)
            except Exception:
                logger.warning("relay could not read new messages", exc_info=True)
                continue
            while True:
                with self._lock:
                    if not under_way & self._writing:
                        break
                await asyncio.sleep(0.05)
            for message in messages:
                with self._lock:
                    ours = message.id in self._ours
                    self._ours.discard(message.id)
                if not ours:
                    await publish_message(message)
                cursor = message.id
            with self._lock:
                self._ours = {i for i in self._ours if i > cursor}


relay = Relay()
