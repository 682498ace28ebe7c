"""POST-only page URLs: any other method goes to the page the form is on.

A form whose POST fails answers 400 with the page and the errors at the form's
URL (`/rooms/new/`). A reload, a bookmark or "open in new tab" then sends a
GET there: instead of the browser's blank 405 page, the user is sent back to
the page the form lives on. POST (and OPTIONS) reach the view as before.
"""

from collections.abc import Callable
from functools import wraps

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect

ALLOWED = frozenset({"POST", "OPTIONS"})


def post_only(to: str | Callable[..., str]) -> Callable:
    """Decorate a view: POST reaches it, other methods redirect (302) to `to`.

    `to` is a URL name or path, or a function of the view's keyword arguments
    (`lambda slug: reverse("room", args=[slug])`).
    """

    def decorate(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @wraps(view)
        def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            if request.method in ALLOWED:
                return view(request, *args, **kwargs)
            target = to(**kwargs) if callable(to) else to
            return redirect(target, permanent=False)

        return wrapper

    return decorate
