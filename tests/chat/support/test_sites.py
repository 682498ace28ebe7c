"""Support sites and visitors: `manage.py createsite`, the admin's snippet,
POST /api/support/<public key>/visitors/ (Origin, pre-chat, data-user-hash)."""

import io

import pytest
from django.core.management import CommandError, call_command
from django.test import Client

from chat.models import SupportSite, Visitor
from chat.services import support

pytestmark = pytest.mark.django_db

SHOP = "https://shop.example"


@pytest.fixture
def site(make_user):
    return support.create_site(
        name="Shop", origins=[SHOP], agents=[make_user("li"), make_user("wu")]
    )


def register(site, origin=SHOP, **body):
    headers = {"HTTP_ORIGIN": origin} if origin else {}
    return Client().post(
        f"/api/support/{site.public_key}/visitors/",
        body,
        content_type="application/json",
        **headers,
    )


def test_createsite_prints_the_public_key_alone(make_user):
    """The command's stdout is the key alone; the site has its origins and team."""
    make_user("li")
    out = io.StringIO()
    call_command(
        "createsite",
        "Shop",
        "--origin",
        SHOP,
        "--origin",
        "http://localhost:3000/",
        "--agent",
        "li",
        stdout=out,
    )
    key = out.getvalue().strip()
    site = SupportSite.objects.get(public_key=key)
    assert out.getvalue() == key + "\n"
    assert len(key) > 20
    assert site.origins == [SHOP, "http://localhost:3000"]
    assert [user.username for user in site.agents.all()] == ["li"]


def test_createsite_refuses_an_unknown_agent():
    """A typo in a username is an error, not a site without its agent."""
    with pytest.raises(CommandError, match="nobody"):
        call_command("createsite", "Shop", "--origin", SHOP, "--agent", "nobody")
    assert not SupportSite.objects.exists()


def test_public_keys_are_unguessable(site):
    """Two sites get unrelated keys."""
    other = support.create_site(name="Other", origins=[SHOP])
    assert site.public_key != other.public_key
    assert site.secret != other.secret


def test_admin_page_shows_the_snippet(site, admin_client):
    """The site's admin page shows the script tag with this host and the key."""
    response = admin_client.get(f"/admin/chat/supportsite/{site.pk}/change/")
    text = response.content.decode()
    assert response.status_code == 200
    assert (
        f"&lt;script src=&quot;http://testserver/widget.js&quot; "
        f"data-site=&quot;{site.public_key}&quot; async&gt;&lt;/script&gt;"
    ) in text


def test_visitor_gets_a_token_from_an_allowed_origin(site):
    """A visitor of an allowed origin gets a token naming them, with CORS."""
    response = register(site, name="Ann", email="ann@example.com")
    assert response.status_code == 201, response.content
    body = response.json()
    visitor = support.visitor_from_token(site, body["token"])
    assert visitor.name == "Ann"
    assert body["visitor"]["display_name"] == "Ann"
    assert response["Access-Control-Allow-Origin"] == SHOP


@pytest.mark.parametrize("origin", ["https://evil.example", None])
def test_other_origins_are_refused(site, origin):
    """A page of another origin (or none) gets no token."""
    response = register(site, origin=origin, name="Ann")
    assert response.status_code == 403
    assert response.json()["code"] == "forbidden"
    assert not Visitor.objects.exists()


def test_unknown_site_is_not_found():
    response = Client().post(
        "/api/support/site_nope/visitors/", {}, content_type="application/json"
    )
    assert response.status_code == 404


def test_required_prechat_fields(site):
    """A required email must be given and be an address; off fields are dropped."""
    site.prechat_email = SupportSite.Field.REQUIRED
    site.prechat_name = SupportSite.Field.OFF
    site.save()
    assert register(site, name="Ann").json()["code"] == "invalid"
    assert register(site, email="nope").status_code == 400
    response = register(site, name="Ann", email="ann@example.com")
    assert response.status_code == 201
    assert response.json()["visitor"]["name"] == ""


def test_user_hash_continues_the_same_visitor(site):
    """The same data-user-id with its hash is the same visitor on any device."""
    good = support.user_hash(site, "42")
    first = register(site, user_id="42", user_hash=good).json()
    second = register(site, user_id="42", user_hash=good).json()
    assert first["visitor"]["id"] == second["visitor"]["id"]
    assert Visitor.objects.count() == 1


def test_wrong_user_hash_is_refused(site):
    """A hash made with another secret (or none) is refused."""
    response = register(site, user_id="42", user_hash="0" * 64)
    assert response.status_code == 403
    assert register(site, user_id="42").status_code == 403
    assert not Visitor.objects.exists()


def test_token_of_another_site_is_refused(site):
    """A visitor token is good for its own site only."""
    token = register(site).json()["token"]
    other = support.create_site(name="Other", origins=[SHOP])
    with pytest.raises(Exception, match="not valid"):
        support.visitor_from_token(other, token)
    with pytest.raises(Exception, match="not valid"):
        support.visitor_from_token(site, token + "x")


def test_visitor_users_cannot_log_in(site):
    """The user behind a visitor has no usable password."""
    token = register(site).json()["token"]
    visitor = support.visitor_from_token(site, token)
    assert not visitor.user.has_usable_password()
