"""Where a client's credentials are read: one parser for every entry point.

A token comes as `Authorization: Bearer T` (the API, the long poll and the
WebSocket) or, on a WebSocket only, as `?token=T` or the article's
`?id=U&token=T`; `?ticket=T` (accounts.tickets) only on a WebSocket.
"""

from urllib.parse import parse_qs


class MalformedCredentials(ValueError):
    """A Bearer header that is not `Bearer <token>`."""


def bearer_token(authorization: str | None) -> str | None:
    """The token of an `Authorization` header; None when its scheme is not Bearer.

    Raises MalformedCredentials when it is Bearer but not one token after it.
    """
    parts = (authorization or "").split()
    if not parts or parts[0].lower() != "bearer":
        return None
    if len(parts) != 2:
        raise MalformedCredentials("Malformed Authorization header.")
    return parts[1]


def header(scope: dict, name: bytes) -> str | None:
    """A handshake header's value, decoded as HTTP sends it."""
    for key, value in scope.get("headers", []):
        if key == name:
            return value.decode("latin-1")
    return None


def _query(scope: dict) -> dict[str, list[str]]:
    # Blank values kept: `?id=&token=T` claims a user (none) that T is not.
    return parse_qs(
        scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True
    )


def websocket_credentials(scope: dict) -> tuple[str | None, str | None]:
    """The token and claimed user id a WebSocket handshake presents, if any.

    The query's token wins over the header's; a malformed Bearer header counts
    as a wrong token (the consumer closes with 4401), not as no token.
    """
    query = _query(scope)
    token = (query.get("token") or [None])[0] or None
    claimed_id = (query.get("id") or [None])[0]
    if token is None:
        try:
            token = bearer_token(header(scope, b"authorization"))
        except MalformedCredentials:
            token = ""
    return token, claimed_id


def websocket_ticket(scope: dict) -> str | None:
    """The one-use ticket a WebSocket handshake presents, if any."""
    return (_query(scope).get("ticket") or [None])[0] or None
