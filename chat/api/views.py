"""Rooms, members and messages over HTTP (token as `Authorization: Bearer`)."""

from django.db.models import Count, Max
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from chat import events
from chat.errors import Forbidden
from chat.models import Conversation, Membership
from chat.selectors import (
    conversation_history,
    direct_conversation,
    parse_cursor,
    parse_limit,
    readable_room,
    rooms_visible_to,
    user_by_username,
)
from chat.services.messages import send_message
from chat.services.rooms import add_member, create_room, join_room, leave_room

from .serializers import (
    AddMemberSerializer,
    CreateRoomSerializer,
    MemberSerializer,
    MembershipSerializer,
    MessagePageSerializer,
    MessageSerializer,
    PostMessageSerializer,
    RoomSerializer,
)

PAGE_PARAMETERS = [
    OpenApiParameter("after", int, description="Only messages with a larger id."),
    OpenApiParameter("before", int, description="Only messages with a smaller id."),
    OpenApiParameter("limit", int, description="At most this many (1-500)."),
]


def room_payload(room: Conversation, *, member: bool, members: int) -> dict:
    return {
        "slug": room.slug,
        "title": room.title,
        "private": room.is_private,
        "owner": events.user_payload(room.owner) if room.owner else None,
        "member": member,
        "members": members,
        "last_id": getattr(room, "last_id", None) or 0,
    }


def message_page(request: Request, conversation: Conversation) -> Response:
    after = parse_cursor(request.query_params.get("after"), name="after")
    before = parse_cursor(request.query_params.get("before"), name="before")
    limit = parse_limit(request.query_params.get("limit"))
    messages, more = conversation_history(
        conversation=conversation, after=after, before=before, limit=limit
    )
    return Response(
        {
            "messages": [events.message_payload(m) for m in messages],
            "more": more,
            "last_id": messages[-1].id if messages else (after or 0),
        }
    )


def post_and_respond(request: Request, **target) -> Response:
    """One path for every HTTP post: the service the WebSocket uses."""
    data = PostMessageSerializer(data=request.data)
    data.is_valid(raise_exception=True)
    message, created = send_message(
        sender=request.user,
        body=data.validated_data.get("body"),
        client_id=data.validated_data.get("client_id"),
        **target,
    )
    return Response(
        events.message_payload(message),
        status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
    )


class RoomListView(APIView):
    @extend_schema(responses=RoomSerializer(many=True))
    def get(self, request: Request) -> Response:
        """Public rooms and the private rooms I am in, with whether I am a member."""
        rooms = (
            rooms_visible_to(request.user)
            .select_related("owner")
            .annotate(member_count=Count("memberships", distinct=True))
            .annotate(last_id=Max("messages__id"))
            .order_by("slug")
        )
        mine = set(
            Membership.objects.filter(user=request.user).values_list(
                "conversation_id", flat=True
            )
        )
        return Response(
            [
                room_payload(room, member=room.pk in mine, members=room.member_count)
                for room in rooms
            ]
        )

    @extend_schema(request=CreateRoomSerializer, responses={201: RoomSerializer})
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


class RoomJoinView(APIView):
    @extend_schema(request=None, responses=MembershipSerializer)
    def post(self, request: Request, slug: str) -> Response:
        """Join a public room (a private one: its owner adds members)."""
        room, joined = join_room(user=request.user, slug=slug)
        return Response({"room": room.slug, "member": True, "changed": joined})


class RoomLeaveView(APIView):
    @extend_schema(request=None, responses=MembershipSerializer)
    def post(self, request: Request, slug: str) -> Response:
        room, left = leave_room(user=request.user, slug=slug)
        return Response({"room": room.slug, "member": False, "changed": left})


class RoomMembersView(APIView):
    @extend_schema(responses=MemberSerializer(many=True))
    def get(self, request: Request, slug: str) -> Response:
        """The members of a room I can read."""
        room = readable_room(user=request.user, slug=slug)
        members = room.memberships.select_related("user").order_by("joined_at")
        return Response(
            [
                {
                    "user": events.user_payload(m.user),
                    "role": m.role,
                    "joined_at": events.isoformat(m.joined_at),
                }
                for m in members
            ]
        )

    @extend_schema(request=AddMemberSerializer, responses=MembershipSerializer)
    def post(self, request: Request, slug: str) -> Response:
        """Add a user to a room I own (how a private room gets its members)."""
        data = AddMemberSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        room, user, added = add_member(
            slug=slug, username=data.validated_data["username"], actor=request.user
        )
        return Response(
            {"room": room.slug, "member": True, "changed": added},
            status=status.HTTP_201_CREATED if added else status.HTTP_200_OK,
        )


class RoomMessagesView(APIView):
    @extend_schema(parameters=PAGE_PARAMETERS, responses=MessagePageSerializer)
    def get(self, request: Request, slug: str) -> Response:
        """A page of a room's history, oldest first (members only)."""
        return message_page(request, readable_room(user=request.user, slug=slug))

    @extend_schema(
        request=PostMessageSerializer, responses={201: MessageSerializer, 200: MessageSerializer}
    )
    def post(self, request: Request, slug: str) -> Response:
        """Post to a room I am in: 201, or 200 with the stored message on a retry."""
        return post_and_respond(request, room=slug)


class DirectMessagesView(APIView):
    @extend_schema(parameters=PAGE_PARAMETERS, responses=MessagePageSerializer)
    def get(self, request: Request, username: str) -> Response:
        """A page of my direct conversation with `username`, oldest first."""
        other = user_by_username(username)
        if other.pk == request.user.pk:
            raise Forbidden("A direct conversation needs another user.")
        conversation = direct_conversation(user=request.user, other=other)
        if conversation is None:
            return Response({"messages": [], "more": False, "last_id": 0})
        return message_page(request, conversation)

    @extend_schema(
        request=PostMessageSerializer, responses={201: MessageSerializer, 200: MessageSerializer}
    )
    def post(self, request: Request, username: str) -> Response:
        return post_and_respond(request, to=username)
