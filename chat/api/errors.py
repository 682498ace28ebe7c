"""Every API error is JSON `{"code": <slug>, "detail": <one readable sentence>}`."""

import logging

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.db import DatabaseError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import Resolver404, resolve
from django.views import defaults
from django.views.decorators.csrf import csrf_exempt
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import exception_handler as drf_exception_handler

from chat.errors import ChatError, Unavailable
from chatsite.errors import error_body

logger = logging.getLogger(__name__)

# What a client sends back to be let in: clients re-login on a 401 that says so.
WWW_AUTHENTICATE = 'Bearer realm="api"'


def error_response(code: str, detail: str, status_code: int) -> JsonResponse:
    """The error shape for views outside DRF (the long poll, unknown URLs)."""
    response = JsonResponse(error_body(code, detail), status=status_code)
    if status_code == status.HTTP_401_UNAUTHORIZED:
        response["WWW-Authenticate"] = WWW_AUTHENTICATE
    return response


def _sentences(detail, field: str | None = None) -> list[str]:
    """DRF's nested error detail, flattened to `field: message` sentences."""
    if isinstance(detail, dict):
        found = []
        for key, value in detail.items():
            name = None if key == api_settings.NON_FIELD_ERRORS_KEY else str(key)
            if field and name:
                name = f"{field}.{name}"
            found += _sentences(value, name or field)
        return found
    if isinstance(detail, list):
        return [sentence for item in detail for sentence in _sentences(item, field)]
    return [f"{field}: {detail}" if field else str(detail)]


def _code(exc: Exception) -> str:
    if isinstance(exc, exceptions.NotAuthenticated | exceptions.AuthenticationFailed):
        return "unauthenticated"
    if isinstance(exc, exceptions.ValidationError):
        return "invalid"
    if isinstance(exc, exceptions.PermissionDenied):
        return "forbidden"
    if isinstance(exc, exceptions.NotFound):
        return "not_found"
    if isinstance(exc, exceptions.Throttled):
        return "rate_limited"
    return getattr(exc, "default_code", "error")


def exception_handler(exc, context):
    """DRF's handler, reshaped: a code and one readable reason, always."""
    if isinstance(exc, DatabaseError):
        logger.warning("API request failed on the database", exc_info=True)
        exc = Unavailable()
    if isinstance(exc, ChatError):
        body = {**error_body(exc.code, exc.detail), **exc.extra}
        return Response(body, status=int(exc.status))
    if isinstance(exc, RequestDataTooBig):
        # Read by DRF inside the view: the same 413 with DEBUG on or off.
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        detail = f"A request body is at most {limit} bytes."
        return Response(error_body("too_long", detail), status=413)
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    detail = response.data
    if not isinstance(exc, exceptions.ValidationError) and isinstance(detail, dict):
        detail = detail.get("detail", detail)
    response.data = error_body(_code(exc), " ".join(_sentences(detail)))
    if response.status_code == status.HTTP_401_UNAUTHORIZED:
        response["WWW-Authenticate"] = WWW_AUTHENTICATE
    return response


@csrf_exempt  # it changes nothing: a PUT to an unknown URL is a 404, not CSRF's page
def not_found(request: HttpRequest, path: str = "") -> JsonResponse:
    """Unknown URLs under /api/ answer in JSON too (and name a missing slash)."""
    detail = "No such API endpoint."
    if not request.path.endswith("/"):
        try:
            match = resolve(request.path + "/")
        except Resolver404:
            match = None
        if match is not None and match.func is not not_found:
            detail = f"No such API endpoint; did you mean {request.path}/ ?"
    return error_response("not_found", detail, 404)


def _is_api(request: HttpRequest) -> bool:
    return request.path.startswith("/api/")


def body_too_large(request: HttpRequest) -> HttpResponse:
    """A body over DATA_UPLOAD_MAX_MEMORY_SIZE: 413, JSON under /api/."""
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    detail = f"A request body is at most {limit} bytes."
    if _is_api(request):
        return error_response("too_long", detail, 413)
    return HttpResponse(detail, status=413, content_type="text/plain")


def bad_request(request: HttpRequest, exception=None):
    """Django's 400 (a disallowed Host, say): JSON under /api/, its page elsewhere."""
    if isinstance(exception, RequestDataTooBig):
        # A body without Content-Length, found too big as it was read.
        return body_too_large(request)
    if _is_api(request):
        return error_response("bad_request", "The request was refused.", 400)
    return defaults.bad_request(request, exception)


def server_error(request: HttpRequest):
    """An unhandled fault: JSON under /api/, the plain page elsewhere."""
    if _is_api(request):
        return error_response("internal", "The server failed on this request.", 500)
    return defaults.server_error(request)
