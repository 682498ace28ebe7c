"""The support pages: the widget's loader and frame, and the agents' /support/.

The loader (/widget.js) is a static script served at the root of our origin,
as the snippet names it. The frame (/support/widget/<public key>/) is the only
page another origin may frame, and only the site's allowed origins
(`frame-ancestors`); it sets no cookie (no session, no CSRF token: the
visitor's requests carry the visitor token instead).
"""

from functools import wraps

from django.contrib.auth.decorators import login_required
from django.contrib.staticfiles import finders
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.cache import cache_control
from django.views.decorators.clickjacking import xframe_options_exempt
from django.views.decorators.http import require_GET

from chatsite.security import policy_for

from . import support_sites as sites
from .views import page_data

WIDGET_SCRIPT = "support/widget.js"


@require_GET
@cache_control(public=True, max_age=300)
def widget_script(request: HttpRequest) -> HttpResponse:
    """/widget.js: the loader a customer pastes on their pages."""
    path = finders.find(WIDGET_SCRIPT)
    if not path:
        raise Http404
    with open(path, "rb") as script:
        response = HttpResponse(script.read(), content_type="text/javascript")
    # Loaded by other origins' pages: our policy is not theirs.
    response["Cross-Origin-Resource-Policy"] = "cross-origin"
    return response


@require_GET
@xframe_options_exempt
def widget_frame(request: HttpRequest, key: str) -> HttpResponse:
    """The widget's frame, which only the site's allowed origins may frame."""
    site = sites.site_by_key(key)
    if site is None:
        raise Http404
    user_id = request.GET.get("user_id", "")[:200]
    host = request.GET.get("host", "").rstrip("/").lower()
    widget_data = {
        "key": site.public_key,
        "page": request.GET.get("page", "")[:1000],
        "user_id": user_id,
        "user_hash": request.GET.get("user_hash", "")[:200] if user_id else "",
        # The loader's page (checked: one of the site's origins), where the
        # frame may post the token when the browser denies it storage.
        "host": host if host in sites.allowed_origins(site) else "",
        "online": sites.is_open(site),
        **sites.visitor_urls(site.public_key),
    }
    response = render(
        request,
        "support/widget.html",
        {
            "site_name": site.name,
            "greeting": sites.greeting(site),
            "offline_message": sites.offline_message(site),
            "prechat": sites.prechat(site),
            "ratings": range(1, 6),
            "widget_data": widget_data,
        },
    )
    response["Content-Security-Policy"] = policy_for(
        request, frame_ancestors=sites.allowed_origins(site)
    )
    response["Cache-Control"] = "no-store"
    return response


def agent_only(view):
    """Staff and the agents of a site's team; anyone else gets the 403 page."""

    @login_required
    @wraps(view)
    def wrapped(request: HttpRequest, *args, **kwargs):
        if not (request.user.is_staff or sites.is_agent(request.user)):
            raise PermissionDenied
        return view(request, *args, **kwargs)

    return wrapped


@agent_only
def agent_page(request: HttpRequest) -> HttpResponse:
    """/support/: the queue, my conversations, the team's, one conversation."""
    return render(
        request,
        "support/agent.html",
        {
            "page_data": page_data(
                request,
                page="support",
                conversations=sites.conversations_for(request.user),
                agents=sites.colleagues_of(request.user),
                teams=sites.team_names(),
                canned=sites.canned_replies_for(request.user),
            )
        },
    )


@agent_only
def metrics_page(request: HttpRequest) -> HttpResponse:
    """/support/metrics/: first response, resolution, counts and ratings, by day."""
    if not request.user.is_staff:
        raise PermissionDenied
    return render(
        request,
        "support/metrics.html",
        {"metrics": sites.metrics_for(request.user, request.GET)},
    )
