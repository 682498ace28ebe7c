"""Two people chat through the pages in a real browser.

Each test signs its people up through the sign-up page, in browser contexts of
their own (bob's browser asks for Chinese), and checks what they see.
"""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect

from chat.models import Message
from chat.selectors import room_owner
from chat.services.messages import send_message
from tests.browser.conftest import off_loop
from tests.browser.proxy import FreezableProxy

pytestmark = pytest.mark.e2e

XSS = "<img src=x onerror=alert(1)>"
BACKLOG = 250


def create_room(person, slug: str) -> None:
    """Create a public room from the home page; it opens the room's page."""
    form = person.page.locator("section[aria-labelledby=create-heading] form")
    form.locator("#id_slug").fill(slug)
    form.locator("button[type=submit]").click()
    expect(person.page).to_have_url(f"{person.base_url}/rooms/{slug}/")
    person.wait_connected()


def join_room(person, slug: str) -> None:
    """Join a public room from the home page's list of rooms to join."""
    person.open("/")
    person.page.locator(f"form[action='/rooms/{slug}/join/'] button").click()
    expect(person.page).to_have_url(f"{person.base_url}/rooms/{slug}/")
    person.wait_connected()


def open_direct(person, username: str) -> None:
    """Start a direct conversation by username from the home page."""
    person.open("/")
    form = person.page.locator("section[aria-labelledby=direct-heading] form")
    form.locator("#id_username").fill(username)
    form.locator("button[type=submit]").click()
    expect(person.page).to_have_url(f"{person.base_url}/dm/{username}/")
    person.wait_connected()


def unread_badge(person, key: str):
    return person.page.locator(f"li[data-key='{key}'] .badge")


def test_two_people_chat_in_a_room_and_directly(visitor):
    """Sign up, chat both ways in a room and directly, typing, unread, escaping."""
    alice = visitor("alice")
    bob = visitor("bob", locale="zh-CN", timezone_id="Asia/Shanghai")
    alice.sign_up()
    bob.sign_up()
    expect(bob.page.locator("html")).to_have_attribute("lang", "zh-hans")
    expect(bob.page.locator("h1")).to_have_text("你的会话")

    create_room(alice, "lobby")
    join_room(bob, "lobby")
    expect(alice.page.locator("#members")).to_contain_text("alice")

    # Typing shows on the other side, in the reader's language.
    alice.page.locator("#message-body").press_sequentially("hel", delay=30)
    expect(bob.page.locator("#typing")).to_have_text("alice 正在输入…")
    alice.send("hello bob, see https://example.com/docs.")
    for person in (alice, bob):
        expect(
            person.message_with("hello bob, see https://example.com/docs.")
        ).to_have_count(1)
    # Times in the reader's zone: bob's browser is in Shanghai (UTC+8).
    when = bob.page.locator("#messages li.message[data-id] time").last
    sent_at = datetime.fromisoformat(when.get_attribute("datetime"))
    shanghai = sent_at.astimezone(ZoneInfo("Asia/Shanghai")).strftime("%H:%M")
    expect(when).to_have_text(shanghai)
    link = bob.page.locator("#messages a[href='https://example.com/docs']")
    expect(link).to_have_attribute("rel", "noopener noreferrer nofollow")
    expect(link).to_have_attribute("target", "_blank")
    # A message from the typist clears the indicator.
    expect(bob.page.locator("#typing")).to_have_text("")

    box = bob.page.locator("#message-body")
    box.press_sequentially("你吃饭了没?", delay=30)
    expect(alice.page.locator("#typing")).to_have_text("bob is typing…")
    # Shift+Enter makes a new line; Enter sends.
    box.press("Shift+Enter")
    box.press_sequentially("第二行")
    box.press("Enter")
    for person in (alice, bob):
        expect(person.message_with("你吃饭了没?\n第二行")).to_have_count(1)
    expect(alice.page.locator("#members")).to_contain_text("bob")

    # Markup is text: shown as typed, and nothing runs.
    alice.send(XSS)
    for person in (alice, bob):
        expect(person.message_with(XSS)).to_have_count(1)
        expect(person.page.locator("#messages img")).to_have_count(0)
    alice.shot("room")
    bob.shot("room-zh-hans")

    # A direct message: alice, still in the room, sees an unread count rise.
    open_direct(bob, "alice")
    bob.send("psst, alice")
    expect(unread_badge(alice, "dm:bob")).to_have_attribute("data-unread", "1")
    bob.send("are you there?")
    expect(unread_badge(alice, "dm:bob")).to_have_attribute("data-unread", "2")
    alice.open("/")
    alice.wait_connected()
    expect(unread_badge(alice, "dm:bob")).to_have_attribute("data-unread", "2")
    alice.shot("home")

    # Reading clears it, and alice answers.
    alice.page.locator("#direct-list a[href='/dm/bob/']").click()
    expect(alice.page).to_have_url(f"{alice.base_url}/dm/bob/")
    alice.wait_connected()
    expect(alice.message_with("are you there?")).to_have_count(1)
    expect(unread_badge(alice, "dm:bob")).to_have_count(0)
    alice.page.locator("#message-body").press_sequentially("yes", delay=30)
    expect(bob.page.locator("#typing")).to_have_text("alice 正在输入…")
    alice.send("yes, here")
    expect(bob.message_with("yes, here")).to_have_count(1)
    expect(alice.message_with("yes, here")).to_have_count(1)
    alice.shot("direct")
    bob.shot("direct-zh-hans")

    # Bob read the room to its end while he was there.
    expect(bob.page.locator("li[data-key='room:lobby']")).to_have_count(1)
    expect(unread_badge(bob, "room:lobby")).to_have_count(0)
    alice.open("/")
    expect(unread_badge(alice, "dm:bob")).to_have_count(0)

    for person in (alice, bob):
        assert person.dialogs == []
        assert person.errors == []


