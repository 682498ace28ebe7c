"""The app shell in a real browser: grouping, Markdown, attention, phones, themes.

People and rooms are made with the ORM and log in through the login page; the
server and the browser are the shared fixtures of conftest.py.
"""

import json
import re
import secrets
import urllib.request
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from accounts.tokens import create_token
from chat.models import Message
from chat.services.messages import send_message
from chat.services.reads import mark_read
from tests.browser.conftest import off_loop

pytestmark = pytest.mark.e2e

# Makes the tab look hidden on demand and records the notifications raised.
HIDDEN_TAB_AND_NOTIFICATIONS = """
window.__hidden = false;
Object.defineProperty(Document.prototype, "visibilityState", {
  configurable: true, get() { return window.__hidden ? "hidden" : "visible"; },
});
Object.defineProperty(Document.prototype, "hidden", {
  configurable: true, get() { return window.__hidden; },
});
window.__notes = [];
const RealNotification = window.Notification;
class RecordedNotification extends RealNotification {
  constructor(title, options = {}) {
    super(title, options);
    window.__notes.push({ title, body: options.body });
    window.__lastNote = this;
  }
}
Object.defineProperty(RecordedNotification, "permission", {
  get() { return RealNotification.permission; },
});
RecordedNotification.requestPermission = (...args) =>
  RealNotification.requestPermission(...args);
window.Notification = RecordedNotification;
"""


