"""The server's settings plus a strict Content-Security-Policy on every response.

The browser tests run daphne with these, so that the pages are proven to work
with no inline script or style (the security work sets such a policy).
"""

from django.utils.deprecation import MiddlewareMixin

from chatsite.settings import *  # noqa: F403
from chatsite.settings import MIDDLEWARE

STRICT_CSP = "default-src 'self'; frame-ancestors 'none'"


class StrictCSPMiddleware(MiddlewareMixin):
    def process_response(self, request, response):
        response.setdefault("Content-Security-Policy", STRICT_CSP)
        return response


MIDDLEWARE = [*MIDDLEWARE, "tests.browser.csp_settings.StrictCSPMiddleware"]
