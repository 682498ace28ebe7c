"""The Content-Security-Policy header of every HTTP response.

Pages load scripts and styles from this site only: no inline script (nor
`eval`), no inline style, no plugin, no framing by other sites, forms post
here only. The WebSocket may connect back to this host. The admin works under
it (Django 5.2's admin has no inline scripts).
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
    "frame-ancestors 'none'",
)


def policy_for(request: HttpRequest) -> str:
    """The policy, with this host's WebSocket URLs (older browsers need them)."""
    scheme = "wss" if request.is_secure() else "ws"
    try:
        host = request.get_host()
    except DisallowedHost:  # Django answers 400 anyway
        host = None
    connect = "connect-src 'self'" + (f" {scheme}://{host}" if host else "")
    return "; ".join((*POLICY, connect))


class ContentSecurityPolicyMiddleware(MiddlewareMixin):
    """Sync and async alike (MiddlewareMixin): the long poll stays async."""

    def process_response(
        self, request: HttpRequest, response: HttpResponse
    ) -> HttpResponse:
        response.setdefault("Content-Security-Policy", policy_for(request))
        return response
