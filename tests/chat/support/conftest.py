"""A support site with two agents, visitors, and who is online (presence)."""

import datetime as dt

import pytest

from chat.services import business_hours, presence, support

SHOP = "https://shop.example"


class Online:
    """Who presence says has a page open: the test sets it."""

    def __init__(self) -> None:
        self.ids: set[int] = set()

    def __call__(self, user_id: int) -> bool:
        return user_id in self.ids

    def set(self, *users) -> None:
        self.ids = {user.pk for user in users}


@pytest.fixture
def online(monkeypatch):
    found = Online()
    monkeypatch.setattr(presence, "has_open_page", found)
    return found


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
