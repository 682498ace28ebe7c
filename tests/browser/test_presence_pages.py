"""Presence on the pages in a real browser: the dot on avatars and in the
member list, "last seen" on hover, live; away after a while without input
(shortened here to 2 s), online again on the next input."""

import re

import pytest
from playwright.sync_api import expect

from accounts.models import User
from tests.live import DaphneServer

pytestmark = pytest.mark.e2e


@pytest.fixture
def live(transactional_db, tmp_path):
    """The pages' daphne with presence on, away after 2 s, a 1 s grace."""
    server = DaphneServer(
        tmp_path / "daphne.log",
        CHAT_HEARTBEAT_SECONDS="2",
        CHAT_MEDIA_ROOT=str(tmp_path / "media"),
        CHAT_PRESENCE_ENABLED="1",
        CHAT_PRESENCE_AWAY_SECONDS="2",
        CHAT_PRESENCE_GRACE_SECONDS="1",
        CHAT_PRESENCE_DEBOUNCE_SECONDS="0",
    )
    server.start()
    yield server
    server.stop()


def test_the_dot_follows_a_member_online_away_and_offline(visitor):
    alice = visitor("alice")
    bob = visitor("bob")
    alice.sign_up()
    bob.sign_up()
    form = alice.page.locator("section[aria-labelledby=create-heading] form")
    form.locator("#id_slug").fill("lobby")
    form.locator("button[type=submit]").click()
    alice.wait_connected()
    bob.open("/")
    bob.page.locator("form[action='/rooms/lobby/join/'] button").click()
    expect(bob.page).to_have_url(f"{bob.base_url}/rooms/lobby/")
    bob.wait_connected()
    bob_id = User.objects.get(username="bob").pk
    alice.open("/rooms/lobby/")  # its member list with bob in it
    alice.wait_connected()

    # In alice's member list, bob's avatar has a dot: online.
    dot = alice.page.locator(f"#members [data-user='{bob_id}']")
    expect(dot).to_have_attribute("data-presence", "online", timeout=10_000)
    expect(dot).to_have_attribute("title", "Online")
    # His message's avatar too.
    bob.send("hello")
    on_message = alice.page.locator(f"#messages li.message [data-user='{bob_id}']")
    expect(on_message.first).to_have_attribute("data-presence", "online")
    alice.shot("presence-online")

    # Without input for 2 s bob's page says away; alice sees it, with last seen.
    expect(bob.page.locator("html")).to_have_attribute(
        "data-presence", "away", timeout=10_000
    )
    expect(dot).to_have_attribute("data-presence", "away")
    expect(dot).to_have_attribute("title", re.compile(r"^Away · last seen "))
    # Bob moves the mouse: online again.
    bob.page.mouse.move(40, 40)
    bob.page.mouse.move(80, 90)
    expect(dot).to_have_attribute("data-presence", "online")

    # Bob closes his page: offline after the grace, with when he was last seen.
    bob.page.close()
    expect(dot).to_have_attribute("data-presence", "offline", timeout=10_000)
    expect(dot).to_have_attribute("title", re.compile(r"^Offline · last seen "))
    alice.shot("presence-offline")
    assert not alice.errors
