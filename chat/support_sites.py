"""What the support pages read of sites and their conversations.

Reads only: every write is chat.services.support's (supcore's), which the
pages reach through the HTTP API.
"""

from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from .errors import NotFound
from .models import CannedReply, SupportSite, SupportTeam
from .services import business_hours, support, support_access, support_metrics
from .services import support_conversations as conversations


def site_by_key(key: str) -> SupportSite | None:
    """The support site with this public key, or None."""
    try:
        return support.site_by_key(key)
    except NotFound:
        return None


def allowed_origins(site: SupportSite) -> tuple[str, ...]:
    return tuple(site.origins)


def is_open(site: SupportSite) -> bool:
    """Within business hours: chat; else the leave-a-message form."""
    return business_hours.is_open(site)


def greeting(site: SupportSite) -> str:
    return site.greeting


def offline_message(site: SupportSite) -> str:
    return site.offline_message or _(
        "We are away right now. Leave a message and we will answer by email."
    )


def prechat(site: SupportSite) -> dict:
    return {"name": site.prechat_name, "email": site.prechat_email}


def visitor_urls(key: str) -> dict:
    """The HTTP endpoints the frame calls (docs/protocol.md, "Support")."""
    base = f"/api/support/{key}"
    return {
        "visitors_url": f"{base}/visitors/",
        "leave_url": f"{base}/offline/",
        "conversation_url": f"{base}/conversation/",
        "rating_url": f"{base}/rating/",
        "transcript_url": f"{base}/transcript/",
        "uploads_url": f"{base}/uploads/",
    }


def is_agent(user) -> bool:
    """An agent of a site, or of a team (conversations transferred to it)."""
    return user.is_authenticated and (
        user.support_sites.exists() or user.support_teams.exists()
    )


def conversations_for(user) -> list[dict]:
    """The open conversations of the user's sites (queue, mine, the team's)."""
    return conversations.conversations_for_agent(user)


def colleagues_of(user) -> list[dict]:
    """The agents of the user's sites and teams, for a transfer."""
    agents = {}
    groups = [
        *support_access.sites_of(user).prefetch_related("agents"),
        *SupportTeam.objects.filter(agents=user).prefetch_related("agents"),
    ]
    for group in groups:
        for agent in group.agents.all():
            agents[agent.pk] = {
                "id": agent.pk,
                "username": agent.username,
                "display_name": agent.get_full_name() or agent.username,
            }
    return sorted(agents.values(), key=lambda agent: agent["username"])


def team_names() -> list[str]:
    """The teams a conversation can be transferred to (every team)."""
    return list(SupportTeam.objects.values_list("name", flat=True)[:500])


def canned_replies_for(user) -> list[dict]:
    """The canned replies of the user's sites: `/shortcut`, its text, its site."""
    replies = CannedReply.objects.filter(
        site__in=support_access.sites_of(user)
    ).select_related("site")
    return [
        {"shortcut": reply.shortcut, "text": reply.text, "site": reply.site.public_key}
        for reply in replies[:500]
    ]


METRIC_COLUMNS = (
    ("day", gettext_lazy("Day")),
    ("site", gettext_lazy("Site")),
    ("agent", gettext_lazy("Agent")),
    ("conversations", gettext_lazy("Conversations")),
    ("first_response_seconds", gettext_lazy("First response (s)")),
    (
        "first_response_business_seconds",
        gettext_lazy("First response, business hours (s)"),
    ),
    ("resolution_seconds", gettext_lazy("Resolution (s)")),
    ("resolution_business_seconds", gettext_lazy("Resolution, business hours (s)")),
    ("ratings", gettext_lazy("Ratings")),
    ("rating_average", gettext_lazy("Average rating")),
)


def metrics_for(user, query) -> dict:
    """The metrics page's table (rows per day, site and agent) and CSV link."""
    wanted = {name: query.get(name) or None for name in ("site", "since", "until")}
    rows = support_metrics.metrics(
        user, site_key=wanted["site"], since=wanted["since"], until=wanted["until"]
    )
    given = urlencode({name: value for name, value in wanted.items() if value})
    return {
        "csv_url": "/api/support/metrics.csv" + (f"?{given}" if given else ""),
        "columns": [title for _name, title in METRIC_COLUMNS],
        "rows": [
            ["" if row.get(name) is None else row[name] for name, _t in METRIC_COLUMNS]
            for row in rows
        ],
    }
