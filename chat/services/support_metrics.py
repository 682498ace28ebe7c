"""Support metrics a team can trust: first response and resolution times
counted from each (re)opening (SupportOpening), human replies only (an
agent's message: nothing automatic is ever stored as one), in calendar and
in business hours; conversations and ratings per agent and per site, by day
in the site's time zone."""

import csv
import datetime as dt
import io
from collections import defaultdict
from zoneinfo import ZoneInfo

from chat.errors import InvalidInput
from chat.models import SupportConversation, SupportOpening

from . import business_hours
from .support_access import sites_of

COLUMNS = [
    "day",
    "site",
    "agent",
    "conversations",
    "first_response_seconds",
    "first_response_business_seconds",
    "resolution_seconds",
    "resolution_business_seconds",
    "ratings",
    "rating_average",
]


def _day(value: object, name: str) -> dt.date | None:
    if value in (None, ""):
        return None
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise InvalidInput("invalid", f"'{name}' is a date, YYYY-MM-DD.") from None


def _mean(values: list[float]) -> float | None:
    return round(sum(values) / len(values), 1) if values else None


def metrics(user, *, site_key=None, since=None, until=None) -> list[dict]:
    """One row per day, site and agent (agent "" for conversations no one
    answered), for the sites `user` works on."""
    first, last = _day(since, "since"), _day(until, "until")
    sites = sites_of(user)
    if site_key:
        sites = sites.filter(public_key=site_key)
    groups: dict[tuple, dict] = defaultdict(
        lambda: {"n": 0, "fr": [], "frb": [], "res": [], "resb": [], "ratings": []}
    )
    openings = SupportOpening.objects.filter(
        support__site__in=sites, support__offline=False
    ).select_related("support__site", "agent")
    for opening in openings:
        site = opening.support.site
        day = opening.opened_at.astimezone(ZoneInfo(site.time_zone or "UTC")).date()
        if (first and day < first) or (last and day > last):
            continue
        agent = opening.agent.username if opening.agent else ""
        row = groups[(day, site.public_key, agent)]
        row["n"] += 1
        if opening.first_response_at:
            row["fr"].append(
                (opening.first_response_at - opening.opened_at).total_seconds()
            )
            row["frb"].append(
                business_hours.open_seconds(
                    site, opening.opened_at, opening.first_response_at
                )
            )
        if opening.closed_at:
            row["res"].append((opening.closed_at - opening.opened_at).total_seconds())
            row["resb"].append(
                business_hours.open_seconds(site, opening.opened_at, opening.closed_at)
            )
    rated = SupportConversation.objects.filter(
        site__in=sites, rating__isnull=False, closed_at__isnull=False
    ).select_related("site", "agent")
    for support in rated:
        zone = ZoneInfo(support.site.time_zone or "UTC")
        if support.closed_at is None:
            continue
        day = support.closed_at.astimezone(zone).date()
        if (first and day < first) or (last and day > last):
            continue
        agent = support.agent.username if support.agent else ""
        groups[(day, support.site.public_key, agent)]["ratings"].append(support.rating)
    rows = []
    for (day, site_key_, agent), row in sorted(groups.items()):
        rows.append(
            {
                "day": day.isoformat(),
                "site": site_key_,
                "agent": agent,
                "conversations": row["n"],
                "first_response_seconds": _mean(row["fr"]),
                "first_response_business_seconds": _mean(row["frb"]),
                "resolution_seconds": _mean(row["res"]),
                "resolution_business_seconds": _mean(row["resb"]),
                "ratings": len(row["ratings"]),
                "rating_average": _mean(row["ratings"]),
            }
        )
    return rows


def metrics_csv(rows: list[dict]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS)
    writer.writeheader()
    for row in rows:
        writer.writerow({key: "" if row[key] is None else row[key] for key in COLUMNS})
    return out.getvalue()