def test_pages_for_strangers_phones_and_logins(visitor, make_room, make_user):
    """Join button, a closed private room, login and back, a phone-sized room."""
    owner = make_user("owner")
    make_room("open-room", owner=owner)
    make_room("vault", owner=owner, private=True)
    off_loop(send_message, sender=owner, room="vault", body="the vault's secret")

    carol = visitor("carol", viewport={"width": 390, "height": 844})
    carol.open("/rooms/open-room/")
    expect(carol.page).to_have_url(
        f"{carol.base_url}/accounts/login/?next=/rooms/open-room/"
    )
    carol.shot("login")
    carol.page.locator("main a[href*='signup']").click()
    carol.page.locator("#id_username").fill("carol")
    carol.page.locator("#id_password1").fill("correct horse battery staple")
    carol.page.locator("#id_password2").fill("correct horse battery staple")
    carol.page.locator("main form button[type=submit]").click()
    # Back where she was going: a public room she is not in offers to join.
    expect(carol.page).to_have_url(f"{carol.base_url}/rooms/open-room/")
    join = carol.page.locator("#join-room")
    expect(join).to_be_visible()
    carol.shot("join")

    response = carol.open("/rooms/vault/")
    # Every page here works under the policy the security work sets.
    assert response.headers["content-security-policy"].startswith("default-src 'self'")
    expect(carol.page.locator("h1")).to_have_text("Private room")
    expect(carol.page.locator("body")).not_to_contain_text("the vault's secret")
    carol.shot("private")

    carol.open("/rooms/nowhere/")
    carol.shot("not-found")

    # A room with a long history: the newest page first, older ones on scrolling up.
    for n in range(60):
        off_loop(send_message, sender=owner, room="open-room", body=f"old {n}")
    carol.open("/rooms/open-room/")
    carol.page.locator("#join-room").click()
    carol.wait_connected()
    expect(carol.messages()).to_have_count(50)
    expect(carol.message_with("old 59")).to_have_count(1)
    carol.page.locator("#log").evaluate("(log) => { log.scrollTop = 0; }")
    expect(carol.messages()).to_have_count(60)
    expect(carol.message_with("old 0")).to_have_count(1)
    carol.page.locator("#log").evaluate(
        "(log) => { log.scrollTop = log.scrollHeight; }"
    )
    carol.send("from a phone")
    expect(carol.message_with("from a phone")).to_have_count(1)
    # The server refuses a message (too long: the box's maxlength is bypassed
    # here): it shows as failed, with a retry that asks again.
    box = carol.page.locator("#message-body")
    box.evaluate("(box) => { box.value = 'x'.repeat(4001); }")
    box.press("Enter")
    failed = carol.page.locator("#messages li.message.failed")
    expect(failed).to_have_count(1)
    expect(failed.locator(".status")).to_contain_text("Not sent: Too long")
    failed.locator("button.retry").click()
    expect(failed).to_have_count(1)
    expect(carol.page.locator("#messages li.message[data-id]")).to_have_count(61)
    # Nothing sticks out sideways on a phone.
    width = carol.page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390
    carol.shot("room-phone")
    assert carol.errors == []


