"""A visitor's files (docs/protocol.md, "Support"): upload one to attach to
`message.send`, download one of their conversation. The visitor token is the
`Authorization: Bearer` header (never the URL: query strings reach logs);
the members' upload service and file response do the rest (one code path)."""

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import parsers
from rest_framework.request import Request
from rest_framework.response import Response

from chat.errors import ChatError, Forbidden, NotFound
from chat.services import support
from chat.services.uploads import visible_upload
from chatsite.errors import errors

from .support import VisitorEndpoint, check_origin
from .uploads import UploadRequestSerializer, UploadSerializer, file_response, store_one


def bearer_visitor(request: Request, site):
    """The visitor whose token the Authorization header carries, else Forbidden."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Forbidden("Send the visitor token as 'Authorization: Bearer <token>'.")
    return support.visitor_from_token(site, token.strip())


class VisitorUploadView(VisitorEndpoint):
    """POST /api/support/<key>/uploads/: one file, the member's limits and
    quota (the quota is the visitor's own)."""

    parser_classes = [parsers.MultiPartParser]

    @extend_schema(
        operation_id="support_visitor_upload",
        request={"multipart/form-data": UploadRequestSerializer},
        responses={201: UploadSerializer, **errors(400, 403, 404, 413, 415)},
    )
    def post(self, request: Request, public_key: str) -> Response:
        site = self.site(request, public_key)
        check_origin(request, site)
        visitor = bearer_visitor(request, site)
        return store_one(request, owner=visitor.user)


class VisitorDownloadView(VisitorEndpoint):
    """GET /api/support/<key>/uploads/<id>/<key>/: a file of the visitor's
    conversation (or their own upload not yet sent); anyone else 404."""

    thumbnail = False

    @extend_schema(
        operation_id="support_visitor_download",
        responses={(200, "*/*"): OpenApiTypes.BINARY, **errors(404)},
    )
    def get(
        self, request: Request, public_key: str, upload_id: int, key: str
    ) -> HttpResponse:
        site = self.site(request, public_key)
        try:
            visitor = bearer_visitor(request, site)
        except ChatError:
            raise NotFound("No such file.") from None
        upload = visible_upload(user=visitor.user, upload_id=upload_id, key=key)
        return file_response(upload, thumbnail=self.thumbnail)
