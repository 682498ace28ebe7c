"""Messages that change, over HTTP: edit, delete, react, and the change feed.

The views enter at the services the WebSocket's frames use (chat.services.changes),
so the rules, the error codes and the live frames are the same; the feed reads
through chat.change_feed, as `sync` does.
"""

from collections.abc import Mapping
from dataclasses import dataclass

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from chat import events
from chat.change_feed import (
    change_payload,
    changes_after,
    last_change_id,
    parse_change_cursor,
)
from chat.errors import InvalidInput, NotFound
from chat.models import Message, MessageChange
from chat.selectors import MAX_ID, parse_limit
from chat.services.changes import delete_message, edit_message, react
from chatsite.errors import errors

from .serializers import (
    CHANGE_ID,
    LIMIT,
    MESSAGE_ID,
    ChangePageSerializer,
    EditMessageSerializer,
    MessageSerializer,
    ReactionsSerializer,
)

MESSAGE_PARAMETER = OpenApiParameter(
    "message_id",
    MESSAGE_ID,
    location=OpenApiParameter.PATH,
    description="The message's id.",
)
EMOJI_PARAMETER = OpenApiParameter(
    "emoji",
    str,
    location=OpenApiParameter.PATH,
    description="One emoji (a grapheme cluster), percent-encoded: "
    "`%F0%9F%91%8D` is 👍.",
)
# What the services refuse, as the frames do: invalid, forbidden (and
# edit_window), not_found.
REFUSALS = errors(400, 401, 403, 404)


def checked_message_id(message_id: int) -> int:
    """The path's id; beyond the ids a message can have, there is no such message."""
    if message_id > MAX_ID:
        raise NotFound("No such message.")
    return message_id


@dataclass(frozen=True)
class ChangesPage:
    changes: list[MessageChange]
    last_change_id: int
    more: bool


def changes_page(
    *, user, after: int, limit: int, through: int, message_upto: int | None = None
) -> ChangesPage:
    """The changes visible to `user` after change `after`, none beyond `through`.

    `through` is the newest change id read before anything else of the answer
    (the messages, for the long poll): every change up to it had committed then,
    so a cursor moved to it skips nothing, and a change above it is left to the
    next request (a message read before it may not show it yet).
    """
    found, more = changes_after(
        user=user, after=after, limit=limit, message_upto=message_upto
    )
    kept = [change for change in found if change.id <= through]
    if len(kept) < len(found):
        more = False  # all of them up to `through` are in
    if more:
        return ChangesPage(kept, kept[-1].id, True)
    return ChangesPage(kept, max(after, through), False)


def change_frames(changes: list[MessageChange]) -> list[dict]:
    """The changes as the live frames show them (with their change_id)."""
    return [change_payload(change) for change in changes]


class MessageView(APIView):
    @extend_schema(
        parameters=[MESSAGE_PARAMETER],
        request=EditMessageSerializer,
        responses={200: MessageSerializer, **REFUSALS},
    )
    def patch(self, request: Request, message_id: int) -> Response:
        """Edit my message (within CHAT_EDIT_WINDOW_SECONDS): 200 and the message.

        Its conversation's connections get `message.edited`. Too late:
        403 `edit_window`; someone else's: 403 `forbidden`.
        """
        if not isinstance(request.data, Mapping):
            raise InvalidInput("invalid", "Send a JSON object with 'body'.")
        stored = edit_message(
            user=request.user,
            message_id=checked_message_id(message_id),
            body=request.data.get("body"),
        )
        return Response(events.message_payload(stored.message))

    @extend_schema(
        parameters=[MESSAGE_PARAMETER],
        request=None,
        responses={204: None, **errors(401, 403, 404)},
    )
    def delete(self, request: Request, message_id: int) -> Response:
        """Delete a message (mine, or in a room I own; staff any): 204.

        It stays as a tombstone; its conversation's connections get
        `message.deleted`.
        """
        delete_message(user=request.user, message_id=checked_message_id(message_id))
        return Response(status=status.HTTP_204_NO_CONTENT)


class ReactionView(APIView):
    @extend_schema(
        parameters=[MESSAGE_PARAMETER, EMOJI_PARAMETER],
        request=None,
        responses={200: ReactionsSerializer, **REFUSALS},
    )
    def put(self, request: Request, message_id: int, emoji: str) -> Response:
        """React to a message I can read: 200 and its reactions (again: no change)."""
        return react_and_respond(request, message_id, emoji, add=True)

    @extend_schema(
        parameters=[MESSAGE_PARAMETER, EMOJI_PARAMETER],
        request=None,
        responses={200: ReactionsSerializer, **REFUSALS},
    )
    def delete(self, request: Request, message_id: int, emoji: str) -> Response:
        """Take my reaction back: 200 and the message's reactions."""
        return react_and_respond(request, message_id, emoji, add=False)


def react_and_respond(
    request: Request, message_id: int, emoji: str, *, add: bool
) -> Response:
    """Add or remove a reaction through the WebSocket's service.

    The URL resolver has decoded the path: `emoji` is the text itself.
    """
    message_id = checked_message_id(message_id)
    stored = react(user=request.user, message_id=message_id, emoji=emoji, add=add)
    if stored is not None:
        return Response({"reactions": stored.message.reactions})
    # Nothing changed (added twice, or not there): the service has checked that
    # the message is visible; its state as it is.
    reactions = (
        Message.objects.filter(pk=message_id)
        .values_list("reactions", flat=True)
        .first()
    )
    if reactions is None:
        raise NotFound("No such message.")
    return Response({"reactions": reactions})


class ChangesView(APIView):
    @extend_schema(
        parameters=[
            OpenApiParameter(
                "after",
                CHANGE_ID,
                description="Only changes with a larger change_id (0).",
            ),
            OpenApiParameter(
                "limit", LIMIT, description="At most this many (above 500: 500)."
            ),
        ],
        responses={200: ChangePageSerializer, **errors(400, 401, 410)},
    )
    def get(self, request: Request) -> Response:
        """The changes to messages I can see after change `after`, oldest first.

        The same frames as live. 410 `changes_expired`: `after` is older than
        the changes kept; reload the history.
        """
        params = request.query_params
        after = parse_change_cursor(params.get("after"), name="after") or 0
        limit = parse_limit(params.get("limit"))
        page = changes_page(
            user=request.user, after=after, limit=limit, through=last_change_id()
        )
        return Response(
            {
                "changes": change_frames(page.changes),
                "last_change_id": page.last_change_id,
                "more": page.more,
            }
        )
