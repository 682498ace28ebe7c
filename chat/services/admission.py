"""Who may open a WebSocket, and which groups it then receives."""

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from django.db import DatabaseError, connection

from accounts.middleware import AUTH_UNAVAILABLE
from chat import events
from chat.models import ChangeHorizon, MessageChange
from chat.selectors import last_visible_ids, room_group_ids_of
from chatsite import ratelimit

logger = logging.getLogger(__name__)

CLOSE_UNAUTHENTICATED = 4401
CLOSE_TRY_AGAIN_LATER = 1013  # the database cannot be reached: reconnect later
CLOSE_TOO_MANY_CONNECTIONS = 4429

# The handshakes' batched reads (realtime.db_thread.KeptConnectionThread).
RunBatched = Callable[[Callable[[list], list], object], Awaitable]


@dataclass(frozen=True, slots=True)
class Admission:
    refused: int | None  # the close code, if refused
    counted: bool  # among the user's connections: uncount it when it closes
    groups: list[str] = field(default_factory=list)


def refusal(scope: dict) -> int | None:
    """The close code for a handshake without a usable user, else None."""
    if scope.get("auth") == AUTH_UNAVAILABLE:
        return CLOSE_TRY_AGAIN_LATER
    user = scope.get("user")
    if user is None or not user.is_authenticated:
        return CLOSE_UNAUTHENTICATED
    return None


async def admit(user, channel_name: str, run_batched: RunBatched) -> Admission:
    """Count the connection among its user's (CHAT_MAX_CONNECTIONS_PER_USER)
    and find its groups; both are asked at once."""
    answers: list[object] = await asyncio.gather(
        ratelimit.aconnection_opened(user.pk, channel_name),
        run_batched(room_group_ids_of, user),
        return_exceptions=True,
    )
    counted, rooms = answers
    if isinstance(counted, BaseException):
        raise counted
    if not counted:
        return Admission(CLOSE_TOO_MANY_CONNECTIONS, counted=False)
    if isinstance(rooms, DatabaseError):
        logger.warning("database unavailable at connect", exc_info=rooms)
        return Admission(CLOSE_TRY_AGAIN_LATER, counted=True)
    if isinstance(rooms, BaseException):
        raise rooms
    groups = [events.user_group(user.pk)]
    groups += [events.room_group(room_id) for room_id in rooms]  # type: ignore[attr-defined]
    return Admission(None, counted=True, groups=groups)


def last_ids(users: list) -> list[tuple[int, int]]:
    """(last_visible_id, last_change_id) of each user: the hello's cursors for
    the handshakes of a moment (realtime.db_thread's run_batched), read after
    their groups were joined so that nothing falls between hello and live."""
    newest_change = _last_change_id()
    return [(last_id, newest_change) for last_id in last_visible_ids(users)]


def _last_change_id() -> int:
    """chat.change_feed.last_change_id in one query (the newest change, or the
    pruned horizon if every change is gone): once per batch of handshakes."""
    q = connection.ops.quote_name
    sql = (
        f"SELECT MAX({q('id')}) FROM {q(MessageChange._meta.db_table)} "  # noqa: S608
        f"UNION ALL SELECT {q('pruned_through')} "
        f"FROM {q(ChangeHorizon._meta.db_table)}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql)
        return max((value or 0 for (value,) in cursor.fetchall()), default=0)
