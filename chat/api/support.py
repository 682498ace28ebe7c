"""Customer support over HTTP (docs/protocol.md, "Support"): the widget's
visitor endpoints (no account; the Origin must be one of the site's) and the
agents' endpoints. The views enter at chat.services.support*."""

from urllib.parse import urlsplit

from django.conf import settings
from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import permissions, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from chat import events
from chat.errors import Forbidden, InvalidInput
from chat.services import support, support_metrics
from chat.services import support_conversations as conversations
from chatsite.errors import errors


def _doc(operation_id: str | None = None, *, visitor: bool = False):
    """The schema of a support endpoint: JSON objects, described in
    docs/protocol.md ("Support")."""
    statuses = (400, 403, 404) if visitor else (400, 401, 403, 404)
    ok = dict.fromkeys((200, 201, 202), OpenApiTypes.OBJECT)
    return extend_schema(
        operation_id=operation_id,
        request=OpenApiTypes.OBJECT,
        responses={**ok, **errors(*statuses)},
    )


def own_origin(request: Request) -> str:
    return request.build_absolute_uri("/").rstrip("/")


def request_origin(request: Request) -> str:
    """The origin of the page a request comes from, or "".

    The Origin header if sent. A browser sends none with a same-origin GET
    (the widget's frame asking after a reload whether to offer the rating),
    so for a GET without one: ours if Sec-Fetch-Site says same-origin; with
    no Sec-Fetch-Site (an older browser), the Referer's origin. Anything else
    (a cross-site or typed-in GET without Origin, a POST without one) is "".
    """
    origin = request.headers.get("Origin", "")
    if origin or request.method not in ("GET", "HEAD"):
        return origin
    fetch_site = request.headers.get("Sec-Fetch-Site")
    if fetch_site is not None:
        return own_origin(request) if fetch_site == "same-origin" else ""
    referer = urlsplit(request.headers.get("Referer", ""))
    if referer.scheme in ("http", "https") and referer.netloc:
        return f"{referer.scheme}://{referer.netloc}"
    return ""


def check_origin(request: Request, site) -> str:
    """The request's origin: one of the site's, or ours (the widget's frame,
    which only the site's origins may embed: frame-ancestors)."""
    origin = request_origin(request)
    if origin and origin.rstrip("/") in {own_origin(request), settings.CHAT_SITE_URL}:
        return origin
    support.require_origin(site, origin)
    return origin


def _body(request: Request) -> dict:
    if not isinstance(request.data, dict):
        raise InvalidInput("invalid", "The body must be a JSON object.")
    return request.data


class VisitorEndpoint(APIView):
    """No account, no CSRF cookie: the Origin header is the check, and CORS
    lets the site's own pages call it."""

    authentication_classes: list = []
    permission_classes = [permissions.AllowAny]
    throttle_classes: list = []

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        origin = request.headers.get("Origin")
        site = getattr(request, "support_site", None)
        if origin and site is not None and support.origin_allowed(site, origin):
            response["Access-Control-Allow-Origin"] = origin
            response["Access-Control-Allow-Headers"] = "Authorization, Content-Type"
            response["Access-Control-Allow-Methods"] = "GET, POST, OPTIONS"
            response["Vary"] = "Origin"
        return response

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        if request.method == "POST":
            _body(request)  # a malformed body is 400 before anything is looked up

    def site(self, request: Request, public_key: str):
        site = support.site_by_key(public_key)
        request.support_site = site  # type: ignore[attr-defined]
        return site

    @extend_schema(exclude=True)
    def options(self, request, *args, **kwargs):
        self.site(request, kwargs["public_key"])
        return Response(status=status.HTTP_204_NO_CONTENT)


class SiteConfigView(VisitorEndpoint):
    @_doc("support_site", visitor=True)
    def get(self, request: Request, public_key: str) -> Response:
        site = self.site(request, public_key)
        return Response(conversations.widget_config(site))


class VisitorsView(VisitorEndpoint):
    @_doc("support_visitors_create", visitor=True)
    def post(self, request: Request, public_key: str) -> Response:
        site = self.site(request, public_key)
        check_origin(request, site)
        data = _body(request)
        fields = {
            key: data.get(key)
            for key in ("name", "email", "page_url", "user_agent", "time_zone")
        }
        fields.setdefault("user_agent", request.headers.get("User-Agent", ""))
        if not fields["user_agent"]:
            fields["user_agent"] = request.headers.get("User-Agent", "")
        visitor = support.register_visitor(
            site=site,
            fields=fields,
            user_id=data.get("user_id"),
            user_hash_value=data.get("user_hash"),
        )
        return Response(
            {
                "token": support.visitor_token(visitor),
                "visitor": support.visitor_payload(visitor),
            },
            status=status.HTTP_201_CREATED,
        )


def _visitor(request: Request, site):
    data = _body(request) if request.method == "POST" else request.query_params
    return support.visitor_from_token(site, data.get("token"))


