"""Reports over HTTP: any reader reports a message; the room's moderators see
the open reports and resolve them. The views enter at chat.services.reports."""

from collections.abc import Mapping

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from chat.errors import InvalidInput
from chat.services.reports import (
    ACTIONS,
    MAX_REASON_LENGTH,
    open_reports,
    report_message,
    report_payload,
    resolve_report,
)
from chatsite.errors import errors

from .changes import checked_message_id
from .serializers import UserSerializer


class NewReportSerializer(serializers.Serializer):
    reason = serializers.CharField(
        max_length=MAX_REASON_LENGTH,
        allow_blank=True,
        required=False,
        help_text="Why (at most 1,000 characters).",
    )


class SnapshotSerializer(serializers.Serializer):
    """The message as it was when reported."""

    id = serializers.IntegerField()
    body = serializers.CharField(allow_blank=True)
    sender = UserSerializer()
    created_at = serializers.DateTimeField()
    edited_at = serializers.DateTimeField(allow_null=True)
    attachments = serializers.ListField(child=serializers.DictField())


class ReportSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    room = serializers.CharField(allow_null=True)
    message_id = serializers.IntegerField()
    message = SnapshotSerializer()
    reporter = UserSerializer()
    reason = serializers.CharField(allow_blank=True)
    created_at = serializers.DateTimeField()
    status = serializers.CharField(help_text="`open` or `resolved`.")
    action = serializers.CharField(
        allow_null=True, help_text="How it was resolved (null while open)."
    )
    resolved_by = UserSerializer(allow_null=True)
    resolved_at = serializers.DateTimeField(allow_null=True)


class ResolveSerializer(serializers.Serializer):
    action = serializers.ChoiceField(choices=ACTIONS)
    reason = serializers.CharField(max_length=500, allow_blank=True, required=False)
    expires_in = serializers.IntegerField(
        min_value=1,
        allow_null=True,
        required=False,
        help_text="With `mute` or `ban`: seconds (null or absent: until lifted).",
    )


def _object(data, fields: str) -> Mapping:
    if not isinstance(data, Mapping):
        raise InvalidInput("invalid", f"Send a JSON object with {fields}.")
    return data


class ReportMessageView(APIView):
    @extend_schema(
        request=NewReportSerializer,
        responses={
            201: ReportSerializer,
            200: ReportSerializer,
            **errors(400, 401, 404),
        },
    )
    def post(self, request: Request, message_id: int) -> Response:
        """Report a message I can read: 201, or 200 and my open report of it."""
        data = _object(request.data, "'reason'")
        report, created = report_message(
            user=request.user,
            message_id=checked_message_id(message_id),
            reason=data.get("reason", ""),
        )
        return Response(
            report_payload(report),
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )


class RoomReportsView(APIView):
    @extend_schema(
        responses={200: ReportSerializer(many=True), **errors(401, 403, 404)}
    )
    def get(self, request: Request, slug: str) -> Response:
        """The room's open reports, the oldest first (its moderators)."""
        reports = open_reports(slug=slug, actor=request.user)
        return Response([report_payload(report) for report in reports])


class ResolveReportView(APIView):
    @extend_schema(
        request=ResolveSerializer,
        responses={200: ReportSerializer, **errors(400, 401, 403, 404, 409)},
    )
    def post(self, request: Request, slug: str, report_id: int) -> Response:
        """Resolve an open report: dismiss, delete the message, mute or ban
        its sender. Every open report of that message is resolved with it."""
        data = _object(request.data, "'action'")
        report = resolve_report(
            slug=slug,
            report_id=report_id,
            actor=request.user,
            action=data.get("action"),
            reason=data.get("reason", ""),
            expires_in=data.get("expires_in"),
        )
        return Response(report_payload(report))
