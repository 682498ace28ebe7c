"""A screenshot of every page at 1280 and 375 px, in English and Chinese.

Written under artifacts/screenshots/ (git ignores it) for a person to look at;
the test checks only that each page drew without errors or sideways scrolling.
"""

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from chat.models import Conversation, Message
from chat.services.changes import delete_message, edit_message, react
from chat.services.messages import send_message
from tests.browser.conftest import off_loop

pytestmark = pytest.mark.e2e

CHAT = [
    ("bob", "Morning! Did anyone look at the **release notes**?"),
    ("bob", "They are in `docs/release.md`"),
    ("alice", "Yes, two things:\n\n- the _migration_ step\n- the > quote style"),
    ("carol", "> the migration step\n\nI can take that one. See https://example.com/x"),
    ("bob", "```\nmake test\n```"),
    ("alice", "我家在上海东边，明天见！"),
]


def seed(make_user, make_room) -> None:
    alice, bob, carol = make_user("alice"), make_user("bob"), make_user("carol")
    make_user("bobby")
    room = make_room("lobby", owner=alice, members=[bob, carol])
    Conversation.objects.filter(pk=room.pk).update(title="Lobby")
    plans = make_room("plans", owner=alice, members=[bob], private=True)
    Conversation.objects.filter(pk=plans.pk).update(
        title="Quarterly planning for the north-east regional office"
    )
    make_room("garden", owner=bob)
    people = {"alice": alice, "bob": bob, "carol": carol}
    start = timezone.now() - timedelta(days=1, minutes=30)
    for n, (name, body) in enumerate(CHAT):
        message, _ = off_loop(
            send_message, sender=people[name], room="lobby", body=body
        )
        at = (
            start + timedelta(minutes=n)
            if n < 3
            else timezone.now() - timedelta(minutes=10 - n)
        )
        Message.objects.filter(pk=message.pk).update(created_at=at)
    seed_changes(people)
    for n in range(3):
        off_loop(send_message, sender=bob, room="plans", body=f"plan {n}")
    off_loop(send_message, sender=bob, to="alice", body="psst, lunch?")


def seed_changes(people) -> None:
    """Changed messages: a reply that mentions alice, reactions, an edit, a deletion."""
    alice, bob, carol = people["alice"], people["bob"], people["carol"]
    parent = Message.objects.filter(sender=alice).order_by("id").first()
    reply, _ = off_loop(
        send_message,
        sender=carol,
        room="lobby",
        body="@alice I read both, looks good",
        reply_to=parent.pk,
    )
    for user, emoji in ((bob, "👍"), (alice, "👍"), (bob, "🎉")):
        off_loop(react, user=user, message_id=reply.pk, emoji=emoji, add=True)
    off_loop(edit_message, user=carol, message_id=reply.pk, body=reply.body + "!")
    gone, _ = off_loop(send_message, sender=bob, room="lobby", body="wrong room, sorry")
    off_loop(delete_message, user=bob, message_id=gone.pk)


@pytest.mark.parametrize("locale", ["en-US", "zh-CN"])
def test_a_screenshot_of_every_page(visitor, make_user, make_room, locale):
    """Home, people, room, details, switcher, DM, join, private: both widths."""
    seed(make_user, make_room)
    lang = "en" if locale == "en-US" else "zh-hans"
    for width, height in ((1280, 800), (375, 740)):
        page = visitor(
            "alice", locale=locale, viewport={"width": width, "height": height}
        )
        page.log_in("/")

        def shot(name: str, page=page, width=width) -> None:
            assert page.page.evaluate("document.documentElement.scrollWidth") <= width
            page.shot(f"{name}-{width}-{lang}")

        shot("home")
        page.open("/people/?q=bo")
        page.wait_connected()
        shot("people")
        page.open("/rooms/lobby/")
        page.wait_connected()
        expect(page.messages()).to_have_count(len(CHAT) + 2)
        shot("room")
        # A message's actions and the reaction picker, then editing in place.
        mine = page.page.locator("#messages li.message.mine").last
        mine.hover()
        mine.locator("[data-action=react]").click()
        expect(page.page.locator(".reaction-picker")).to_be_visible()
        shot("reaction-picker")
        page.page.keyboard.press("Escape")
        page.page.locator("#message-body").press("ArrowUp")
        expect(page.page.locator(".edit-box")).to_be_focused()
        shot("editing")
        page.page.keyboard.press("Escape")
        page.page.locator("#details-button").click()
        shot("room-details")
        page.page.locator("#details-close").click()
        page.page.keyboard.press("Control+k")
        page.page.locator("#switcher-input").fill("b")
        expect(
            page.page.locator("#switcher-results [role=option]").first
        ).to_be_visible()
        shot("switcher")
        page.page.keyboard.press("Escape")
        if width == 375:
            page.page.locator("#drawer-button").click()
            # The drawer slides in: take it once it is all in view.
            expect(page.page.locator(".sidebar")).to_have_css("transform", "none")
            shot("drawer")
            page.page.keyboard.press("Escape")
        page.open("/dm/bob/")
        page.wait_connected()
        shot("direct")
        page.open("/rooms/garden/")
        shot("join")
        page.open("/rooms/nowhere/")
        shot("not-found")
        assert page.errors == []
        page.page.context.close()
