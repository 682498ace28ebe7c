"""The error body every JSON answer uses, and its OpenAPI description.

Shared by accounts and chat: `{"code": <slug>, "detail": <one readable sentence>}`.
"""

from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers


def error_body(code: str, detail: str) -> dict[str, str]:
    return {"code": code, "detail": detail}


class ErrorSerializer(serializers.Serializer):
    code = serializers.CharField(
        help_text="A stable slug: invalid, empty, too_long, unauthenticated, "
        "forbidden, not_found, exists, edit_window, changes_expired, ..."
    )
    detail = serializers.CharField(help_text="A readable reason.")


ERROR_DESCRIPTIONS = {
    400: "Malformed input.",
    401: "Missing, wrong, expired or revoked token "
    "(with `WWW-Authenticate: Bearer`): log in again.",
    403: "Not allowed to you (not a member, not the owner; `edit_window`: "
    "too late to edit).",
    404: "No such room, user or message.",
    405: "Method not allowed.",
    409: "Exists already (`exists`), or the change would leave the room "
    "without an owner (`last_owner`): name a new owner first.",
    410: "The changes after this `change_id` are no longer kept "
    "(`changes_expired`): reload the history.",
    413: "The request body is too large (`too_long`), or a file would pass "
    "your storage quota (`quota`).",
    415: "A file of a type not allowed (`unsupported_type`).",
    429: "Too many requests (`rate_limited`): wait `Retry-After` seconds.",
}


def errors(*statuses: int) -> dict:
    """OpenAPI responses for the given error statuses, all `ErrorSerializer`.

    Every authenticated endpoint draws on the user's rate limit: with 401 comes
    429.
    """
    if 401 in statuses and 429 not in statuses:
        statuses = (*statuses, 429)
    return {
        code: OpenApiResponse(ErrorSerializer, description=ERROR_DESCRIPTIONS[code])
        for code in statuses
    }
