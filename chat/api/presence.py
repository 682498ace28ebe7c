"""Presence over HTTP: who, of the people I share a conversation with, is here."""

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from chat.services.presence import presence_of_sharing_users
from chatsite.errors import errors

STATUSES = ["online", "away", "offline"]


class PresenceView(APIView):
    @extend_schema(
        responses={
            200: inline_serializer(
                "Presence",
                {
                    "users": inline_serializer(
                        "PresenceUser",
                        {
                            "id": serializers.IntegerField(),
                            "username": serializers.CharField(),
                            "status": serializers.ChoiceField(STATUSES),
                            "last_active_at": serializers.DateTimeField(
                                allow_null=True
                            ),
                        },
                        many=True,
                    )
                },
            ),
            **errors(401, 429),
        },
    )
    def get(self, request: Request) -> Response:
        """The status of everyone who shares a conversation with me (never me);
        a user who hides their presence is offline, with no last_active_at."""
        return Response({"users": presence_of_sharing_users(request.user)})
