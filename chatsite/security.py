"""The Content-Security-Policy header of every HTTP response.

Pages load scripts and styles from this site only: no inline script (nor
`eval`), no inline style, no plugin, no framing by other sites (but the support
widget's frame, by its site's allowed origins), forms post here only. The
WebSocket may connect back to this host. The admin works under it (Django
5.2's admin has no inline scripts).
"""

from django.core.exceptions import DisallowedHost
from django.http import HttpRequest, HttpResponse
from django.utils.deprecation import MiddlewareMixin

POLICY = (
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
)


def policy_for(request: HttpRequest, *, frame_ancestors: tuple[str, ...] = ()) -> str:
    """The policy, with this host's WebSocket URLs (older browsers need them).

    `frame_ancestors`: the origins that may frame the page (the support
    widget's frame, for its site's allowed origins); by default none may.
    """
    scheme = "wss" if request.is_secure() else "ws"
    try:
        host = request.get_host()
    except DisallowedHost:  # Django answers 400 anyway
        host = None
    connect = "connect-src 'self'" + (f" {scheme}://{host}" if host else "")
    ancestors = "frame-ancestors " + (" ".join(frame_ancestors) or "'none'")
    return "; ".join((*POLICY, ancestors, connect))


class ContentSecurityPolicyMiddleware(MiddlewareMixin):
    """Sync and async alike (MiddlewareMixin): the long poll stays async."""

    def process_response(
        self, request: HttpRequest, response: HttpResponse
    ) -> HttpResponse:
        response.setdefault("Content-Security-Policy", policy_for(request))
        return response
