"""Rooms, members and messages over HTTP (token as `Authorization: Bearer`)."""

from collections.abc import Mapping

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from chat import events
from chat.errors import Forbidden, InvalidInput
from chat.models import Conversation
from chat.selectors import (
    conversation_history,
    conversation_history_around,
    direct_conversation,
    direct_conversations_of,
    is_member,
    member_conversation_ids,
    parse_cursor,
    parse_limit,
    readable_room,
    room_by_slug,
    room_owner,
    rooms_visible_to,
    user_by_username,
    with_room_counts,
)
from chat.services.messages import send_message
from chat.services.presence import statuses_of
from chat.services.reads import mark_read
from chat.services.rooms import (
    add_member,
    create_room,
    delete_room_by_slug,
    join_room,
    leave_room,
    remove_member,
    set_role,
    update_room_by_slug,
)
from chatsite.errors import errors

from .serializers import (
    LIMIT,
    MESSAGE_ID,
    AddMemberSerializer,
    CreateRoomSerializer,
    DirectConversationSerializer,
    MemberRoleSerializer,
    MemberSerializer,
    MembershipSerializer,
    MessagePageSerializer,
    MessageSerializer,
    PostMessageSerializer,
    ReadPositionSerializer,
    ReadSerializer,
    RoleSerializer,
    RoomSerializer,
    UpdateRoomSerializer,
)

PAGE_PARAMETERS = [
    OpenApiParameter(
        "after", MESSAGE_ID, description="Only messages with a larger id."
    ),
    OpenApiParameter(
        "before", MESSAGE_ID, description="Only messages with a smaller id."
    ),
    OpenApiParameter("limit", LIMIT, description="At most this many (above 500: 500)."),
    OpenApiParameter(
        "around",
        MESSAGE_ID,
        description="A page centred on this message (with neither after nor "
        "before); `more_after` then says whether newer ones remain.",
    ),
]


def room_payload(room: Conversation, *, member: bool, members: int) -> dict:
    owner = room_owner(room)
    return {
        "slug": room.slug,
        "title": room.title,
        "private": room.is_private,
        "owner": events.user_payload(owner) if owner else None,
        "member": member,
        "members": members,
        "last_id": getattr(room, "last_id", None) or 0,
        **activity(room, member=member),
    }


def activity(conversation: Conversation, *, member: bool = True) -> dict:
    """The newest message's time and the reader's position and unread count.

    Reads the annotations of selectors.with_activity, if made.
    """
    last_at = getattr(conversation, "last_message_at", None)
    return {
        "last_message_at": events.isoformat(last_at) if last_at else None,
        "read_id": getattr(conversation, "read_id", 0) if member else 0,
        "unread": getattr(conversation, "unread", 0) if member else 0,
        "mentions": getattr(conversation, "mentions", 0) if member else 0,
    }


def page_parameters(request: Request) -> dict:
    """`after`, `before`, `around` and `limit` from the query string, checked."""
    params = request.query_params
    checked = {
        "after": parse_cursor(params.get("after"), name="after"),
        "before": parse_cursor(params.get("before"), name="before"),
        "around": parse_cursor(params.get("around"), name="around"),
        "limit": parse_limit(params.get("limit")),
    }
    if checked["around"] is not None and (
        checked["after"] is not None or checked["before"] is not None
    ):
        raise InvalidInput("invalid", "Give 'around' alone, without after or before.")
    return checked


def message_page(
    conversation: Conversation | None, *, after, before, limit, around=None
) -> dict:
    """A page of history; None is a conversation that has no messages yet.

    With `around`: centred on that message (a search result opened in place),
    `more` for older messages beyond the page and `more_after` for newer ones.
    """
    if around is not None:
        messages, more, more_after = [], False, False
        if conversation is not None:
            messages, more, more_after = conversation_history_around(
                conversation=conversation, around=around, limit=limit
            )
        return {
            "messages": [events.message_payload(m) for m in messages],
            "more": more,
            "more_after": more_after,
            "last_id": messages[-1].id if messages else 0,
        }
    messages, more = [], False
    if conversation is not None:
        messages, more = conversation_history(
            conversation=conversation, after=after, before=before, limit=limit
        )
    return {
        "messages": [events.message_payload(m) for m in messages],
        "more": more,
        "last_id": messages[-1].id if messages else (after or 0),
    }


def post_and_respond(request: Request, **target) -> Response:
    """One path for every HTTP post: the service the WebSocket uses.

    The fields go to the service as sent, so that its checks (and their codes:
    empty, too_long, invalid) are the WebSocket's, word for word.
    """
    if not isinstance(request.data, Mapping):
        raise InvalidInput("invalid", "Send a JSON object with 'body' and 'client_id'.")
    message, created = send_message(
        sender=request.user,
        body=request.data.get("body"),
        client_id=request.data.get("client_id"),
        reply_to=request.data.get("reply_to"),
        attachments=request.data.get("attachments"),
        **target,
    )
    return Response(
        events.message_payload(message),
        status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
    )


