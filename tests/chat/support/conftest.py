"""A support site with two agents, visitors, and who is online (presence)."""

import datetime as dt
import time

import pytest
from django.conf import settings

from chat.services import business_hours, presence, support

SHOP = "https://shop.example"


class Online:
    """Who has a page open, as the real `presence.has_open_page` reads it: an
    open connection's record in Redis (with REDIS_URL), else the serving
    process's own connections (the hook its presence keeper installs)."""

    def __init__(self) -> None:
        self.ids: set[int] = set()
        self.keys: set[str] = set()

    def open_here(self, user_id: int) -> bool:
        return user_id in self.ids

    def set(self, *users) -> None:
        self.clear()
        self.ids = {user.pk for user in users}
        if settings.REDIS_URL:
            record = presence.Record(presence.ONLINE, time.time() + 3600, True)
            for user_id in self.ids:
                key = presence.records_key(user_id)
                self.keys.add(key)
                presence._redis().hset(key, "conn.test", record.dump())

    def clear(self) -> None:
        self.ids = set()
        if self.keys:
            presence._redis().delete(*self.keys)
            self.keys = set()


@pytest.fixture
def online():
    found = Online()
    presence.use_open_here(found.open_here)
    yield found
    presence.use_open_here(None)
    found.clear()


class Clock:
    def __init__(self) -> None:
        self.now = dt.datetime(2026, 12, 1, 10, 0, tzinfo=dt.UTC)  # a Tuesday

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += dt.timedelta(seconds=seconds)


@pytest.fixture
def clock():
    found = Clock()
    business_hours.set_clock(found)
    yield found
    business_hours.set_clock(None)


@pytest.fixture
def li(make_user):
    return make_user("li", first_name="Li")


@pytest.fixture
def wu(make_user):
    return make_user("wu", first_name="Wu")


@pytest.fixture
def site(li, wu):
    return support.create_site(name="Shop", origins=[SHOP], agents=[li, wu])


@pytest.fixture
def make_visitor(site):
    def make(name: str = "Ann", **fields):
        return support.register_visitor(
            site=site, fields={"name": name, "email": "", **fields}
        )

    return make