def say(live, user, body: str, **target) -> dict:
    """Post a message through the server's HTTP API, as another client would.

    (The test's own send_message would publish on the test's in-memory layer,
    which the server does not hear.)
    """
    token = create_token(user=user)[1]
    path = (
        f"/api/rooms/{target['room']}/messages/"
        if "room" in target
        else f"/api/dm/{target['to']}/messages/"
    )
    request = urllib.request.Request(  # noqa: S310 (our own http URL)
        f"{live.http_url}{path}",
        data=json.dumps({"body": body, "client_id": secrets.token_hex(8)}).encode(),
        headers={
            "Authorization": f"Bearer {token}",
            "Content-Type": "application/json",
        },
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
        return json.loads(response.read())


def hide_tab(person, hidden: bool = True) -> None:
    person.page.evaluate(
        "(hidden) => { window.__hidden = hidden;"
        " document.dispatchEvent(new Event('visibilitychange')); }",
        hidden,
    )


def post(sender, *, at, **target) -> Message:
    """A message stored as if sent at `at`."""
    body = target.pop("body")
    message, _ = off_loop(send_message, sender=sender, body=body, **target)
    Message.objects.filter(pk=message.pk).update(created_at=at)
    return message


def day_label(moment, today) -> str:
    day = moment.date()
    if day == today:
        return "Today"
    if day == today - timedelta(days=1):
        return "Yesterday"
    return f"{moment:%A}, {moment:%B} {moment.day}, {moment.year}"


def test_messages_grouped_by_sender_and_day_with_a_new_messages_divider(
    visitor, make_user, make_room
):
    """Same sender within minutes groups; days separate; a divider at the unread."""
    alice, bob = make_user("alice"), make_user("bob")
    make_room("lobby", owner=alice, members=[bob])
    now = timezone.now().replace(microsecond=0)
    times = [
        now - timedelta(days=2, minutes=3),
        now - timedelta(days=1, minutes=2),
        now - timedelta(days=1, minutes=1),
        now - timedelta(seconds=90),
        now - timedelta(seconds=60),
        now - timedelta(seconds=50),
    ]
    senders = [bob, bob, bob, alice, bob, bob]
    posted = [
        post(sender, at=at, room="lobby", body=f"m{n}")
        for n, (sender, at) in enumerate(zip(senders, times, strict=True))
    ]
    off_loop(mark_read, user=alice, room="lobby", message_id=posted[3].id)

    page = visitor("alice", viewport={"width": 1280, "height": 800})
    page.log_in("/rooms/lobby/")
    expect(page.messages()).to_have_count(6)
    today = now.date()
    labels = []
    for at in times:
        label = day_label(at, today)
        if not labels or labels[-1] != label:
            labels.append(label)
    expect(page.page.locator("#messages li.day-separator")).to_have_text(labels)
    # m1 and m2 (bob, a minute apart) group; m3 is mine; m4 and m5 group again,
    # but the divider before the first unread (m4) starts a new group.
    continued = page.page.locator("#messages li.message.continued .body")
    expect(continued).to_have_text(["m2", "m5"])
    expect(page.page.locator("#messages li.message.mine .body")).to_have_text(["m3"])
    divider = page.page.locator("#messages li.unread-divider")
    expect(divider).to_have_count(1)
    after = "(d) => d.nextElementSibling.querySelector('.body').textContent"
    assert divider.evaluate(after) == "m4"
    # Each person has an avatar with initials.
    first_avatar = page.page.locator("#messages li.message:not(.continued) .avatar")
    expect(first_avatar.first).to_have_text("BO")

    # Scrolled up, a button jumps back to the latest message.
    for n in range(40):
        post(bob, at=now, room="lobby", body=f"filler {n}")
    page.page.reload()
    page.wait_connected()
    expect(page.messages()).to_have_count(46)
    jump = page.page.locator("#jump-latest")
    page.page.locator("#log").evaluate("(log) => { log.scrollTop = 200; }")
    expect(jump).to_be_visible()
    jump.click()
    expect(jump).to_be_hidden()
    assert page.errors == []


def test_markdown_is_rendered_and_html_or_script_links_stay_inert(
    visitor, make_user, make_room
):
    """Bold, italic, code, quotes, lists and links show; HTML and javascript: do not."""
    alice = make_user("alice")
    make_room("lobby", owner=alice)
    page = visitor("alice")
    page.log_in("/rooms/lobby/")
    bodies = [
        "**bold** and _it_ and `code`",
        "<img src=x onerror=alert(1)><script>alert(2)</script>",
        "[click me](javascript:alert(3)) and [ok](https://example.com/ok)",
        "```\n<b>not bold</b>\n```",
        "> quoted\n\n- one\n- two",
        '<a href="javascript:alert(4)">raw link</a>',
    ]
    for body in bodies:
        page.send(body)
    log = page.page.locator("#messages")
    stored = page.page.locator("#messages li.message[data-id]")
    expect(stored).to_have_count(len(bodies))
    expect(log.locator("strong")).to_have_text(["bold"])
    expect(log.locator("em")).to_have_text(["it"])
    expect(log.locator("p code")).to_have_text(["code"])
    expect(log.locator("blockquote")).to_have_text(["quoted"])
    expect(log.locator("ul li")).to_have_text(["one", "two"])
    # Typed HTML is shown as typed text, and nothing of it runs.
    for typed in (bodies[1], bodies[5]):
        expect(page.message_with(typed)).to_have_count(1)
    expect(log.locator("img, script, b, iframe")).to_have_count(0)
    expect(log.locator("pre code")).to_have_text(["<b>not bold</b>\n"])
    # A javascript: link is plain text; an https link opens safely.
    expect(log.locator("a")).to_have_count(1)
    link = log.locator("a")
    expect(link).to_have_attribute("href", "https://example.com/ok")
    expect(link).to_have_attribute("rel", "noopener noreferrer nofollow")
    expect(log).to_contain_text("click me")
    page.page.wait_for_timeout(300)
    assert page.dialogs == []
    assert page.errors == []


def test_unread_title_notification_when_hidden_and_mute(
    visitor, live, make_user, make_room
):
    """Unread in the title; a hidden tab notifies a DM, a click opens it; mute."""
    alice, bob = make_user("alice"), make_user("bob")
    make_room("lobby", owner=alice)
    page = visitor("alice")
    page.page.context.grant_permissions(["notifications"])
    page.page.add_init_script(HIDDEN_TAB_AND_NOTIFICATIONS)
    page.log_in("/rooms/lobby/")
    expect(page.page).to_have_title("lobby · Chat")

    say(live, bob, "first", to="alice")
    expect(page.page).to_have_title("(1) lobby · Chat")
    favicon = page.page.locator("#favicon")
    expect(favicon).to_have_attribute("href", re.compile("^data:image/png"))
    # Visible tab: no notification.
    assert page.page.evaluate("window.__notes.length") == 0

    hide_tab(page)
    say(live, bob, "are you there?", to="alice")
    expect(page.page).to_have_title("(2) lobby · Chat")
    page.page.wait_for_function("window.__notes.length === 1")
    assert page.page.evaluate("window.__notes") == [
        {"title": "bob", "body": "are you there?"}
    ]
    page.page.evaluate("window.__lastNote.dispatchEvent(new Event('click'))")
    expect(page.page).to_have_url(f"{page.base_url}/dm/bob/")
    page.wait_connected()
    expect(page.page).to_have_title("bob · Chat")

    # Muted: no count in the title, no notification.
    mute = page.page.locator("#mute-button")
    mute.click()
    expect(mute).to_have_attribute("aria-pressed", "true")
    page.open("/rooms/lobby/")
    page.wait_connected()
    hide_tab(page)
    say(live, bob, "muted one", to="alice")
    badge = page.page.locator("li[data-key='dm:bob'] .badge")
    expect(badge).to_have_attribute("data-unread", "1")
    expect(page.page).to_have_title("lobby · Chat")
    page.page.wait_for_timeout(500)
    assert page.page.evaluate("window.__notes.length") == 0
    assert page.errors == []


def test_enable_notifications_is_a_button_never_asked_on_load(visitor, make_user):
    """Permission is asked only when the button is pressed."""
    make_user("alice")
    page = visitor("alice")
    page.log_in("/")
    button = page.page.locator("#enable-notifications")
    expect(button).to_be_visible()
    assert page.page.evaluate("Notification.permission") == "default"


def test_phone_drawer_one_line_top_bar_and_quick_switcher(
    visitor, make_user, make_room
):
    """At 375 px the sidebar is a drawer; Ctrl+K finds a room or a person."""
    alice = make_user("alice")
    make_user("bob")
    make_user("bobby")
    make_room("lobby", owner=alice)
    make_room("garden", owner=alice)
    page = visitor("alice", viewport={"width": 375, "height": 740})
    page.log_in("/rooms/lobby/")
    sidebar = page.page.locator("#sidebar")
    expect(sidebar).not_to_be_in_viewport()
    topbar = page.page.locator(".topbar").bounding_box()
    assert topbar["height"] <= 56
    composer = page.page.locator("#composer").bounding_box()
    assert composer["y"] + composer["height"] <= 740
    assert page.page.evaluate("document.documentElement.scrollWidth") <= 375
    page.page.locator("#drawer-button").click()
    expect(sidebar).to_be_in_viewport()
    drawer = page.page.locator("#drawer-button")
    expect(drawer).to_have_attribute("aria-expanded", "true")
    page.shot("drawer-375")
    page.page.keyboard.press("Escape")
    expect(sidebar).not_to_be_in_viewport()
    page.page.locator("#drawer-button").click()
    sidebar.locator("a[href='/rooms/garden/']").click()
    expect(page.page).to_have_url(f"{page.base_url}/rooms/garden/")
    page.wait_connected()

    page.page.keyboard.press("Control+k")
    box = page.page.locator("#switcher-input")
    expect(box).to_be_focused()
    box.fill("bob")
    options = page.page.locator("#switcher-results [role=option] .name")
    expect(options).to_have_text(["bob", "bobby"])
    page.page.keyboard.press("ArrowDown")
    page.page.keyboard.press("Enter")
    expect(page.page).to_have_url(f"{page.base_url}/dm/bobby/")
    page.wait_connected()
    page.page.keyboard.press("Control+k")
    page.page.locator("#switcher-input").fill("lob")
    expect(options).to_have_text(["lobby"])
    page.page.keyboard.press("Enter")
    expect(page.page).to_have_url(f"{page.base_url}/rooms/lobby/")
    assert page.errors == []


CONTRAST = """
(selector) => {
  const parse = (c) => c.match(/[\\d.]+/g).slice(0, 3).map(Number);
  const lum = ([r, g, b]) => {
    const f = (v) => {
      v /= 255;
      return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
    };
    return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
  };
  const bgOf = (node) => {
    while (node) {
      const bg = getComputedStyle(node).backgroundColor;
      const clear = bg.startsWith("rgba(0, 0, 0, 0)") || bg === "transparent";
      if (bg && !clear) return parse(bg);
      node = node.parentElement;
    }
    return [255, 255, 255];
  };
  const node = document.querySelector(selector);
  const a = lum(parse(getComputedStyle(node).color));
  const b = lum(bgOf(node));
  return (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
}
"""


@pytest.mark.parametrize("scheme", ["dark", "light"])
def test_themes_follow_the_system_with_readable_contrast(
    visitor, make_user, make_room, scheme
):
    """prefers-color-scheme picks the theme; text keeps 4.5:1 or more (WCAG AA)."""
    alice, bob = make_user("alice"), make_user("bob")
    make_room("lobby", owner=alice, members=[bob])
    off_loop(send_message, sender=bob, room="lobby", body="hello")
    off_loop(send_message, sender=bob, to="alice", body="hi")
    page = visitor("alice", color_scheme=scheme)
    page.log_in("/rooms/lobby/")
    expect(page.messages()).to_have_count(1)
    background = page.page.evaluate("getComputedStyle(document.body).backgroundColor")
    channels = [int(v) for v in re.findall(r"\d+", background)[:3]]
    assert (sum(channels) < 150) == (scheme == "dark"), background
    for selector in (
        "#messages .body p",
        "#messages .sender",
        "#messages time",
        ".sidebar h2",
        "li[data-key='dm:bob'] .badge",
        "#connection-state",
        ".composer .helptext",
        ".day-separator",
    ):
        ratio = page.page.evaluate(CONTRAST, selector)
        assert ratio >= 4.5, (scheme, selector, ratio)
    page.shot(f"room-{scheme}")
