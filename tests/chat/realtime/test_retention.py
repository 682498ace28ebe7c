"""The runtime's pruning of old changes (chat.realtime.retention)."""

import asyncio
from datetime import timedelta

import pytest
from channels.db import database_sync_to_async
from django.utils import timezone

from chat.change_feed import pruned_through
from chat.models import MessageChange
from chat.realtime.retention import prune_changes_periodically
from chat.services.changes import store_edit
from chat.services.messages import store_message

pytestmark = pytest.mark.django_db(transaction=True)


def _an_old_and_a_new_change(alice) -> tuple[int, int]:
    message = store_message(sender=alice, room="lobby", body="a", client_id="1")[0]
    old = store_edit(user=alice, message_id=message.id, body="b").change
    new = store_edit(user=alice, message_id=message.id, body="c").change
    MessageChange.objects.filter(pk=old.pk).update(
        created_at=timezone.now() - timedelta(days=31)
    )
    return old.id, new.id


async def test_the_job_deletes_what_is_older_than_the_retention(
    make_user, make_room, settings
):
    settings.CHAT_CHANGE_RETENTION_DAYS = 30
    alice = await database_sync_to_async(make_user)("alice")
    await database_sync_to_async(make_room)("lobby", owner=alice)
    old, new = await database_sync_to_async(_an_old_and_a_new_change)(alice)
    job = asyncio.get_running_loop().create_task(
        prune_changes_periodically(first_delay=0, interval=3600)
    )
    try:
        for _ in range(200):
            if await database_sync_to_async(pruned_through)() == old:
                break
            await asyncio.sleep(0.02)
    finally:
        job.cancel()
    kept = await database_sync_to_async(
        lambda: list(MessageChange.objects.values_list("id", flat=True))
    )()
    assert kept == [new]
    assert await database_sync_to_async(pruned_through)() == old
