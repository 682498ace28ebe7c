"""The people directory: find someone by part of their name, logged in only."""

import pytest
from rest_framework.test import APIClient

from accounts.tokens import create_token
from chat.selectors import people_matching

pytestmark = pytest.mark.django_db


def client_for(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {create_token(user=user)[1]}")
    return client


def test_people_search_finds_by_part_of_the_name_starts_first(make_user):
    """`q` matches anywhere, case-insensitive; names starting with it come first."""
    alice = make_user("alice")
    for name in ("bobby", "annabel", "rob", "carol"):
        make_user(name)
    make_user("bobinactive", is_active=False)
    response = client_for(alice).get("/api/users/", {"q": "OB"})
    assert response.status_code == 200
    assert [u["username"] for u in response.json()["users"]] == ["bobby", "rob"]
    everyone = client_for(alice).get("/api/users/").json()["users"]
    assert [u["username"] for u in everyone] == ["annabel", "bobby", "carol", "rob"]


def test_people_search_is_limited_and_needs_a_login(make_user):
    """At most 20 people per answer; without a login, 401 with a code."""
    viewer = make_user("viewer")
    for n in range(25):
        make_user(f"user{n:02}")
    users = client_for(viewer).get("/api/users/", {"q": "user"}).json()["users"]
    assert len(users) == 20
    response = APIClient().get("/api/users/", {"q": "user"})
    assert response.status_code == 401
    assert response.json()["code"] == "unauthenticated"


def test_people_page_lists_matches_with_a_message_link(client, make_user):
    """/people/?q= shows matching people, each with a link to a conversation."""
    alice = make_user("alice")
    make_user("bob")
    client.force_login(alice)
    html = client.get("/people/", {"q": "bo"}).content.decode()
    assert 'href="/dm/bob/"' in html
    assert 'href="/dm/alice/"' not in html


@pytest.mark.django_db
def test_a_query_no_username_can_hold_finds_nobody(make_user):
    """A NUL in the search finds nobody (PostgreSQL would refuse it: never a 5xx)."""
    viewer = make_user("viewer")
    make_user("nul")
    assert people_matching(query="n\x00ul", viewer=viewer) == []
