"""Moderation over HTTP: bans, mutes and the audit log of a room.

Views validate the shape; chat.services.moderation decides who may act on
whom, and records each action.
"""

from collections.abc import Mapping

from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from chat import events
from chat.errors import InvalidInput
from chat.models import AuditEntry
from chat.selectors import parse_cursor, parse_limit, room_by_slug
from chat.services import audit, moderation
from chat.services.restrictions import require_moderator
from chatsite.errors import errors

from .serializers import MESSAGE_ID, UserSerializer

RESTRICTION = inline_serializer(
    "Restriction",
    {
        "user": UserSerializer(),
        "reason": serializers.CharField(),
        "by": UserSerializer(allow_null=True),
        "created_at": serializers.DateTimeField(),
        "expires_at": serializers.DateTimeField(
            allow_null=True, help_text="null: until lifted."
        ),
    },
)

RESTRICT = inline_serializer(
    "Restrict",
    {
        "username": serializers.CharField(),
        "reason": serializers.CharField(required=False),
        "expires_in": serializers.IntegerField(
            allow_null=True, required=False, help_text="Seconds; null: until lifted."
        ),
    },
)


def _object(data) -> Mapping:
    if not isinstance(data, Mapping):
        raise InvalidInput("invalid", "Send a JSON object with 'username'.")
    return data


class BansView(APIView):
    @extend_schema(
        responses={200: RESTRICTION.__class__(many=True), **errors(401, 403, 404)}
    )
    def get(self, request: Request, slug: str) -> Response:
        """The bans in force in a room (its owners, moderators and staff)."""
        bans = moderation.bans_of(slug=slug, actor=request.user)
        return Response([moderation.restriction_payload(ban) for ban in bans])

    @extend_schema(
        request=RESTRICT, responses={201: RESTRICTION, **errors(400, 401, 403, 404)}
    )
    def post(self, request: Request, slug: str) -> Response:
        """Ban a user: out of the room now (`room.left` "banned"), not back in
        until it expires or is lifted."""
        data = _object(request.data)
        ban = moderation.ban(
            slug=slug,
            username=data.get("username"),
            actor=request.user,
            reason=data.get("reason", ""),
            expires_in=data.get("expires_in"),
        )
        return Response(
            moderation.restriction_payload(ban), status=status.HTTP_201_CREATED
        )


class BanView(APIView):
    @extend_schema(request=None, responses={204: None, **errors(401, 403, 404)})
    def delete(self, request: Request, slug: str, username: str) -> Response:
        """Lift a ban (404 if none is in force)."""
        moderation.unban(slug=slug, username=username, actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class MutesView(APIView):
    @extend_schema(
        responses={200: RESTRICTION.__class__(many=True), **errors(401, 403, 404)}
    )
    def get(self, request: Request, slug: str) -> Response:
        """The mutes in force in a room (its owners, moderators and staff)."""
        mutes = moderation.mutes_of(slug=slug, actor=request.user)
        return Response([moderation.restriction_payload(mute) for mute in mutes])

    @extend_schema(
        request=RESTRICT, responses={201: RESTRICTION, **errors(400, 401, 403, 404)}
    )
    def post(self, request: Request, slug: str) -> Response:
        """Mute a user: they still read, but what they write is refused
        (`muted`, with `until`) until it expires or is lifted."""
        data = _object(request.data)
        mute = moderation.mute(
            slug=slug,
            username=data.get("username"),
            actor=request.user,
            reason=data.get("reason", ""),
            expires_in=data.get("expires_in"),
        )
        return Response(
            moderation.restriction_payload(mute), status=status.HTTP_201_CREATED
        )


class MuteView(APIView):
    @extend_schema(request=None, responses={204: None, **errors(401, 403, 404)})
    def delete(self, request: Request, slug: str, username: str) -> Response:
        """Lift a mute (404 if none is in force)."""
        moderation.unmute(slug=slug, username=username, actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


def entry_payload(entry: AuditEntry) -> dict:
    """An audit entry as the API shows it (names as they were at the time)."""

    def person(pk, name):
        return {"id": pk, "username": name} if name else None

    return {
        "id": entry.pk,
        "action": entry.action,
        "actor": person(entry.actor_id, entry.actor_name),
        "target": person(entry.target_id, entry.target_name),
        "room": entry.room_slug,
        "reason": entry.reason,
        "detail": entry.detail,
        "created_at": events.isoformat(entry.created_at),
    }


ENTRY = inline_serializer(
    "AuditEntry",
    {
        "id": serializers.IntegerField(),
        "action": serializers.CharField(),
        "actor": UserSerializer(allow_null=True),
        "target": UserSerializer(allow_null=True),
        "room": serializers.CharField(),
        "reason": serializers.CharField(),
        "detail": serializers.DictField(),
        "created_at": serializers.DateTimeField(),
    },
)


class AuditView(APIView):
    @extend_schema(
        parameters=[
            OpenApiParameter(
                "before", MESSAGE_ID, description="Only entries with a smaller id."
            ),
            OpenApiParameter("limit", int, description="At most this many."),
        ],
        responses={
            200: inline_serializer(
                "AuditPage",
                {
                    "entries": ENTRY.__class__(many=True),
                    "more": serializers.BooleanField(),
                },
            ),
            **errors(400, 401, 403, 404),
        },
    )
    def get(self, request: Request, slug: str) -> Response:
        """A room's audit log, newest first (its owners, moderators and staff)."""
        room = room_by_slug(slug)
        require_moderator(actor=request.user, room=room, what="reads its audit log")
        before = parse_cursor(request.query_params.get("before"), name="before")
        limit = parse_limit(request.query_params.get("limit"))
        entries = list(audit.room_entries(room, before=before)[: limit + 1])
        return Response(
            {
                "entries": [entry_payload(entry) for entry in entries[:limit]],
                "more": len(entries) > limit,
            }
        )
