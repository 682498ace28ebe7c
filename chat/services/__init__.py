"""Writes: every side effect of the chat lives in these modules.

The consumer, the HTTP API, the admin and the commands all call them. A
service that the consumer calls has an async form (`ajoin_room`) beside its
sync form (`join_room`); both take the same keyword arguments. The consumer's
messages are stored in batches by the runtime's writer (chat.realtime.writer),
which calls `store_messages`.

A sync form does its database work in the caller's thread and transaction (an
admin form, a command), and publishes once that transaction commits: at once
under autocommit, never before the data is there to be read.
"""

from asgiref.sync import async_to_sync
from django.db import transaction


def publish_after_commit(publish, /, **kwargs) -> None:
    """Run the async `publish(**kwargs)` of chat.events once the caller commits."""
    transaction.on_commit(lambda: async_to_sync(publish)(**kwargs))
