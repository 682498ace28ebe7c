"""Invite links over HTTP: make, list and revoke (a room's moderators), accept
(anyone holding the code). The views enter at chat.services.invites."""

from collections.abc import Mapping

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from chat.errors import InvalidInput
from chat.services.invites import (
    MAX_EXPIRES_IN,
    MAX_USES,
    accept_invite,
    create_invite,
    invite_payload,
    revoke_invite,
    room_invites,
)
from chatsite.errors import errors

from .serializers import MembershipSerializer, UserSerializer


def origin(request: Request) -> str:
    """`https://host` as the client reached us (behind the proxy: its scheme)."""
    return request.build_absolute_uri("/").rstrip("/")


class NewInviteSerializer(serializers.Serializer):
    """Documents a new invite; the service checks the fields."""

    expires_in = serializers.IntegerField(
        min_value=1,
        max_value=MAX_EXPIRES_IN,
        allow_null=True,
        required=False,
        help_text="Seconds until it expires (null or absent: never).",
    )
    max_uses = serializers.IntegerField(
        min_value=1,
        max_value=MAX_USES,
        allow_null=True,
        required=False,
        help_text="How many people may join with it (null or absent: any number).",
    )


class InviteSerializer(serializers.Serializer):
    code = serializers.CharField()
    url = serializers.CharField(
        help_text="The page that offers to join: /invite/<code>/"
    )
    room = serializers.CharField()
    expires_at = serializers.DateTimeField(allow_null=True)
    max_uses = serializers.IntegerField(allow_null=True)
    uses = serializers.IntegerField()
    created_at = serializers.DateTimeField()
    created_by = UserSerializer(allow_null=True)


class RoomInvitesView(APIView):
    @extend_schema(
        responses={200: InviteSerializer(many=True), **errors(401, 403, 404)}
    )
    def get(self, request: Request, slug: str) -> Response:
        """The room's invites still usable, the newest first (its moderators)."""
        invites = room_invites(slug=slug, actor=request.user)
        return Response(
            [invite_payload(invite, origin=origin(request)) for invite in invites]
        )

    @extend_schema(
        request=NewInviteSerializer,
        responses={201: InviteSerializer, **errors(400, 401, 403, 404)},
    )
    def post(self, request: Request, slug: str) -> Response:
        """Make an invite link to a room I moderate: 201 and the link."""
        data = request.data
        if not isinstance(data, Mapping):
            raise InvalidInput(
                "invalid", "Send a JSON object with 'expires_in' and 'max_uses'."
            )
        invite = create_invite(
            slug=slug,
            actor=request.user,
            expires_in=data.get("expires_in"),
            max_uses=data.get("max_uses"),
        )
        return Response(
            invite_payload(invite, origin=origin(request)),
            status=status.HTTP_201_CREATED,
        )


class RoomInviteView(APIView):
    @extend_schema(request=None, responses={204: None, **errors(401, 403, 404)})
    def delete(self, request: Request, slug: str, code: str) -> Response:
        """Revoke one of the room's invite links: 204 (again: 204)."""
        revoke_invite(code=code, slug=slug, actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class InviteView(APIView):
    @extend_schema(request=None, responses={204: None, **errors(401, 403, 404)})
    def delete(self, request: Request, code: str) -> Response:
        """Revoke an invite link of a room I moderate: 204 (again: 204)."""
        revoke_invite(code=code, actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class AcceptInviteView(APIView):
    @extend_schema(
        request=None,
        responses={200: MembershipSerializer, **errors(401, 403, 404)},
    )
    def post(self, request: Request, code: str) -> Response:
        """Join the room of an invite link: 200 (`changed` false: a member
        already). Unknown, expired, used up or revoked: 404 `not_found`;
        banned: 403 `forbidden`."""
        room, joined = accept_invite(code=code, user=request.user)
        return Response({"room": room.slug, "member": True, "changed": joined})
