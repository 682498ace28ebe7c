"""The people directory over HTTP: find someone to start a direct conversation."""

from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from chat import events
from chat.selectors import PEOPLE_LIMIT, people_matching
from chatsite.errors import errors

from .serializers import UserSerializer


class PeopleView(APIView):
    @extend_schema(
        parameters=[
            OpenApiParameter(
                "q", str, description="Part of a username (case-insensitive)."
            )
        ],
        responses={
            200: inline_serializer("People", {"users": UserSerializer(many=True)}),
            **errors(401, 429),
        },
    )
    def get(self, request: Request) -> Response:
        """Up to 20 active users whose username contains `q` (never me)."""
        query = request.query_params.get("q", "")
        people = people_matching(query=query, viewer=request.user, limit=PEOPLE_LIMIT)
        return Response({"users": [events.user_payload(u) for u in people]})
