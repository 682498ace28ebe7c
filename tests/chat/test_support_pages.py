"""The support pages: the widget's loader and frame, and the agents' /support/."""

import pytest

from chat.models import CannedReply
from chat.services.support import create_site

pytestmark = pytest.mark.django_db


def test_widget_script_is_served_at_the_root_for_any_origin(client):
    """/widget.js: the loader, as JavaScript, that other origins' pages may load."""
    response = client.get("/widget.js")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/javascript")
    assert response["Cross-Origin-Resource-Policy"] == "cross-origin"
    body = response.content
    assert b"/support/widget/" in body
    assert b"dataset.site" in body
    assert "Set-Cookie" not in response.headers


def test_other_pages_still_refuse_every_frame(client):
    """Only the widget's frame may be framed: every other page says 'none'."""
    response = client.get("/accounts/login/")
    assert "frame-ancestors 'none'" in response["Content-Security-Policy"]
    assert response["X-Frame-Options"] == "DENY"


def test_support_page_wants_a_login(client):
    """/support/ for an anonymous person: the login page."""
    response = client.get("/support/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


@pytest.fixture
def site(make_user):
    agent = make_user("li")
    return create_site(name="Shop", origins=["https://shop.example"], agents=[agent])


def test_widget_frame_may_be_framed_by_the_site_origins_only(client, site):
    """The frame's CSP names the site's origins; it sets no cookie."""
    response = client.get(
        f"/support/widget/{site.public_key}/?page=https://shop.example/p"
    )
    assert response.status_code == 200
    policy = response["Content-Security-Policy"]
    assert "frame-ancestors https://shop.example;" in policy
    assert "X-Frame-Options" not in response.headers
    assert not response.cookies
    data = response.context["widget_data"]
    assert data["key"] == site.public_key
    assert data["page"] == "https://shop.example/p"
    assert data["visitors_url"] == f"/api/support/{site.public_key}/visitors/"


def test_widget_frame_of_an_unknown_site_is_not_found(client):
    """A made-up key: 404, and still framed by no one."""
    response = client.get("/support/widget/site_nope/")
    assert response.status_code == 404
    assert "frame-ancestors 'none'" in response["Content-Security-Policy"]


def test_support_page_is_for_the_team_and_staff(client, site, make_user):
    """An agent and staff see /support/; another user gets 403."""
    client.force_login(make_user("mallory"))
    assert client.get("/support/").status_code == 403
    client.force_login(site.agents.get())
    response = client.get("/support/")
    assert response.status_code == 200
    assert response.context["page_data"]["page"] == "support"
    client.force_login(make_user("boss", is_staff=True))
    assert client.get("/support/").status_code == 200


def test_support_page_lists_the_team_canned_replies_only(client, site, make_user):
    """An agent gets their sites' canned replies, not another site's."""
    CannedReply.objects.create(site=site, shortcut="hi", text="Hello {visitor.name}!")
    other = create_site(name="Other", origins=["https://other.example"])
    CannedReply.objects.create(site=other, shortcut="secret", text="not yours")
    client.force_login(site.agents.get())
    canned = client.get("/support/").context["page_data"]["canned"]
    assert canned == [
        {"shortcut": "hi", "text": "Hello {visitor.name}!", "site": site.public_key}
    ]


def test_metrics_page_is_for_staff_with_a_csv_link(client, site, make_user):
    """Staff see the metrics table's page and its CSV link; an agent does not."""
    client.force_login(site.agents.get())
    assert client.get("/support/metrics/").status_code == 403
    client.force_login(make_user("boss", is_staff=True))
    response = client.get("/support/metrics/?since=2026-12-01")
    assert response.status_code == 200
    metrics = response.context["metrics"]
    assert metrics["csv_url"] == "/api/support/metrics.csv?since=2026-12-01"
    assert "First response (s)" in metrics["columns"]
    assert b'href="/api/support/metrics.csv?since=2026-12-01"' in response.content
