"""The chat pages' contracts, without a browser (tests/browser drives one).

Who may see what, where a login leads, which language a page speaks, that the
markup is ready for a strict Content-Security-Policy, and that a real daphne
with DEBUG off serves the pages' static files.
"""

import json
import re
from html.parser import HTMLParser

import pytest
from django.urls import reverse

from chat.models import Conversation
from chat.services.changes import edit_message
from chat.services.messages import send_message
from tests.live import DaphneServer, http_json

pytestmark = pytest.mark.django_db

LOGIN = reverse("login")


@pytest.fixture
def alice(make_user):
    return make_user("alice")


@pytest.fixture
def bob(make_user):
    return make_user("bob")


@pytest.fixture
def as_alice(client, alice):
    client.force_login(alice)
    return client


@pytest.mark.parametrize(
    "path", ["/", "/rooms/lobby/", "/dm/bob/", "/rooms/nowhere/", "/dm/nobody/"]
)
def test_pages_need_a_login_and_come_back_after_it(client, path):
    """A page that needs a login sends a visitor to log in, then back."""
    response = client.get(path)
    assert response.status_code == 302
    assert response.url == f"{LOGIN}?next={path}"


def test_login_page_carries_next_to_the_sign_up_page(client):
    """Someone without an account who came for a room signs up and is sent on."""
    page = client.get(LOGIN, {"next": "/rooms/lobby/"}).content.decode()
    assert 'href="/accounts/signup/?next=/rooms/lobby/"' in page
    response = client.post(
        "/accounts/signup/?next=/rooms/lobby/",
        {
            "username": "newcomer",
            "password1": "correct horse battery staple",
            "password2": "correct horse battery staple",
            "next": "/rooms/lobby/",
        },
    )
    assert (response.status_code, response.url) == (302, "/rooms/lobby/")


def test_sign_up_never_sends_on_to_another_site(client):
    """A `next` that leaves the site is ignored: home instead."""
    response = client.post(
        "/accounts/signup/",
        {
            "username": "newcomer",
            "password1": "correct horse battery staple",
            "password2": "correct horse battery staple",
            "next": "https://evil.example/",
        },
    )
    assert (response.status_code, response.url) == (302, "/")


def test_private_room_of_others_says_so_and_leaks_nothing(as_alice, bob, make_room):
    """A private room I am not in: 403, no title, no message, no page data."""
    room = make_room("vault", owner=bob, private=True)
    room.title = "Bob's hidden plans"
    room.save()
    send_message(sender=bob, room="vault", body="the secret body")
    response = as_alice.get("/rooms/vault/")
    assert response.status_code == 403
    html = response.content.decode()
    assert "private" in html.lower()
    for leak in ("the secret body", "hidden plans", 'id="page-data"'):
        assert leak not in html
    assert not re.search(r"\bbob\b", html)  # the owner's name (not "combobox")
    # Nor can the join form get her in.
    assert as_alice.post("/rooms/vault/join/").status_code == 403


def test_public_room_not_joined_offers_a_join_button(as_alice, alice, bob, make_room):
    """A public room I am not in shows a Join button, not its messages."""
    make_room("open", owner=bob)
    send_message(sender=bob, room="open", body="inside talk")
    html = as_alice.get("/rooms/open/").content.decode()
    assert 'action="/rooms/open/join/"' in html
    assert 'id="join-room"' in html
    assert "inside talk" not in html
    response = as_alice.post("/rooms/open/join/")
    assert (response.status_code, response.url) == (302, "/rooms/open/")
    page = as_alice.get("/rooms/open/")
    assert page.status_code == 200
    assert 'id="composer"' in page.content.decode()
    assert Conversation.objects.get(slug="open").memberships.filter(user=alice).exists()


def test_unknown_room_and_user_are_404(as_alice, alice):
    """A room or user that does not exist is a plain 404 page."""
    assert as_alice.get("/rooms/nowhere/").status_code == 404
    assert as_alice.get("/dm/nobody/").status_code == 404
    assert as_alice.get("/dm/alice/").url == "/"


