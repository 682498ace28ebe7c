"""Keeping changes for CHAT_CHANGE_RETENTION_DAYS, and not longer: a job of the
runtime deletes older ones (chat.services.changes.prune_changes). Likewise the
files nobody can reach any more (chat.services.uploads.purge_uploads).

Every serving process runs it; pruning is idempotent, so several processes
doing it at once cost a few deletes that find nothing.
"""

import asyncio
import logging

from channels.db import database_sync_to_async

from chat.services.changes import prune_changes
from chat.services.uploads import purge_uploads

logger = logging.getLogger(__name__)

# Not at start-up: a process that restarts often (or a test) need not prune.
FIRST_DELAY_SECONDS = 60.0
INTERVAL_SECONDS = 3600.0


async def prune_changes_periodically(
    *, first_delay: float = FIRST_DELAY_SECONDS, interval: float = INTERVAL_SECONDS
) -> None:
    await asyncio.sleep(first_delay)
    while True:
        try:
            pruned = await database_sync_to_async(prune_changes)()
        except Exception:
            logger.warning("changes could not be pruned", exc_info=True)
        else:
            if pruned:
                logger.info("pruned %d changes older than the retention", pruned)
        await asyncio.sleep(interval)


async def purge_uploads_periodically(
    *, first_delay: float = FIRST_DELAY_SECONDS, interval: float = INTERVAL_SECONDS
) -> None:
    await asyncio.sleep(first_delay)
    while True:
        try:
            removed = await database_sync_to_async(purge_uploads)()
        except Exception:
            logger.warning("files could not be purged", exc_info=True)
        else:
            if removed:
                logger.info("removed %d unreachable files from storage", removed)
        await asyncio.sleep(interval)