class VisitorConversationView(VisitorEndpoint):
    """The visitor's current conversation: status, queue place, agent."""

    @_doc("support_visitor_conversation", visitor=True)
    def get(self, request: Request, public_key: str) -> Response:
        site = self.site(request, public_key)
        check_origin(request, site)
        visitor = _visitor(request, site)
        found = conversations.latest_of(visitor)
        if found is None:
            return Response({"conversation": None})
        body: dict = {"id": found.pk, "status": found.status, "queue": None}
        body["agent"] = (
            {"display_name": conversations.agent_payload(found.agent)["display_name"]}
            if found.agent and found.status != "queued"
            else None
        )
        if found.status in conversations.WAITING:
            position, wait = conversations.queue_position(found)
            body["queue"] = {"position": position, "estimated_wait_seconds": wait}
        body["rating"] = found.rating
        return Response({"conversation": body})


class OfflineView(VisitorEndpoint):
    """The leave-a-message form: email required."""

    @_doc("support_offline", visitor=True)
    def post(self, request: Request, public_key: str) -> Response:
        site = self.site(request, public_key)
        check_origin(request, site)
        data = _body(request)
        visitor = None
        if data.get("token"):
            visitor = support.visitor_from_token(site, data.get("token"))
        found = conversations.leave_message(
            site=site,
            visitor=visitor,
            name=data.get("name"),
            email=data.get("email"),
            body=data.get("body"),
        )
        return Response(
            {"conversation": found.pk, "token": support.visitor_token(found.visitor)},
            status=status.HTTP_201_CREATED,
        )


class RatingView(VisitorEndpoint):
    @_doc("support_rating", visitor=True)
    def post(self, request: Request, public_key: str) -> Response:
        site = self.site(request, public_key)
        check_origin(request, site)
        data = _body(request)
        found = conversations.rate(
            visitor=_visitor(request, site),
            rating=data.get("rating"),
            comment=data.get("comment") or "",
        )
        return Response(
            {
                "conversation": found.pk,
                "rating": found.rating,
                "comment": found.rating_comment,
            }
        )


class TranscriptView(VisitorEndpoint):
    @_doc("support_transcript", visitor=True)
    def post(self, request: Request, public_key: str) -> Response:
        site = self.site(request, public_key)
        check_origin(request, site)
        address = conversations.transcript(
            visitor=_visitor(request, site), email=_body(request).get("email")
        )
        return Response({"sent_to": address}, status=status.HTTP_202_ACCEPTED)


# --- agents (their session or token) -------------------------------------------------


class AgentConversationsView(APIView):
    @_doc("support_conversations_list")
    def get(self, request: Request) -> Response:
        found = conversations.conversations_for_agent(
            request.user, status=request.query_params.get("status") or None
        )
        return Response({"conversations": found})


class AgentConversationView(APIView):
    @_doc("support_conversation")
    def get(self, request: Request, pk: int) -> Response:
        found = conversations.conversation_for_agent(request.user, pk)
        return Response(
            {
                "conversation": conversations.conversation_payload(found),
                "notes": conversations.notes_of(request.user, pk),
                "messages": conversations.history(request.user, pk),
            }
        )


def _agent_data(request: Request) -> dict:
    return _body(request)


class AgentActionView(APIView):
    """POST /api/support/conversations/<id>/<action>/."""

    action = ""

    @_doc()
    def post(self, request: Request, pk: int) -> Response:
        data = _agent_data(request)
        user = request.user
        if self.action == "messages":
            message, created = conversations.agent_send(
                agent=user,
                conversation_id=pk,
                body=data.get("body"),
                client_id=data.get("client_id"),
                attachments=data.get("attachments"),
            )
            payload = events.message_payload(message)
            code = status.HTTP_201_CREATED if created else status.HTTP_200_OK
            return Response(payload, status=code)
        if self.action == "notes":
            note = conversations.add_note(
                agent=user, conversation_id=pk, body=data.get("body")
            )
            return Response(conversations.note_payload(note), status=201)
        if self.action == "take":
            found = conversations.take(agent=user, conversation_id=pk)
        elif self.action == "transfer":
            found = conversations.transfer(
                agent=user,
                conversation_id=pk,
                to=data.get("to"),
                team=data.get("team"),
                note=data.get("note") or "",
            )
        elif self.action == "close":
            found = conversations.close(agent=user, conversation_id=pk)
        else:
            found = conversations.reopen(agent=user, conversation_id=pk)
        found = conversations.reloaded(found)
        return Response({"conversation": conversations.conversation_payload(found)})


class MetricsView(APIView):
    """Staff only: GET /api/support/metrics/?site=&since=&until=."""

    @_doc("support_metrics")
    def get(self, request: Request) -> Response:
        return Response({"rows": _metric_rows(request)})


def _metric_rows(request: Request) -> list[dict]:
    if not request.user.is_staff:
        raise Forbidden("Support metrics are for staff.")
    params = request.query_params
    return support_metrics.metrics(
        request.user,
        site_key=params.get("site"),
        since=params.get("since"),
        until=params.get("until"),
    )


class MetricsCsvView(APIView):
    @extend_schema(
        operation_id="support_metrics_csv",
        responses={(200, "text/csv"): OpenApiTypes.STR, **errors(401, 403)},
    )
    def get(self, request: Request) -> HttpResponse:
        text = support_metrics.metrics_csv(_metric_rows(request))
        response = HttpResponse(text, content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = 'attachment; filename="support-metrics.csv"'
        return response
