"""The per-address limit on password forms: sign-up and log-in pages.

POSTs draw from the bucket of the client's address that `POST /api/auth/token/`
draws from (chat.ratelimit.auth_limit): guessing passwords or making accounts
in bulk is slowed the same way on every path. Past it: 429 with Retry-After.
"""

from functools import wraps

from django.http import HttpResponse

from chatsite import ratelimit
from chatsite.throttles import client_address


def limit_posts_per_address(view):
    """Wrap a page view: its POSTs count against the address's auth bucket."""

    @wraps(view)
    def limited(request, *args, **kwargs):
        if request.method == "POST":
            wait = ratelimit.hit(ratelimit.auth_limit(), client_address(request))
            if wait:
                response = HttpResponse(
                    "Too many attempts from your address: try again later.",
                    status=429,
                    content_type="text/plain; charset=utf-8",
                )
                response["Retry-After"] = ratelimit.retry_after_header(wait)
                return response
        return view(request, *args, **kwargs)

    return limited
