"""`GET /api/messages/?after=<id>&wait=<s>`: the article's polling, as a long poll.

With `changes_after=<change_id>` it answers on a change too (an edit, a delete,
reactions: chat.change_feed), the way `sync` with `changes_after` catches up.

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
from dataclasses import dataclass

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
from chat.change_feed import last_change_id, parse_change_cursor
from chat.errors import ChatError, InvalidInput, Unavailable
from chat.models import Message
from chat.selectors import messages_after, parse_cursor, parse_limit, room_group_ids
from chatsite import ratelimit
from chatsite.errors import errors

from .changes import ChangesPage, change_frames, changes_page
from .errors import error_response
from .serializers import CHANGE_ID, LIMIT, MESSAGE_ID, PollPageSerializer

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
        query = Query(
            user=user,
            after=parse_cursor(request.GET.get("after"), name="after", default=0),
            limit=parse_limit(request.GET.get("limit")),
            changes_after=parse_change_cursor(
                request.GET.get("changes_after"), name="changes_after"
            ),
        )
        wait = parse_wait(request.GET.get("wait"))
        news = await wait_for_news(query, wait=wait)
    except ChatError as exc:
        return error_response(exc.code, exc.detail, int(exc.status))
    return JsonResponse(news.payload(query), json_dumps_params={"ensure_ascii": False})


@dataclass(frozen=True)
class Query:
    """What a poll asks for: messages after `after`, and changes after
    `changes_after` if given (None: messages only, as v1)."""

    user: object
    after: int
    limit: int
    changes_after: int | None = None


@dataclass(frozen=True)
class News:
    """One read's answer: messages, and the changes page if they were asked for."""

    messages: list[Message]
    more: bool
    changes: ChangesPage | None = None

    def __bool__(self) -> bool:
        return bool(self.messages or (self.changes and self.changes.changes))

    def payload(self, query: Query) -> dict:
        messages = self.messages
        answer = {
            "messages": [events.message_payload(m) for m in messages],
            "more": self.more,
            "last_id": messages[-1].id if messages else query.after,
        }
        if self.changes is not None:
            answer["more"] = self.more or self.changes.more
            answer["changes"] = change_frames(self.changes.changes)
            answer["last_change_id"] = self.changes.last_change_id
        return answer


def read_news(query: Query) -> News:
    """The messages, and changes if asked for, visible to the poll's user.

    As `sync` does: the newest change id is read before the messages, and the
    changes go up to it only. A message read afterwards shows every change up
    to it, so changes to messages of this answer need not come too
    (`message_upto`), and none above it is passed over for good.
    """
    if query.changes_after is None:
        messages, more = messages_after(
            user=query.user, after=query.after, limit=query.limit
        )
        return News(messages, more)
    through = last_change_id()
    messages, more = messages_after(
        user=query.user, after=query.after, limit=query.limit
    )
    page = changes_page(
        user=query.user,
        after=query.changes_after,
        limit=query.limit,
        through=through,
        message_upto=query.after,
    )
    return News(messages, more, page)


async def _read(query: Query) -> News:
    try:
        return await _in_request_thread(read_news)(query)
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


async def wait_for_news(query: Query, *, wait: float) -> News:
    """What `query` asks for, waiting up to `wait` seconds for some.

    A change wakes the poll as a message does: its event goes to the message's
    groups (events.change_groups), which are the user's groups here.
    """
    news = await _read(query)
    if news or wait <= 0:
        return news
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait
    subscription = _Subscription(get_channel_layer())
    try:
        await subscription.open(query.user)
    except ChatError:
        raise
    except Exception:
        await subscription.close()
        logger.warning("long poll cannot listen; reading instead", exc_info=True)
        return await _poll_database(query, until=deadline)
    try:
        while True:
            news = await _read(query)
            remaining = deadline - loop.time()
            if news or remaining <= 0:
                return news
            try:
                event = await subscription.next_event(remaining)
            except Exception:
                logger.warning(
                    "long poll lost the layer; reading instead", exc_info=True
                )
                return await _poll_database(query, until=deadline)
            if event is None:
                # The deadline: a last look, in case a wake-up was lost.
                return await _read(query)
    finally:
        await subscription.close()


async def _poll_database(query: Query, *, until: float) -> News:
    """Without a channel layer: read now and then until the deadline."""
    loop = asyncio.get_running_loop()
    while True:
        remaining = until - loop.time()
        await asyncio.sleep(max(0.0, min(FALLBACK_INTERVAL_SECONDS, remaining)))
        news = await _read(query)
        if news or loop.time() >= until:
            return news


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
            OpenApiParameter(
                "changes_after",
                CHANGE_ID,
                description="Also the changes (edits, deletions, reactions) with "
                "a larger change_id, answered as soon as there is one.",
            ),
        ],
        responses={200: PollPageSerializer, **errors(400, 401, 410)},
    )
    def get(self, request):
        """Every message visible to me after `after`, as soon as there is one.

        Answers at once when there are some; otherwise waits up to `wait`
        seconds and answers with the first, or empty when the wait ends. With
        `changes_after`, a change counts too: the answer then also holds
        `changes` and `last_change_id` (410 `changes_expired`: older than the
        changes kept; reload the history).
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
