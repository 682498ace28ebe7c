"""`GET /api/messages/?after=<id>&wait=<s>`: the article's polling, as a long poll.

An async view: a waiting client holds a coroutine and a channel-layer channel,
never a server thread. It subscribes to the user's groups first, then reads, so a
message stored in between wakes it rather than slipping past.
"""

import asyncio
import logging

from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from django.conf import settings
from django.http import HttpRequest, JsonResponse

from accounts.tokens import authenticate_token
from chat import events
from chat.errors import ChatError, InvalidInput, Unavailable
from chat.selectors import messages_after, parse_cursor, parse_limit, room_group_ids

logger = logging.getLogger(__name__)


def _error(code: str, detail: str, status: int) -> JsonResponse:
    response = JsonResponse({"code": code, "detail": detail}, status=status)
    if status == 401:
        response["WWW-Authenticate"] = 'Bearer realm="api"'
    return response


def _parse_wait(value) -> float:
    if value is None or value == "":
        return 0.0
    try:
        wait = float(value)
    except ValueError:
        raise InvalidInput("invalid", "'wait' is a number of seconds.") from None
    if not 0 <= wait <= settings.CHAT_LONG_POLL_MAX_SECONDS:
        raise InvalidInput(
            "invalid",
            f"'wait' is 0 to {settings.CHAT_LONG_POLL_MAX_SECONDS} seconds.",
        )
    return wait


async def _request_user(request: HttpRequest):
    """The user of a bearer token, else of the session; None if neither."""
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() == "bearer":
        found = await database_sync_to_async(authenticate_token)(token.strip())
        return found.user if found else None
    user = await request.auser()
    return user if user.is_authenticated else None


async def poll_messages(request: HttpRequest) -> JsonResponse:
    if request.method != "GET":
        return _error("method_not_allowed", "Use GET.", 405)
    try:
        user = await _request_user(request)
    except Exception:
        logger.warning("authentication failed on the long poll", exc_info=True)
        return _error("unavailable", Unavailable().detail, 503)
    if user is None:
        return _error("unauthenticated", "A valid bearer token or session is needed.", 401)
    try:
        after = parse_cursor(request.GET.get("after"), name="after", default=0)
        limit = parse_limit(request.GET.get("limit"))
        wait = _parse_wait(request.GET.get("wait"))
        messages, more = await _wait_for_messages(
            user=user, after=after, limit=limit, wait=wait
        )
    except ChatError as exc:
        return _error(exc.code, exc.detail, int(exc.status))
    return JsonResponse(
        {
            "messages": [events.message_payload(m) for m in messages],
            "more": more,
            "last_id": messages[-1].id if messages else after,
        },
        json_dumps_params={"ensure_ascii": False},
    )


async def _read(**kwargs):
    try:
        return await database_sync_to_async(messages_after)(**kwargs)
    except Exception as exc:
        logger.warning("long poll read failed", exc_info=True)
        raise Unavailable() from exc


async def _wait_for_messages(*, user, after: int, limit: int, wait: float):
    messages, more = await _read(user=user, after=after, limit=limit)
    if messages or wait <= 0:
        return messages, more
    layer = get_channel_layer()
    channel = await layer.new_channel("longpoll.")
    room_ids = await database_sync_to_async(room_group_ids)(user)
    groups = [events.user_group(user.pk)]
    groups += [events.room_group(room_id) for room_id in room_ids]
    joined = []
    try:
        for group in groups:
            await layer.group_add(group, channel)
            joined.append(group)
        messages, more = await _read(user=user, after=after, limit=limit)
        if messages:
            return messages, more
        try:
            await asyncio.wait_for(layer.receive(channel), timeout=wait)
        except TimeoutError:
            return [], False
        return await _read(user=user, after=after, limit=limit)
    except ChatError:
        raise
    except Exception:
        # Without the layer, wait out the time and answer from the database.
        logger.warning("long poll could not listen; falling back", exc_info=True)
        await asyncio.sleep(wait)
        return await _read(user=user, after=after, limit=limit)
    finally:
        for group in joined:
            try:
                await layer.group_discard(group, channel)
            except Exception:
                logger.debug("group_discard failed", exc_info=True)
