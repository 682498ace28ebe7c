"""A real browser (Debian's Chromium, driven by Playwright) against a real daphne.

The browser tests run in the embedded pass of `make test` only: the pages and the
client are the same on both engines, and the engines' own contracts are proven
by the rest of the suite. Without /usr/bin/chromium they skip with the reason;
under CI they must run.
"""

import os
import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import pytest
from django.contrib.auth.hashers import make_password
from django.db import connections
from playwright.sync_api import Browser, Page, expect, sync_playwright

from accounts.models import User
from tests.conftest import ON_CI, USES_SERVICES
from tests.live import ROOT, DaphneServer

CHROMIUM = "/usr/bin/chromium"
SCREENSHOTS = ROOT / "artifacts" / "screenshots"
PASSWORD = "correct horse battery staple"
TIMEOUT_MS = 20_000

expect.set_options(timeout=TIMEOUT_MS)


def browser_unavailable() -> str | None:
    """Why the browser tests cannot run here, or None."""
    if USES_SERVICES:
        return (
            "browser tests run in the embedded pass of make test only "
            "(the pages and client do not depend on the engines)"
        )
    if not os.path.exists(CHROMIUM):
        return f"needs Chromium at {CHROMIUM} (apt-get install chromium)"
    return None


@pytest.fixture
def runtime():
    """No runtime in this process: the pages talk to daphne processes, and
    Playwright runs an event loop of its own in the test's thread."""
    return None


@pytest.fixture(autouse=True)
def _orm_beside_playwright(monkeypatch):
    """Let the test's own ORM calls run beside Playwright's event loop.

    Playwright's sync API keeps an asyncio loop in the test's thread, which
    Django takes for async code. The test is plain sync code, so it is safe.
    """
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


def off_loop(function, /, *args, **kwargs):
    """Call `function` in a thread of its own, away from Playwright's loop.

    For services that publish through async_to_sync, which refuses to run in a
    thread with a running loop.
    """
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(_closing_connections, function, args, kwargs).result()


def _closing_connections(function, args, kwargs):
    try:
        return function(*args, **kwargs)
    finally:
        connections.close_all()


@pytest.fixture(scope="module")
def browser(django_db_setup):
    """One headless Chromium per module (after the test database is made).

    Not for the session: Playwright's sync API keeps an event loop in the main
    thread while it runs, which the async tests of other modules must not meet.
    """
    reason = browser_unavailable()
    if reason:
        if ON_CI and not USES_SERVICES:
            pytest.fail(f"under CI the browser tests must run: {reason}")
        pytest.skip(reason)
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=CHROMIUM,
            # As root (CI, containers) Chromium refuses its sandbox.
            args=["--no-sandbox", "--disable-dev-shm-usage"],
        )
        yield launched
        launched.close()


@pytest.fixture
def live(transactional_db, tmp_path):
    """A daphne of the test's own: DEBUG off, heartbeat every 2 s.

    The product's own Content-Security-Policy applies (chatsite.security): the
    pages must work with no inline script or style.
    """
    server = DaphneServer(
        tmp_path / "daphne.log",
        CHAT_HEARTBEAT_SECONDS="2",
        CHAT_MEDIA_ROOT=str(tmp_path / "media"),
    )
    server.start()
    yield server
    server.stop()


@dataclass
class Visitor:
    """One person in a browser context of their own (own cookies, own language)."""

    name: str
    page: Page
    base_url: str
    dialogs: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def open(self, path: str):
        return self.page.goto(f"{self.base_url}{path}")

    def sign_up(self) -> None:
        """Sign up through the page; it ends on the home page, logged in."""
        self.open("/accounts/signup/")
        self.shot("signup")
        form = self.page.locator("main form")
        form.locator("#id_username").fill(self.name)
        form.locator("#id_password1").fill(PASSWORD)
        form.locator("#id_password2").fill(PASSWORD)
        form.locator("button[type=submit]").click()
        expect(self.page).to_have_url(f"{self.base_url}/")
        self.wait_connected()

    def log_in(self, path: str = "/") -> None:
        """Log in through the login page (the user exists), ending on `path`.

        The server runs the product's settings, which know no MD5 hasher: the
        password is stored again with the default one first.
        """
        User.objects.filter(username=self.name).update(
            password=make_password(PASSWORD, hasher="pbkdf2_sha256")
        )
        self.open(f"/accounts/login/?next={path}")
        form = self.page.locator("main form")
        form.locator("#id_username").fill(self.name)
        form.locator("#id_password").fill(PASSWORD)
        form.locator("button[type=submit]").click()
        expect(self.page).to_have_url(f"{self.base_url}{path}")
        self.wait_connected()

    def wait_connected(self) -> None:
        expect(self.page.locator("#connection-state")).to_have_attribute(
            "data-state", "connected"
        )

    def send(self, body: str) -> None:
        """Type a message and press Enter, as a person does."""
        box = self.page.locator("#message-body")
        box.fill(body)
        box.press("Enter")

    def messages(self):
        return self.page.locator("#messages li.message")

    def message_with(self, body: str):
        """Stored messages (with an id) whose body is exactly `body`."""
        return self.page.locator("#messages li.message[data-id] .body").filter(
            has_text=re.compile(f"^{re.escape(body)}$")
        )

    def shot(self, name: str) -> None:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def note_csp_violation(person: "Visitor", message) -> None:
    if message.type == "error" and "Content Security Policy" in message.text:
        person.errors.append(message.text)


@pytest.fixture
def visitor(browser: Browser, live: DaphneServer):
    """Open a new browser context as a person: `visitor("alice", locale="zh-CN")`."""
    contexts = []

    def make(
        name: str, *, locale: str = "en-US", base_url: str | None = None, **options
    ) -> Visitor:
        context = browser.new_context(
            locale=locale, timezone_id=options.pop("timezone_id", "UTC"), **options
        )
        context.set_default_timeout(TIMEOUT_MS)
        contexts.append(context)
        page = context.new_page()
        person = Visitor(name=name, page=page, base_url=base_url or live.http_url)

        def on_dialog(dialog) -> None:
            person.dialogs.append(dialog.message)
            dialog.dismiss()

        page.on("dialog", on_dialog)
        page.on("pageerror", lambda error: person.errors.append(str(error)))
        page.on("console", lambda message: note_csp_violation(person, message))
        return person

    yield make
    for context in contexts:
        context.close()
