"""Every API error is JSON with a code and a reason."""

from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from chat.errors import ChatError


def error_body(code: str, detail) -> dict:
    return {"code": code, "detail": detail}


def exception_handler(exc, context):
    if isinstance(exc, ChatError):
        return Response(error_body(exc.code, exc.detail), status=int(exc.status))
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.NotAuthenticated | exceptions.AuthenticationFailed):
        code = "unauthenticated"
    elif isinstance(exc, exceptions.ValidationError):
        code = "invalid"
    else:
        code = getattr(exc, "default_code", "error")
    detail = response.data
    if isinstance(detail, dict) and set(detail) == {"detail"}:
        detail = detail["detail"]
    response.data = error_body(code, detail)
    if response.status_code == status.HTTP_401_UNAUTHORIZED:
        response["WWW-Authenticate"] = 'Bearer realm="api"'
    return response
