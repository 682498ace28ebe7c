"""Moderation over HTTP: bans, mutes and the audit log of a room.

Views validate the shape; chat.services.moderation decides who may act on
whom, and records each action.
"""

from collections.abc import Callable, Mapping

from drf_spectacular.utils import (
    OpenApiParameter,
    extend_schema,
    extend_schema_view,
    inline_serializer,
)
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


class _RestrictionsView(APIView):
    """A room's bans or mutes: list them, give one (the subclasses name the
    services and their descriptions)."""

    listing: Callable  # moderation.bans_of, .mutes_of
    restrict: Callable  # moderation.ban, .mute

    def get(self, request: Request, slug: str) -> Response:
        found = self.listing(slug=slug, actor=request.user)
        return Response([moderation.restriction_payload(one) for one in found])

    def post(self, request: Request, slug: str) -> Response:
        data = _object(request.data)
        restriction = self.restrict(
            slug=slug,
            username=data.get("username"),
            actor=request.user,
            reason=data.get("reason", ""),
            expires_in=data.get("expires_in"),
        )
        return Response(
            moderation.restriction_payload(restriction),
            status=status.HTTP_201_CREATED,
        )


class _LiftView(APIView):
    lift: Callable  # moderation.unban, .unmute

    def delete(self, request: Request, slug: str, username: str) -> Response:
        self.lift(slug=slug, username=username, actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


LISTING = {200: RESTRICTION.__class__(many=True), **errors(401, 403, 404)}
GIVING = {201: RESTRICTION, **errors(400, 401, 403, 404)}
LIFTING = {204: None, **errors(401, 403, 404)}


@extend_schema_view(
    get=extend_schema(
        responses=LISTING,
        description="The bans in force in a room (its owners, moderators and staff).",
    ),
    post=extend_schema(
        request=RESTRICT,
        responses=GIVING,
        description='Ban a user: out of the room now (`room.left` "banned"), '
        "not back in until it expires or is lifted.",
    ),
)
class BansView(_RestrictionsView):
    listing = staticmethod(moderation.bans_of)
    restrict = staticmethod(moderation.ban)


@extend_schema_view(
    delete=extend_schema(
        request=None, responses=LIFTING, description="Lift a ban (404 if none)."
    )
)
class BanView(_LiftView):
    lift = staticmethod(moderation.unban)


@extend_schema_view(
    get=extend_schema(
        responses=LISTING,
        description="The mutes in force in a room (its owners, moderators and staff).",
    ),
    post=extend_schema(
        request=RESTRICT,
        responses=GIVING,
        description="Mute a user: they still read, but what they write is "
        "refused (`muted`, with `until`) until it expires or is lifted.",
    ),
)
class MutesView(_RestrictionsView):
    listing = staticmethod(moderation.mutes_of)
    restrict = staticmethod(moderation.mute)


@extend_schema_view(
    delete=extend_schema(
        request=None, responses=LIFTING, description="Lift a mute (404 if none)."
    )
)
class MuteView(_LiftView):
    lift = staticmethod(moderation.unmute)


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