def test_a_server_restart_loses_nothing_and_shows_nothing_twice(visitor, live):
    """Messages sent before, during and after a restart appear once on both pages."""
    alice, bob = visitor("alice"), visitor("bob")
    alice.sign_up()
    bob.sign_up()
    create_room(alice, "lobby")
    join_room(bob, "lobby")
    alice.send("before the restart")
    expect(bob.message_with("before the restart")).to_have_count(1)

    for person in (alice, bob):
        expect(person.page.locator("#connection-state")).to_have_attribute(
            "data-sessions", "1"
        )
    live.stop()
    for person in (alice, bob):
        expect(person.page.locator("#connection-state")).not_to_have_attribute(
            "data-state", "connected"
        )
    # Written while the server is down: the pages keep them pending.
    alice.send("sent while down")
    bob.send("also sent while down")
    expect(alice.page.locator("#messages li[data-pending]")).to_have_count(1)
    alice.shot("reconnecting")
    # Stored by another path while the pages cannot hear: `sync` brings them,
    # more than one `sync` page of them (the client asks 200 at a time).
    lobby = Message.objects.get(body="before the restart").conversation
    owner = room_owner(lobby)
    off_loop(send_message, sender=owner, room="lobby", body="stored during the outage")
    Message.objects.bulk_create(
        Message(
            conversation=lobby,
            sender=owner,
            body=f"backlog {n}",
            client_id=f"b{n}",
        )
        for n in range(BACKLOG)
    )

    live.start()
    for person in (alice, bob):
        expect(person.page.locator("#connection-state")).to_have_attribute(
            "data-sessions", "2"
        )
    bodies = [
        "before the restart",
        "sent while down",
        "also sent while down",
        "stored during the outage",
    ]
    for person in (alice, bob):
        for body in [*bodies, "backlog 0", f"backlog {BACKLOG - 1}"]:
            expect(person.message_with(body)).to_have_count(1)
        expect(person.page.locator("#messages li[data-pending]")).to_have_count(0)
        expect(person.messages()).to_have_count(len(bodies) + BACKLOG)

    # After the restart, live messages still flow both ways.
    bob.send("after the restart")
    expect(alice.message_with("after the restart")).to_have_count(1)
    stored = Message.objects.exclude(body__startswith="backlog ")
    assert sorted(stored.values_list("body", flat=True)) == sorted(
        [*bodies, "after the restart"]
    )
    for person in (alice, bob):
        assert person.errors == []


@pytest.fixture
def proxy(live):
    proxy = FreezableProxy(live.port)
    yield proxy
    proxy.close()


def test_a_silent_connection_is_replaced_and_nothing_is_lost(visitor, proxy):
    """A socket that goes silent is dropped after ~2.5 heartbeats; sync and resend."""
    alice = visitor("alice", base_url=proxy.http_url)
    bob = visitor("bob")
    alice.sign_up()
    bob.sign_up()
    create_room(alice, "lobby")
    join_room(bob, "lobby")
    alice.send("before the silence")
    expect(bob.message_with("before the silence")).to_have_count(1)

    state = alice.page.locator("#connection-state")
    expect(state).to_have_attribute("data-sessions", "1")
    assert proxy.freeze_websockets() >= 1
    bob.send("said while alice hears nothing")
    alice.send("sent into the silence")
    # Heartbeats every 2 s: dead after 5 s of silence, then a new socket.
    expect(state).to_have_attribute("data-sessions", "2", timeout=12_000)
    alice.wait_connected()
    for person in (alice, bob):
        for body in (
            "before the silence",
            "said while alice hears nothing",
            "sent into the silence",
        ):
            expect(person.message_with(body)).to_have_count(1)
        expect(person.messages()).to_have_count(3)
    assert Message.objects.filter(body="sent into the silence").count() == 1


def test_a_message_never_sent_survives_a_reload(visitor):
    """Written while the socket cannot get through, then reloaded: sent once."""
    alice = visitor("alice")
    blocked = False

    def socket_route(ws) -> None:
        # Blocked: the page's socket opens but reaches nothing (no hello).
        if not blocked:
            ws.connect_to_server()

    alice.page.context.route_web_socket("**/ws/chat/", socket_route)
    alice.sign_up()
    create_room(alice, "lobby")
    blocked = True
    alice.page.reload()
    alice.send("written on the train")
    expect(alice.page.locator("#messages li[data-pending] .status")).to_have_text(
        "Waiting for the connection…"
    )
    alice.shot("not-sent-yet")
    blocked = False
    alice.page.reload()
    alice.wait_connected()
    expect(alice.message_with("written on the train")).to_have_count(1)
    expect(alice.page.locator("#messages li[data-pending]")).to_have_count(0)
    assert Message.objects.filter(body="written on the train").count() == 1
    assert alice.errors == []


def test_offline_is_shown_and_the_page_comes_back_online(visitor):
    """The browser going offline shows "offline"; back online it reconnects."""
    alice = visitor("alice")
    alice.sign_up()
    create_room(alice, "lobby")
    state = alice.page.locator("#connection-state")
    alice.page.context.set_offline(True)
    expect(state).to_have_attribute("data-state", "offline")
    expect(state).to_have_text("Offline: waiting for the network")
    alice.send("written offline")
    alice.shot("offline")
    alice.page.context.set_offline(False)
    alice.wait_connected()
    expect(alice.message_with("written offline")).to_have_count(1)
    assert Message.objects.filter(body="written offline").count() == 1