def test_conversation_page_data_is_json_not_code(as_alice, alice, bob, make_room):
    """The room page hands its data to the client as JSON, with the read cursor."""
    make_room("lobby", owner=alice, members=[bob])
    message, _ = send_message(sender=bob, room="lobby", body="</script><b>x</b>")
    html = as_alice.get("/rooms/lobby/").content.decode()
    data = re.search(
        r'<script id="page-data" type="application/json">(.*?)</script>', html
    )
    assert data is not None
    assert "</script><b>" not in data.group(1)
    assert '"room": "lobby"' in data.group(1)
    assert f'"cursor": {message.id}' in data.group(1)


def page_data_of(html: str) -> dict:
    found = re.search(
        r'<script id="page-data" type="application/json">(.*?)</script>', html
    )
    assert found is not None
    return json.loads(found.group(1))


def test_conversation_page_data_says_what_the_message_actions_may_offer(
    client, alice, bob, make_room, settings
):
    """A room's owner may delete anyone's message there, a member only their own;
    the edit window and the change id the page was made at come along."""
    settings.CHAT_EDIT_WINDOW_SECONDS = 600
    make_room("lobby", owner=alice, members=[bob])
    message, _ = send_message(sender=bob, room="lobby", body="to be edited")
    stored = edit_message(user=bob, message_id=message.id, body="edited")
    client.force_login(alice)
    owner = page_data_of(client.get("/rooms/lobby/").content.decode())
    assert owner["moderator"] is True
    assert owner["edit_window"] == 600
    assert owner["last_change_id"] == stored.change.id
    client.force_login(bob)
    member = page_data_of(client.get("/rooms/lobby/").content.decode())
    assert member["moderator"] is False
    direct = page_data_of(client.get("/dm/alice/").content.decode())
    assert direct["moderator"] is False


def test_create_room_errors_are_shown_next_to_the_field(as_alice, make_room, bob):
    """A taken or malformed room name is refused beside the name field."""
    make_room("taken", owner=bob)
    for slug, error in [
        ("taken", "A room with this name exists already."),
        ("Not A Slug", "1-50 lower-case letters"),
    ]:
        response = as_alice.post("/rooms/new/", {"slug": slug})
        assert response.status_code == 400
        html = response.content.decode()
        slug_field = html.split('for="id_slug"')[1].split('for="id_title"')[0]
        assert 'class="errorlist' in slug_field
        assert error in slug_field
    response = as_alice.post("/rooms/new/", {"slug": "mine", "private": "on"})
    assert (response.status_code, response.url) == (302, "/rooms/mine/")
    assert Conversation.objects.get(slug="mine").is_private


def test_start_direct_conversation_by_username(as_alice, bob):
    """A known username opens the conversation; an unknown one is refused."""
    response = as_alice.post("/dm/", {"username": "bob"})
    assert (response.status_code, response.url) == (302, "/dm/bob/")
    response = as_alice.post("/dm/", {"username": "nobody"})
    assert response.status_code == 400
    assert "No one has this username." in response.content.decode()
    response = as_alice.post("/dm/", {"username": "alice"})
    assert "Choose someone other than yourself." in response.content.decode()


def test_home_lists_conversations_newest_activity_first_with_unread(
    as_alice, alice, bob, make_user, make_room
):
    """Home lists my rooms and people, newest activity first, with unread counts."""
    carol = make_user("carol")
    make_room("quiet", owner=alice)
    make_room("busy", owner=alice, members=[bob])
    send_message(sender=bob, room="busy", body="one")
    send_message(sender=bob, room="busy", body="two")
    send_message(sender=carol, to="alice", body="hi")
    send_message(sender=bob, to="alice", body="newer")
    html = as_alice.get("/").content.decode()
    rooms = re.findall(r'data-key="room:([^"]+)"', html)
    people = re.findall(r'data-key="dm:([^"]+)"', html)
    assert rooms == ["busy", "quiet"]
    assert people == ["bob", "carol"]
    assert 'data-unread="2"' in html.split('data-key="room:busy"')[1].split("</li>")[0]


@pytest.mark.parametrize(
    ("accept", "lang", "heading"),
    [
        ("zh-CN,zh;q=0.9,en;q=0.5", "zh-hans", "你的会话"),
        ("en-GB,en;q=0.9", "en", "Your conversations"),
        ("fr-FR", "en", "Your conversations"),
    ],
)
def test_language_follows_accept_language(as_alice, accept, lang, heading):
    """The page speaks the browser's language: Simplified Chinese or English."""
    html = as_alice.get("/", HTTP_ACCEPT_LANGUAGE=accept).content.decode()
    assert f'<html lang="{lang}">' in html
    assert f"<h1>{heading}</h1>" in html


