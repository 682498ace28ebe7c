"""Pages: CSP, CSRF, autoescape, HTTPS settings and `check --deploy`."""

import asyncio
import os
import re
import secrets
import subprocess
import sys
from urllib.error import HTTPError
from urllib.request import HTTPRedirectHandler, ProxyHandler, Request, build_opener

import pytest

from accounts.models import User
from tests.conftest import PASSWORD
from tests.live import ROOT, http_json, log_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PRODUCTION = {
    "DEBUG": "0",
    "SECRET_KEY": secrets.token_urlsafe(50),
    "ALLOWED_HOSTS": "chat.example.com",
    "CHAT_HTTPS": "1",
    "DATABASE_URL": "",
    "REDIS_URL": "",
}


def check_deploy(**env: str) -> subprocess.CompletedProcess:
    environment = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DJANGO_SETTINGS_MODULE", *PRODUCTION}
    }
    environment.update(DJANGO_SETTINGS_MODULE="chatsite.settings", **env)
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_check_deploy_is_clean_with_production_settings():
    """`manage.py check --deploy` with the production environment: no warning."""
    done = check_deploy(**PRODUCTION)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "no issues" in done.stdout


def test_check_deploy_warns_when_https_is_not_declared():
    """The same without CHAT_HTTPS: the insecure cookies are reported."""
    done = check_deploy(**dict(PRODUCTION, CHAT_HTTPS="0"))
    assert done.returncode != 0
    assert "security.W012" in done.stdout + done.stderr


@pytest.fixture
def staffer(make_person):
    person = make_person("boss", with_password=True)
    User.objects.filter(pk=person.id).update(is_staff=True, is_superuser=True)
    return person


@pytest.fixture
def hostile_room(make_room, staffer):
    """A room whose title is markup: it must be shown as text."""
    room = make_room("xss", owner=staffer.user)
    room.title = '<script>alert("pwned")</script><img src=x onerror=alert(1)>'
    room.save(update_fields=["title"])
    return room


INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)(?![^>]*application/json)[^>]*>")
EVENT_HANDLER = re.compile(r"<[^>]+\son[a-z]+\s*=", re.IGNORECASE)
PAGES = [
    "/",
    "/accounts/login/",
    "/accounts/signup/",
    "/accounts/settings/",
    "/accounts/password/reset/",
    "/admin/",
    "/admin/chat/room/",
    "/admin/chat/room/add/",
    "/admin/accounts/user/",
    "/admin/accounts/apitoken/",
]


async def test_pages_send_a_strict_csp_and_hold_no_inline_script(
    daphne_server, staffer, hostile_room
):
    """Every page (the admin's too): a CSP without inline scripts, and none inline."""
    cookie = await asyncio.to_thread(log_in, daphne_server, "boss", PASSWORD)
    for path in [*PAGES, "/api/rooms/", "/admin/login/"]:
        headers = {"Cookie": cookie, "Accept": "text/html"}
        status, answer, body = await asyncio.to_thread(
            http_json, "GET", f"{daphne_server.http_url}{path}", headers=headers
        )
        assert status in {200, 302}, path
        policy = answer["Content-Security-Policy"]
        assert "default-src 'self'" in policy
        assert "script-src 'self'" in policy
        assert "frame-ancestors 'none'" in policy
        assert "unsafe-inline" not in policy
        assert "unsafe-eval" not in policy
        if isinstance(body, str):
            assert not INLINE_SCRIPT.search(body), path
            assert not EVENT_HANDLER.search(body), path


async def test_markup_in_a_title_is_escaped_on_the_pages(
    daphne_server, staffer, hostile_room
):
    """Autoescape: a room title of markup is shown as text, on the site and admin."""
    cookie = await asyncio.to_thread(log_in, daphne_server, "boss", PASSWORD)
    for path in ("/", "/admin/chat/room/"):
        _, _, body = await asyncio.to_thread(
            http_json,
            "GET",
            f"{daphne_server.http_url}{path}",
            headers={"Cookie": cookie},
        )
        assert '<script>alert("pwned")' not in body
        assert "<img src=x" not in body
    assert "&lt;script&gt;" in body


async def test_form_posts_without_csrf_token_are_refused(daphne_server, staffer):
    """CSRF is on: a logged-in form post without the token gets 403."""
    cookie = await asyncio.to_thread(log_in, daphne_server, "boss", PASSWORD)
    for path in ("/accounts/logout/", "/admin/chat/room/add/"):
        status, _, _ = await asyncio.to_thread(
            http_json,
            "POST",
            f"{daphne_server.http_url}{path}",
            headers={
                "Cookie": cookie,
                "Content-Type": "application/x-www-form-urlencoded",
            },
            raw=b"slug=x",
        )
        assert status == 403, path


class _Stay(HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None  # a redirect is the answer to look at


def _get(url: str, headers: dict) -> tuple[int, list[str], dict]:
    """Status, Set-Cookie headers (all of them) and headers of a GET."""
    request = Request(url, headers=headers)  # noqa: S310 - the test server
    try:
        with build_opener(ProxyHandler({}), _Stay()).open(request, timeout=20) as got:
            return (
                got.status,
                got.headers.get_all("Set-Cookie") or [],
                dict(got.headers),
            )
    except HTTPError as exc:
        exc.close()
        return exc.code, exc.headers.get_all("Set-Cookie") or [], dict(exc.headers)


async def test_over_https_cookies_are_secure_and_hsts_is_sent(start_daphne):
    """CHAT_HTTPS=1 behind a TLS proxy: Secure cookies, HSTS; plain HTTP redirected."""
    server = start_daphne(CHAT_HTTPS="1")
    url = f"{server.http_url}/accounts/login/"
    status, cookies, headers = await asyncio.to_thread(
        _get, url, {"X-Forwarded-Proto": "https"}
    )
    assert status == 200
    assert cookies
    assert all("Secure" in cookie for cookie in cookies), cookies
    assert headers["Strict-Transport-Security"].startswith("max-age=31536000")
    status, _, headers = await asyncio.to_thread(_get, url, {})
    assert status == 301
    assert headers["Location"].startswith("https://")
