"""Whether a support site is open at a moment: weekly ranges in its time zone,
overnight and split shifts allowed, holidays closed all day; and how much of a
span of time was within its hours (the metrics' business-hours figures)."""

import datetime as dt
from collections.abc import Callable
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.utils import timezone

from chat.errors import InvalidInput

# What "now" is for support (business hours, offer deadlines, metrics); tests
# set it with set_clock and put it back with set_clock(None).
_now: Callable[[], dt.datetime] = timezone.now


def now() -> dt.datetime:
    return _now()


def set_clock(clock: Callable[[], dt.datetime] | None) -> None:
    """Make `clock` support's time (None: the real one again)."""
    global _now
    _now = clock or timezone.now


def _minutes(value: object) -> int:
    if not isinstance(value, str) or len(value) != 5 or value[2] != ":":
        raise InvalidInput("invalid", "A time is HH:MM (00:00 to 24:00).")
    try:
        hours, minutes = int(value[:2]), int(value[3:])
    except ValueError:
        raise InvalidInput("invalid", "A time is HH:MM (00:00 to 24:00).") from None
    if not (0 <= hours <= 24 and 0 <= minutes < 60) or hours * 60 + minutes > 1440:
        raise InvalidInput("invalid", "A time is HH:MM (00:00 to 24:00).")
    return hours * 60 + minutes


def clean_hours(ranges: object) -> list[dict]:
    """The weekly ranges checked: [{"day": 0-6, "start": "HH:MM", "end": "HH:MM"}]."""
    if not isinstance(ranges, list):
        raise InvalidInput("invalid", "Business hours are a list of ranges.")
    cleaned = []
    for item in ranges:
        if not isinstance(item, dict) or item.get("day") not in range(7):
            raise InvalidInput("invalid", "A range has a day 0-6 (Monday is 0).")
        _minutes(item.get("start"))
        _minutes(item.get("end"))
        cleaned.append({"day": item["day"], "start": item["start"], "end": item["end"]})
    return cleaned


def clean_zone(name: object) -> str:
    try:
        ZoneInfo(str(name))
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidInput("invalid", f"No time zone named '{name}'.") from None
    return str(name)


def _intervals(site, day: dt.date) -> list[tuple[dt.datetime, dt.datetime]]:
    """The open intervals that start on `day` (local), as aware datetimes."""
    zone = ZoneInfo(site.time_zone or "UTC")
    if day.isoformat() in set(site.holidays or ()):
        return []
    found = []
    for item in site.business_hours or ():
        if item.get("day") != day.weekday():
            continue
        start, end = _minutes(item["start"]), _minutes(item["end"])
        midnight = dt.datetime.combine(day, dt.time(0), tzinfo=zone)
        begins = midnight + dt.timedelta(minutes=start)
        if end <= start:
            end += 1440  # overnight: into the next day
        found.append((begins, midnight + dt.timedelta(minutes=end)))
    return found


def is_open(site, when: dt.datetime | None = None) -> bool:
    """Whether `site` takes chats at `when` (default: now). No hours: always."""
    if not site.business_hours:
        return True
    when = when or now()
    local = when.astimezone(ZoneInfo(site.time_zone or "UTC")).date()
    for day in (local - dt.timedelta(days=1), local):
        for begins, ends in _intervals(site, day):
            if begins <= when < ends:
                return True
    return False


def open_seconds(site, start: dt.datetime, end: dt.datetime) -> float:
    """The seconds of [start, end) within the site's business hours."""
    if end <= start:
        return 0.0
    if not site.business_hours:
        return (end - start).total_seconds()
    zone = ZoneInfo(site.time_zone or "UTC")
    day = start.astimezone(zone).date() - dt.timedelta(days=1)
    last = end.astimezone(zone).date()
    total = 0.0
    while day <= last:
        for begins, ends in _intervals(site, day):
            overlap = min(ends, end) - max(begins, start)
            total += max(0.0, overlap.total_seconds())
        day += dt.timedelta(days=1)
    return total