class RoomListView(APIView):
    @extend_schema(responses={200: RoomSerializer(many=True), **errors(401)})
    def get(self, request: Request) -> Response:
        """Public rooms and the private rooms I am in, with whether I am a member."""
        rooms = with_room_counts(
            Conversation.objects.filter(
                pk__in=rooms_visible_to(request.user).values("pk")
            ),
            request.user,
        ).order_by("slug")
        mine = set(member_conversation_ids(request.user))
        return Response(
            [
                room_payload(room, member=room.pk in mine, members=room.member_count)
                for room in rooms
            ]
        )

    @extend_schema(
        request=CreateRoomSerializer,
        responses={201: RoomSerializer, **errors(400, 401, 409)},
    )
    def post(self, request: Request) -> Response:
        """Create a room; I own it and am its first member."""
        data = CreateRoomSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        room = create_room(
            slug=data.validated_data["slug"],
            title=data.validated_data.get("title", ""),
            is_private=data.validated_data.get("private", False),
            owner=request.user,
        )
        return Response(
            room_payload(room, member=True, members=1), status=status.HTTP_201_CREATED
        )


class RoomDetailView(APIView):
    @extend_schema(responses={200: RoomSerializer, **errors(401, 403, 404)})
    def get(self, request: Request, slug: str) -> Response:
        """One room: any public room, or a private room I am in."""
        room = room_by_slug(slug)
        member = is_member(user=request.user, conversation=room)
        if room.is_private and not member:
            raise Forbidden(f"'{room.slug}' is private: its owner adds its members.")
        return Response(room_response(room, user=request.user, member=member))

    @extend_schema(
        request=UpdateRoomSerializer,
        responses={200: RoomSerializer, **errors(400, 401, 403, 404)},
    )
    def patch(self, request: Request, slug: str) -> Response:
        """Rename a room I own, or make it public or private.

        The fields go to the service as sent: a title must be text and
        `private` true or false, not something that converts to them.
        """
        if not isinstance(request.data, Mapping):
            raise InvalidInput(
                "invalid", "Send a JSON object with 'title' or 'private'."
            )
        changes = {
            name: request.data[field]
            for field, name in (("title", "title"), ("private", "is_private"))
            if field in request.data
        }
        room = update_room_by_slug(slug=slug, actor=request.user, **changes)
        member = is_member(user=request.user, conversation=room)
        return Response(room_response(room, user=request.user, member=member))

    @extend_schema(request=None, responses={204: None, **errors(401, 403, 404)})
    def delete(self, request: Request, slug: str) -> Response:
        """Delete a room I own: its members' sockets get `room.left` ("deleted")."""
        delete_room_by_slug(slug=slug, actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


def room_response(room: Conversation, *, user, member: bool) -> dict:
    """A room as GET /api/rooms/<slug>/ shows it to `user`."""
    room = with_room_counts(Conversation.objects.filter(pk=room.pk), user).get()
    return room_payload(room, member=member, members=room.member_count)


class RoomJoinView(APIView):
    @extend_schema(
        request=None, responses={200: MembershipSerializer, **errors(401, 403, 404)}
    )
    def post(self, request: Request, slug: str) -> Response:
        """Join a public room (a private one: its owner adds members)."""
        room, joined = join_room(user=request.user, slug=slug)
        return Response({"room": room.slug, "member": True, "changed": joined})


class RoomLeaveView(APIView):
    @extend_schema(
        request=None, responses={200: MembershipSerializer, **errors(401, 404)}
    )
    def post(self, request: Request, slug: str) -> Response:
        """Leave a room; its messages stop reaching me."""
        room, left = leave_room(user=request.user, slug=slug)
        return Response({"room": room.slug, "member": False, "changed": left})


class RoomMembersView(APIView):
    @extend_schema(
        responses={200: MemberSerializer(many=True), **errors(401, 403, 404)}
    )
    def get(self, request: Request, slug: str) -> Response:
        """The members of a room I am in."""
        room = readable_room(user=request.user, slug=slug)
        members = list(
            room.memberships.select_related("user").order_by("joined_at", "pk")
        )
        statuses = statuses_of([m.user_id for m in members])
        return Response(
            [
                {
                    "user": events.user_payload(m.user),
                    "role": m.role,
                    "joined_at": events.isoformat(m.joined_at),
                    "status": statuses[m.user_id],
                }
                for m in members
            ]
        )

    @extend_schema(
        request=AddMemberSerializer,
        responses={
            201: MembershipSerializer,
            200: MembershipSerializer,
            **errors(400, 401, 403, 404),
        },
    )
    def post(self, request: Request, slug: str) -> Response:
        """Add a user to a room I own: 201, or 200 if they were a member already."""
        data = AddMemberSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        room, _, added = add_member(
            slug=slug, username=data.validated_data["username"], actor=request.user
        )
        return Response(
            {"room": room.slug, "member": True, "changed": added},
            status=status.HTTP_201_CREATED if added else status.HTTP_200_OK,
        )


class RoomMemberView(APIView):
    @extend_schema(request=None, responses={204: None, **errors(401, 403, 404, 409)})
    def delete(self, request: Request, slug: str, username: str) -> Response:
        """Remove a member (a kick) from a room I own or moderate: 204, also if
        not a member; my own name: I leave.

        Their sockets get `room.left` with the reason "kicked". A moderator
        cannot kick an owner or another moderator.
        """
        remove_member(slug=slug, username=username, actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class RoomMemberRoleView(APIView):
    @extend_schema(
        request=RoleSerializer,
        responses={200: MemberRoleSerializer, **errors(400, 401, 403, 404, 409)},
    )
    def post(self, request: Request, slug: str, username: str) -> Response:
        """Make a member of a room I own an owner, a moderator or a member."""
        if not isinstance(request.data, Mapping):
            raise InvalidInput("invalid", "Send a JSON object with 'role'.")
        membership = set_role(
            slug=slug,
            username=username,
            role=request.data.get("role"),
            actor=request.user,
        )
        return Response(
            {
                "room": membership.conversation.slug,
                "user": events.user_payload(membership.user),
                "role": membership.role,
            }
        )


POSTED = {201: MessageSerializer, 200: MessageSerializer, **errors(400, 401, 403, 404)}


class RoomMessagesView(APIView):
    @extend_schema(
        parameters=PAGE_PARAMETERS,
        responses={200: MessagePageSerializer, **errors(400, 401, 403, 404)},
    )
    def get(self, request: Request, slug: str) -> Response:
        """A page of a room's history, oldest first (members only)."""
        params = page_parameters(request)
        room = readable_room(user=request.user, slug=slug)
        return Response(message_page(room, **params))

    @extend_schema(request=PostMessageSerializer, responses=POSTED)
    def post(self, request: Request, slug: str) -> Response:
        """Post to a room I am in: 201, or 200 with the stored message on a retry."""
        return post_and_respond(request, room=slug)


class DirectListView(APIView):
    @extend_schema(
        responses={200: DirectConversationSerializer(many=True), **errors(401)}
    )
    def get(self, request: Request) -> Response:
        """My direct conversations, the most recently active first."""
        return Response(
            [
                {
                    "user": events.user_payload(other),
                    "last_id": conversation.last_id or 0,
                    **activity(conversation),
                }
                for conversation, other in direct_conversations_of(request.user)
            ]
        )


class DirectMessagesView(APIView):
    @extend_schema(
        parameters=PAGE_PARAMETERS,
        responses={200: MessagePageSerializer, **errors(400, 401, 403, 404)},
    )
    def get(self, request: Request, username: str) -> Response:
        """A page of my direct conversation with `username`, oldest first."""
        params = page_parameters(request)
        other = user_by_username(username)
        if other.pk == request.user.pk:
            raise InvalidInput("invalid", "A direct conversation needs another user.")
        conversation = direct_conversation(user=request.user, other=other)
        return Response(message_page(conversation, **params))

    @extend_schema(request=PostMessageSerializer, responses=POSTED)
    def post(self, request: Request, username: str) -> Response:
        """Write to `username`: 201, or 200 with the stored message on a retry."""
        return post_and_respond(request, to=username)


def read_and_respond(request: Request, **target) -> Response:
    """Move my read position (`{"id": N}`) through the WebSocket's service."""
    if not isinstance(request.data, Mapping):
        raise InvalidInput("invalid", "Send a JSON object with 'id'.")
    position = mark_read(user=request.user, message_id=request.data.get("id"), **target)
    return Response(
        {
            "room": position.room,
            "with": events.user_payload(position.other) if position.other else None,
            "id": position.read_id,
            "unread": position.unread,
            "mentions": position.mentions,
            "changed": position.changed,
        }
    )


READ = {200: ReadPositionSerializer, **errors(400, 401, 403, 404)}


class RoomReadView(APIView):
    @extend_schema(request=ReadSerializer, responses=READ)
    def post(self, request: Request, slug: str) -> Response:
        """I have read a room up to message `id` (a position never moves back)."""
        return read_and_respond(request, room=slug)


class DirectReadView(APIView):
    @extend_schema(request=ReadSerializer, responses=READ)
    def post(self, request: Request, username: str) -> Response:
        """I have read my direct conversation with `username` up to message `id`."""
        return read_and_respond(request, to=username)
