"""`GET /api/messages/?after=<id>&wait=<s>`: the article's polling, as a long poll.

An async view: a waiting client holds a coroutine and a channel-layer channel,
never a server thread (its request's sync calls go to a few threads that every
poll shares: chat.realtime.poll_threads). It subscribes to the user's groups first,
then reads, so a message stored in between wakes it rather than slipping past.
Every wake-up is only a hint: the answer is always read through the same
selector as `sync`, and a wake-up that brings nothing visible goes back to
waiting until the deadline.
"""

import asyncio
import logging

from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer
from django.conf import settings
from django.db import DatabaseError
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.views import APIView

from accounts.credentials import MalformedCredentials, bearer_token
from accounts.tokens import authenticate_token
from chat import events
from chat.errors import ChatError, InvalidInput, Unavailable
from chat.selectors import messages_after, parse_cursor, parse_limit, room_group_ids
from chatsite import ratelimit
from chatsite.errors import errors

from .errors import error_response
from .serializers import LIMIT, MESSAGE_ID, MessagePageSerializer

logger = logging.getLogger(__name__)

# Without a channel layer the poll falls back to reading this often.
FALLBACK_INTERVAL_SECONDS = 1.0


def parse_wait(value) -> float:
    """Seconds to wait: 0 (the default) up to CHAT_LONG_POLL_MAX_SECONDS."""
    limit = settings.CHAT_LONG_POLL_MAX_SECONDS
    if value is None or value == "":
        return 0.0
    try:
        wait = float(value)
    except ValueError:
        raise InvalidInput("invalid", "'wait' is a number of seconds.") from None
    if not 0 <= wait <= limit:  # also refuses nan and inf
        raise InvalidInput("invalid", f"'wait' is 0 to {limit} seconds.")
    return wait


def _in_request_thread(function):
    """`function` on the request's thread (chat.realtime.poll_threads), on the
    connection Django opens and closes with the request.

    Not channels' database_sync_to_async, which closes the connection around
    every call: the polls share a few threads, so the reads of many woken polls
    follow each other on one connection instead of opening one each.
    """
    return sync_to_async(function)


def _token_user(token: str):
    found = authenticate_token(token)
    return found.user if found else None


async def request_user(request: HttpRequest):
    """The user of a bearer token, else of the session; None if neither."""
    try:
        token = bearer_token(request.headers.get("Authorization"))
    except MalformedCredentials:
        return None
    if token is not None:
        return await _in_request_thread(_token_user)(token)
    user = await request.auser()
    return user if user.is_authenticated else None


async def poll_messages(request: HttpRequest) -> JsonResponse:
    if request.method != "GET":
        response = error_response("method_not_allowed", "Use GET.", 405)
        response["Allow"] = "GET"
        return response
    try:
        user = await request_user(request)
    except DatabaseError:
        logger.warning("authentication failed on the long poll", exc_info=True)
        return error_response("unavailable", Unavailable().detail, 503)
    if user is None:
        return error_response(
            "unauthenticated", "A valid bearer token or session is needed.", 401
        )
    wait_seconds = await ratelimit.ahit(ratelimit.user_limit(), str(user.pk))
    if wait_seconds:
        response = error_response(
            "rate_limited", "Too many requests: wait before polling again.", 429
        )
        response["Retry-After"] = ratelimit.retry_after_header(wait_seconds)
        return response
    try:
        after = parse_cursor(request.GET.get("after"), name="after", default=0)
        limit = parse_limit(request.GET.get("limit"))
        wait = parse_wait(request.GET.get("wait"))
        messages, more = await wait_for_messages(
            user=user, after=after, limit=limit, wait=wait
        )
    except ChatError as exc:
        return error_response(exc.code, exc.detail, int(exc.status))
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
        return await _in_request_thread(messages_after)(**kwargs)
    except DatabaseError as exc:
        logger.warning("long poll read failed", exc_info=True)
        raise Unavailable() from exc


