"""Every page URL answers each method without a 5xx; a form's URL never shows a 405.

A failed form POST answers 400 at the form's URL; a reload there (a GET) goes
back to the page the form is on instead of the browser's blank 405 page.
"""

import re

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

from chat.models import Message

pytestmark = pytest.mark.django_db

PARAMETERS = {"slug": "lobby", "username": "bob"}
METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE"]


def page_paths(patterns=None, prefix: str = "") -> list[str]:
    """Every page URL of the site (not /api/, not the admin's models), filled in."""
    found = []
    for entry in patterns if patterns is not None else get_resolver().url_patterns:
        route = prefix + str(entry.pattern)
        if route.startswith(("api/", "admin/")) and route != "admin/logout/":
            continue
        if isinstance(entry, URLResolver):
            found += page_paths(entry.url_patterns, route)
        elif isinstance(entry, URLPattern):
            path = re.sub(r"<(?:\w+:)?(\w+)>", lambda m: PARAMETERS[m[1]], route)
            found.append("/" + path.lstrip("^").rstrip("$"))
    return sorted(set(found))


@pytest.fixture
def alice(make_user, make_room):
    user = make_user("alice")
    make_user("bob")
    make_room("lobby", members=[user])
    return user


@pytest.fixture
def as_alice(client, alice):
    client.force_login(alice)
    return client


def test_the_pages_are_all_listed():
    """The run below reaches every page URL, the POST-only ones included."""
    paths = page_paths()
    for path in ["/rooms/new/", "/dm/", "/rooms/lobby/join/", "/accounts/logout/"]:
        assert path in paths
    assert "/admin/logout/" in paths
    assert "/people/" in paths
    assert "/search/" in paths
    assert "/account/" in paths
    assert len(paths) == 15, paths


@pytest.mark.parametrize(
    ("path", "form", "target"),
    [
        ("/rooms/new/", {"slug": "Not A Slug!"}, "/"),
        ("/dm/", {"username": "nobody"}, "/"),
        ("/rooms/nowhere/join/", {}, "/rooms/nowhere/"),
    ],
)
def test_get_after_a_failed_post_goes_to_the_page_of_the_form(
    as_alice, path, form, target
):
    """The failed POST shows its errors; a GET of that URL goes to the form's page."""
    failed = as_alice.post(path, form)
    assert failed.status_code in {400, 404}
    response = as_alice.get(path)
    assert response.status_code == 302
    assert response.url == target
    assert as_alice.get(target).status_code in {200, 404}
    assert not Message.objects.exists()


@pytest.mark.parametrize(
    ("path", "target"),
    [
        ("/rooms/new/", "/"),
        ("/dm/", "/"),
        ("/rooms/lobby/join/", "/rooms/lobby/"),
        ("/accounts/logout/", "/"),
    ],
)
def test_get_on_a_post_only_url_redirects_and_changes_nothing(as_alice, path, target):
    """GET on a form's URL: a redirect to its page; a GET on logout logs no one out."""
    response = as_alice.get(path)
    assert (response.status_code, response.url) == (302, target)
    assert as_alice.get("/").status_code == 200  # still logged in


def test_get_on_the_admins_logout_goes_to_the_admin(client, make_user):
    """The admin's logout is POST-only too: a GET goes to its index, still in."""
    client.force_login(make_user("root", is_staff=True, is_superuser=True))
    response = client.get("/admin/logout/")
    assert (response.status_code, response.url) == (302, "/admin/")
    assert client.get("/admin/").status_code == 200
    assert client.post("/admin/logout/").status_code in {200, 302}  # logs out
    assert client.get("/admin/").status_code == 302


@pytest.mark.parametrize("debug", [False, True], ids=["debug_off", "debug_on"])
@pytest.mark.parametrize("logged_in", [False, True], ids=["visitor", "user"])
def test_every_page_answers_every_method_without_a_5xx_or_405_on_get(
    client, alice, settings, debug, logged_in
):
    """No page URL answers 5xx to any method, nor 405 to GET."""
    settings.DEBUG = debug
    if logged_in:
        client.force_login(alice)
    answers = {}
    for path in page_paths():
        for method in METHODS:
            response = client.generic(method, path)
            answers[method, path] = response.status_code
            assert response.status_code < 500, (method, path)
        assert answers["GET", path] != 405, path
    assert len(answers) == 15 * len(METHODS)


@pytest.mark.parametrize("debug", [False, True], ids=["debug_off", "debug_on"])
@pytest.mark.parametrize(
    "path", ["/nowhere/", "/rooms/", "/rooms/lobby/nowhere/", "/dm/bob/x/", "/%00/"]
)
def test_unknown_page_paths_are_404_for_every_method(as_alice, settings, debug, path):
    """A path no page serves answers 404 (never 5xx) to every method."""
    settings.DEBUG = debug
    for method in METHODS:
        assert as_alice.generic(method, path).status_code == 404, method
