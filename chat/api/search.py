"""Message search over HTTP (docs/protocol.md, "Search")."""

from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from chat import events
from chat.search.query import MAX_LIMIT, parse_search_limit, search_messages
from chatsite.errors import errors

from .serializers import MESSAGE_ID, MessageSerializer


class SearchView(APIView):
    @extend_schema(
        parameters=[
            OpenApiParameter(
                "q",
                str,
                required=True,
                description="Words (the last one as a prefix), or any two or more "
                "Chinese, Japanese or Korean characters of a message.",
            ),
            OpenApiParameter("room", str, description="Only this room (a slug)."),
            OpenApiParameter(
                "with", str, description="Only my direct conversation with this user."
            ),
            OpenApiParameter("from", str, description="Only messages by this user."),
            OpenApiParameter(
                "before", MESSAGE_ID, description="Only messages with a smaller id."
            ),
            OpenApiParameter(
                "limit",
                {"type": "integer", "minimum": 1, "maximum": 2**63 - 1},
                description=f"At most this many (default 20, above {MAX_LIMIT}: "
                f"{MAX_LIMIT}).",
            ),
        ],
        responses={
            200: inline_serializer(
                "SearchResults",
                {
                    "results": inline_serializer(
                        "SearchResult",
                        {
                            "message": MessageSerializer(),
                            "highlight": serializers.CharField(),
                        },
                        many=True,
                    ),
                    "more": serializers.BooleanField(),
                },
            ),
            **errors(400, 401, 403, 404, 429),
        },
    )
    def get(self, request: Request) -> Response:
        """Messages I can read now that match `q`, newest first.

        `highlight` is the body (or the part around the first match) as escaped
        HTML with each match in `<mark>`.
        """
        params = request.query_params
        found, more = search_messages(
            user=request.user,
            query=params.get("q"),
            room=params.get("room") or None,
            with_user=params.get("with") or None,
            sender=params.get("from") or None,
            before=params.get("before"),
            limit=parse_search_limit(params.get("limit")),
        )
        return Response(
            {
                "results": [
                    {
                        "message": events.message_payload(f.message),
                        "highlight": f.highlight,
                    }
                    for f in found
                ],
                "more": more,
            }
        )
