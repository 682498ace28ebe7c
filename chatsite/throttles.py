"""DRF throttles on the buckets of chatsite.ratelimit: 429 with Retry-After."""

import math

from rest_framework.throttling import BaseThrottle

from chatsite import ratelimit


def client_address(request) -> str:
    """The client's address as daphne saw it (from X-Forwarded-For only when
    daphne runs with --proxy-headers, i.e. behind a proxy we trust)."""
    return request.META.get("REMOTE_ADDR") or "unknown"


class BucketThrottle(BaseThrottle):
    """A throttle on one of chatsite.ratelimit's buckets; subject None: not limited."""

    wait_seconds = 0.0

    def subject(self, request) -> str | None:
        raise NotImplementedError

    def limit(self) -> ratelimit.Limit:
        raise NotImplementedError

    def allow_request(self, request, view) -> bool:
        subject = self.subject(request)
        if subject is None:
            return True
        self.wait_seconds = ratelimit.hit(self.limit(), subject)
        return not self.wait_seconds

    def wait(self) -> int:
        return max(1, math.ceil(self.wait_seconds))


class UserRateThrottle(BucketThrottle):
    """The user's bucket, the same one their WebSocket frames draw from."""

    def subject(self, request) -> str | None:
        user = request.user
        return str(user.pk) if user is not None and user.is_authenticated else None

    def limit(self) -> ratelimit.Limit:
        return ratelimit.user_limit()


class AddressRateThrottle(BucketThrottle):
    """Token requests (password attempts) and sign-ups, per client address."""

    def subject(self, request) -> str | None:
        return client_address(request)

    def limit(self) -> ratelimit.Limit:
        return ratelimit.auth_limit()