class _Subscription:
    """A channel in the user's groups, following the rooms they join or leave."""

    def __init__(self, layer):
        self.layer = layer
        self.channel = None
        self.groups: set[str] = set()

    async def open(self, user) -> None:
        # The layer's default prefix: channels-redis reads every process-local
        # channel of one prefix in one loop; a prefix of our own would wait on
        # the consumers' loop to hand over (seconds) before it heard anything.
        self.channel = await self.layer.new_channel()
        room_ids = await _in_request_thread(room_group_ids)(user)
        await self.add(events.user_group(user.pk))
        for room_id in room_ids:
            await self.add(events.room_group(room_id))

    async def add(self, group: str) -> None:
        await self.layer.group_add(group, self.channel)
        self.groups.add(group)

    async def discard(self, group: str) -> None:
        self.groups.discard(group)
        await self.layer.group_discard(group, self.channel)

    async def next_event(self, seconds: float) -> dict | None:
        """The next event on the channel, or None once `seconds` have passed."""
        try:
            async with asyncio.timeout(seconds):
                event = await self.layer.receive(self.channel)
        except TimeoutError:
            return None
        # A room joined or left while waiting: its messages follow (or stop).
        if event.get("type") == events.SUBSCRIBE:
            await self.add(event["group"])
        elif event.get("type") == events.UNSUBSCRIBE:
            await self.discard(event["group"])
        return event

    async def close(self) -> None:
        for group in list(self.groups):
            try:
                await self.discard(group)
            except Exception:
                logger.debug("group_discard failed", exc_info=True)


async def wait_for_messages(*, user, after: int, limit: int, wait: float):
    """Messages visible to `user` after `after`, waiting up to `wait` seconds."""
    messages, more = await _read(user=user, after=after, limit=limit)
    if messages or wait <= 0:
        return messages, more
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait
    subscription = _Subscription(get_channel_layer())
    try:
        await subscription.open(user)
    except ChatError:
        raise
    except Exception:
        await subscription.close()
        logger.warning("long poll cannot listen; reading instead", exc_info=True)
        return await _poll_database(user=user, after=after, limit=limit, until=deadline)
    try:
        while True:
            messages, more = await _read(user=user, after=after, limit=limit)
            remaining = deadline - loop.time()
            if messages or remaining <= 0:
                return messages, more
            try:
                event = await subscription.next_event(remaining)
            except Exception:
                logger.warning(
                    "long poll lost the layer; reading instead", exc_info=True
                )
                return await _poll_database(
                    user=user, after=after, limit=limit, until=deadline
                )
            if event is None:
                # The deadline: a last look, in case a wake-up was lost.
                return await _read(user=user, after=after, limit=limit)
    finally:
        await subscription.close()


async def _poll_database(*, user, after: int, limit: int, until: float):
    """Without a channel layer: read now and then until the deadline."""
    loop = asyncio.get_running_loop()
    while True:
        remaining = until - loop.time()
        await asyncio.sleep(max(0.0, min(FALLBACK_INTERVAL_SECONDS, remaining)))
        messages, more = await _read(user=user, after=after, limit=limit)
        if messages or loop.time() >= until:
            return messages, more


class LongPollView(APIView):
    """Documents the long poll like a DRF view; `poll_messages` serves it.

    DRF views are synchronous, and a waiting client must not hold a thread, so
    `as_view()` hands Django the coroutine, marked the way DRF marks its views
    (`cls`, `initkwargs`) for drf-spectacular to read the schema below.
    """

    http_method_names = ["get"]

    @extend_schema(
        operation_id="messages_poll",
        parameters=[
            OpenApiParameter(
                "after", MESSAGE_ID, description="Only messages with a larger id (0)."
            ),
            OpenApiParameter(
                "wait",
                {
                    "type": "number",
                    "minimum": 0,
                    "maximum": settings.CHAT_LONG_POLL_MAX_SECONDS,
                },
                description="Seconds to wait for a message, 0 to "
                f"{settings.CHAT_LONG_POLL_MAX_SECONDS} (0).",
            ),
            OpenApiParameter(
                "limit", LIMIT, description="At most this many (above 500: 500)."
            ),
        ],
        responses={200: MessagePageSerializer, **errors(400, 401)},
    )
    def get(self, request):
        """Every message visible to me after `after`, as soon as there is one.

        Answers at once when there are some; otherwise waits up to `wait`
        seconds and answers with the first, or empty when the wait ends.
        """
        raise NotImplementedError("served by poll_messages")

    @classmethod
    def as_view(cls, **initkwargs):
        async def view(request, *args, **kwargs):
            return await poll_messages(request)

        view.cls = cls
        view.initkwargs = initkwargs
        # Bearer clients send no CSRF token, and the view changes nothing; a
        # POST gets the JSON 405 above rather than Django's HTML CSRF page.
        return csrf_exempt(view)