def test_language_switch_sticks_over_accept_language(as_alice):
    """The switch on the page (set_language) wins over Accept-Language."""
    response = as_alice.post("/i18n/setlang/", {"language": "zh-hans", "next": "/"})
    assert response.status_code == 302
    html = as_alice.get("/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert '<html lang="zh-hans">' in html
    catalog = as_alice.get("/jsi18n/").content.decode()
    assert "\\u6b63\\u5728\\u8f93\\u5165" in catalog  # 正在输入, the typing line


class InlineCodeFinder(HTMLParser):
    """Collects what `Content-Security-Policy: default-src 'self'` would block."""

    def __init__(self):
        super().__init__()
        self.problems: list[str] = []
        self._in_code_script = False

    def handle_starttag(self, tag, attrs):
        names = dict(attrs)
        for name, _ in attrs:
            if name.startswith("on") or name == "style":
                self.problems.append(f"<{tag} {name}=...>")
        if tag == "style":
            self.problems.append("<style>")
        if tag == "script" and "src" not in names:
            self._in_code_script = names.get("type") != "application/json"

    def handle_endtag(self, tag):
        if tag == "script":
            self._in_code_script = False

    def handle_data(self, data):
        if self._in_code_script and data.strip():
            self.problems.append(f"inline script: {data.strip()[:40]}")


def test_pages_have_no_inline_code_or_styles(client, as_alice, alice, bob, make_room):
    """Every page is ready for a CSP without 'unsafe-inline'."""
    make_room("lobby", owner=alice)
    make_room("open", owner=bob)
    make_room("vault", owner=bob, private=True)
    pages = ["/", "/rooms/lobby/", "/rooms/open/", "/rooms/vault/", "/dm/bob/"]
    for path in pages:
        finder = InlineCodeFinder()
        finder.feed(as_alice.get(path).content.decode())
        assert finder.problems == [], path
    as_alice.logout()
    for path in ["/accounts/login/", "/accounts/signup/"]:
        finder = InlineCodeFinder()
        finder.feed(client.get(path).content.decode())
        assert finder.problems == [], path


@pytest.mark.e2e
def test_daphne_serves_the_static_files_with_debug_off(transactional_db, tmp_path):
    """The pages' script, styles and translations come from daphne, DEBUG off."""
    server = DaphneServer(tmp_path / "daphne.log").start()
    try:
        assert server.env["DEBUG"] == "0"
        for path, kind in [
            ("/static/chat/chat.js", "text/javascript"),
            ("/static/chat/app.css", "text/css"),
            ("/static/chat/icon.svg", "image/svg+xml"),
            ("/jsi18n/", "text/javascript"),
        ]:
            status, headers, body = http_json("GET", f"{server.http_url}{path}")
            assert status == 200, (path, status)
            assert headers["Content-Type"].startswith(kind), (path, headers)
            assert body
        status, _, _ = http_json("GET", f"{server.http_url}/static/chat/nothing.js")
        assert status == 404
    finally:
        server.stop()


def test_every_middleware_is_async_capable(settings):
    """No middleware puts every request (and each long poll) through one thread."""
    from django.utils.module_loading import import_string

    sync_only = [
        path
        for path in settings.MIDDLEWARE
        if not getattr(import_string(path), "async_capable", False)
    ]
    assert sync_only == []


def test_static_files_come_with_caching_headers(client):
    """A static file is served with its type, length and a validator for 304s."""
    response = client.get("/static/chat/chat.js")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/javascript")
    assert int(response["Content-Length"]) == len(response.content) > 1000
    again = client.get("/static/chat/chat.js", HTTP_IF_NONE_MATCH=response["ETag"])
    assert again.status_code == 304


def test_unknown_page_is_a_page_of_ours_in_the_readers_language(client, settings):
    """An unknown address (not under /api/) answers our 404 page, translated."""
    settings.DEBUG = False
    response = client.get("/no/such/page/", HTTP_ACCEPT_LANGUAGE="zh-CN")
    assert response.status_code == 404
    assert "这个地址没有页面。" in response.content.decode()
