"""The limits on password forms: the sign-up and log-in pages.

Each POST draws from the client address's bucket (the one `POST
/api/auth/token/` draws from: generous, a whole office may share an address)
and, when it names an account, from that account's bucket (password guessing
from many addresses). Past either, the page comes back as it was, with a
translated message saying how long to wait: 429 with Retry-After.
"""

import hashlib
import math

from django.http import HttpRequest, HttpResponse
from django.utils.translation import ngettext

from chatsite import ratelimit
from chatsite.throttles import BucketThrottle, client_address

# A username longer than any account's names none.
USERNAME_MAX = 150


def account_subject(username: object) -> str | None:
    """The account bucket's key for a submitted username (case-blind, bounded)."""
    if not isinstance(username, str) or not username.strip():
        return None
    name = username.strip().casefold()[:USERNAME_MAX]
    return hashlib.sha256(name.encode()).hexdigest()


def attempt_wait(request: HttpRequest, username: object) -> float:
    """Take one attempt from the address's and the account's buckets: the
    seconds to wait, or 0."""
    wait = ratelimit.hit(ratelimit.auth_limit(), client_address(request))
    subject = account_subject(username)
    if subject is not None:
        wait = max(wait, ratelimit.hit(ratelimit.account_limit(), subject))
    return wait


def wait_message(wait: float) -> str:
    """ "Too many attempts", with the wait in seconds or minutes, translated."""
    seconds = max(1, math.ceil(wait))
    if seconds < 60:
        return ngettext(
            "Too many attempts. Try again in %(count)d second.",
            "Too many attempts. Try again in %(count)d seconds.",
            seconds,
        ) % {"count": seconds}
    minutes = math.ceil(seconds / 60)
    return ngettext(
        "Too many attempts. Try again in %(count)d minute.",
        "Too many attempts. Try again in %(count)d minutes.",
        minutes,
    ) % {"count": minutes}


class AttemptLimitMixin:
    """For a FormView of a password form: POSTs past a limit get the page again.

    The form is not checked at all then (no password is tried); the username
    typed stays in it.
    """

    def post(self, request, *args, **kwargs) -> HttpResponse:
        wait = attempt_wait(request, request.POST.get("username"))
        if wait:
            return self.limited(wait)
        return super().post(request, *args, **kwargs)

    def limited(self, wait: float) -> HttpResponse:
        kwargs = self.get_form_kwargs()
        kwargs.pop("data", None)
        kwargs.pop("files", None)
        username = self.request.POST.get("username", "")
        kwargs["initial"] = {"username": username[:USERNAME_MAX]}
        form = self.get_form_class()(**kwargs)
        context = self.get_context_data(form=form, limited=wait_message(wait))
        response = self.render_to_response(context, status=429)
        response["Retry-After"] = ratelimit.retry_after_header(wait)
        return response


class AccountRateThrottle(BucketThrottle):
    """Token requests (password attempts) naming one account, from anywhere."""

    def subject(self, request) -> str | None:
        data = request.data
        return account_subject(data.get("username") if hasattr(data, "get") else None)

    def limit(self) -> ratelimit.Limit:
        return ratelimit.account_limit()
