"""Files: POST /api/uploads/ stores one, GET its url answers who may see it.

Downloads answer 404 to everyone else (never 403: a stranger learns nothing).
"""

import os

from django.conf import settings
from django.http import FileResponse, HttpResponse
from drf_spectacular.utils import OpenApiTypes, extend_schema
from rest_framework import parsers, permissions, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from chat import events, upload_handlers
from chat.errors import InvalidInput, NotFound
from chat.services.uploads import file_too_large, store_upload, visible_upload
from chatsite.errors import errors

THUMBNAIL_TYPES = {".png": "image/png", ".jpg": "image/jpeg"}


class UploadSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    size = serializers.IntegerField()
    content_type = serializers.CharField()
    url = serializers.CharField()
    thumbnail_url = serializers.CharField(allow_null=True)
    width = serializers.IntegerField(allow_null=True)
    height = serializers.IntegerField(allow_null=True)


class UploadRequestSerializer(serializers.Serializer):
    file = serializers.FileField()


class UploadView(APIView):
    # The only endpoint that reads multipart (upload_handlers bounds it).
    parser_classes = [parsers.MultiPartParser]

    @extend_schema(
        request={"multipart/form-data": UploadRequestSerializer},
        responses={201: UploadSerializer, **errors(400, 401, 413, 415)},
    )
    def post(self, request: Request) -> Response:
        """Upload one file (the form field `file`), to attach to a message."""
        return store_one(request, owner=request.user)


def store_one(request: Request, *, owner) -> Response:
    """The one file of a multipart request, stored as `owner`'s (a member's or
    a visitor's user): 201 with its payload."""
    files = request.FILES.getlist("file")
    if upload_handlers.too_large(request._request):
        raise file_too_large()
    if len(files) != 1:
        raise InvalidInput("invalid", "Send one file as the form field 'file'.")
    upload = store_upload(owner=owner, file=files[0])
    return Response(events.upload_payload(upload), status=status.HTTP_201_CREATED)


class DownloadView(APIView):
    # Anyone is answered, and everyone but those who may see the file gets 404.
    permission_classes = [permissions.AllowAny]
    thumbnail = False

    @extend_schema(responses={(200, "*/*"): OpenApiTypes.BINARY, **errors(401, 404)})
    def get(self, request: Request, upload_id: int, key: str) -> HttpResponse:
        """The file, to a user who can see a message carrying it (or its uploader
        before it is attached)."""
        if not request.user or not request.user.is_authenticated:
            raise NotFound("No such file.")
        upload = visible_upload(user=request.user, upload_id=upload_id, key=key)
        return file_response(upload, thumbnail=self.thumbnail)


def file_response(upload, *, thumbnail: bool = False) -> HttpResponse:
    """The stored file (or its thumbnail) of an upload the caller may see."""
    field = upload.thumbnail if thumbnail else upload.file
    if not field.name:
        raise InvalidInput("invalid", "This file has no thumbnail.")
    if thumbnail:
        content_type = THUMBNAIL_TYPES.get(os.path.splitext(field.name)[1], "image/png")
    else:
        content_type = upload.content_type
    inline = content_type.startswith("image/")
    prefix = settings.CHAT_UPLOAD_ACCEL_REDIRECT
    if prefix:
        response = HttpResponse(content_type=content_type)
        response["X-Accel-Redirect"] = prefix.rstrip("/") + "/" + field.name
        disposition = FileResponse(b"", as_attachment=not inline, filename=upload.name)[
            "Content-Disposition"
        ]
        response["Content-Disposition"] = disposition
    else:
        response = FileResponse(
            field.open("rb"),
            as_attachment=not inline,
            filename=upload.name,
            content_type=content_type,
        )
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, max-age=3600"
    # Opened on its own, a file runs nothing (an HTML disguised as text).
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response
