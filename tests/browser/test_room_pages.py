"""Rooms in the browser: the settings panel, the list's names, the join notice.

The settings panel calls the room-management API of issue 13 (PATCH room,
members add/remove/role, leave, delete, `room.left`/`room.updated` frames);
the tests marked `needs_room_api` pass once that branch is merged.
"""

import pytest
from playwright.sync_api import expect

from chat.models import Conversation, Membership
from tests.browser.test_app_shell import say

pytestmark = pytest.mark.e2e

LONG = "Quarterly planning for the north-east regional office"


def open_details(person) -> None:
    person.page.locator("#details-button").click()
    expect(person.page.locator("#details")).to_be_visible()


def test_owner_manages_the_room_from_the_settings_panel(visitor, make_user, make_room):
    """Owner: rename, private, add, promote, remove, errors shown; room.updated."""
    alice, bob = make_user("alice"), make_user("bob")
    make_user("carol")
    make_room("lobby", owner=alice, members=[bob])
    owner = visitor("alice")
    member = visitor("bob")
    owner.log_in("/rooms/lobby/")
    member.log_in("/rooms/lobby/")
    open_details(owner)
    open_details(member)
    expect(member.page.locator("#owner-settings")).to_be_hidden()
    expect(member.page.locator("#leave-room")).to_be_visible()
    panel = owner.page.locator("#room-settings")
    expect(owner.page.locator("#owner-settings")).to_be_visible()

    # Unknown username: the server's detail is shown in the panel.
    panel.locator("#add-member").fill("nobody-here")
    panel.locator("#add-member-form button").click()
    expect(owner.page.locator("#settings-error")).not_to_be_empty()
    panel.locator("#add-member").fill("carol")
    panel.locator("#add-member-form button").click()
    members = owner.page.locator("#members li .name")
    expect(members).to_have_text(["alice", "bob", "carol"])
    expect(owner.page.locator("#settings-error")).to_be_empty()

    # Rename and make private: both pages show it in place.
    panel.locator("#room-title").fill("Planning")
    panel.locator("#room-private").check()
    panel.locator("#rename-form button").click()
    for person in (owner, member):
        expect(person.page.locator("#conversation-title .title-text")).to_have_text(
            "Planning"
        )
        expect(person.page.locator("#private-tag")).to_be_visible()
        expect(person.page.locator("li[data-key='room:lobby'] .name")).to_have_text(
            "Planning"
        )
    expect(member.page).to_have_title("Planning · Chat")
    room = Conversation.objects.get(slug="lobby")
    assert (room.title, room.is_private) == ("Planning", True)

    # Name bob an owner, then remove carol.
    owner.page.locator("#members li[data-username=bob] .make-owner").click()
    expect(owner.page.locator("#members li[data-username=bob] .tag")).to_have_text(
        "owner"
    )
    owner.page.locator("#members li[data-username=carol] .remove-member").click()
    expect(members).to_have_text(["alice", "bob"])
    assert not Membership.objects.filter(
        conversation=room, user__username="carol"
    ).exists()
    assert owner.errors == []
    assert member.errors == []


def test_kicked_member_is_told_and_the_room_leaves_the_sidebar(
    visitor, make_user, make_room
):
    """room.left (kicked, deleted): a notice, no composer, gone from the list."""
    alice, bob = make_user("alice"), make_user("bob")
    make_room("lobby", owner=alice, members=[bob])
    make_room("den", owner=alice, members=[bob])
    owner, member = visitor("alice"), visitor("bob")
    owner.log_in("/rooms/lobby/")
    member.log_in("/rooms/lobby/")
    open_details(owner)
    owner.page.locator("#members li[data-username=bob] .remove-member").click()
    expect(member.page.locator(".left-notice")).to_have_text(
        "You were removed from this room."
    )
    expect(member.page.locator("#message-body")).to_be_disabled()
    expect(member.page.locator("li[data-key='room:lobby']")).to_have_count(0)

    member.open("/rooms/den/")
    member.wait_connected()
    owner.open("/rooms/den/")
    owner.wait_connected()
    open_details(owner)
    owner.page.locator("#delete-room").click()
    owner.page.locator("#delete-room-confirm").click()
    expect(owner.page).to_have_url(f"{owner.base_url}/")
    expect(member.page.locator(".left-notice")).to_have_text("This room was deleted.")
    expect(member.page.locator("li[data-key='room:den']")).to_have_count(0)
    assert not Conversation.objects.filter(slug="den").exists()


def test_a_member_leaves_from_the_panel(visitor, make_user, make_room):
    """Leave: back home, the room gone from the list, the membership gone."""
    alice, bob = make_user("alice"), make_user("bob")
    make_room("lobby", owner=alice, members=[bob])
    member = visitor("bob")
    member.log_in("/rooms/lobby/")
    open_details(member)
    member.page.locator("#leave-room").click()
    expect(member.page).to_have_url(f"{member.base_url}/")
    expect(member.page.locator("li[data-key='room:lobby']")).to_have_count(0)
    assert not Membership.objects.filter(user=bob).exists()


@pytest.mark.parametrize("width", [1280, 375])
def test_long_names_stay_readable_with_tag_badge_and_time(
    visitor, live, make_user, make_room, width
):
    """A private room with unread and a time: a readable name, a one-line badge."""
    alice, bob = make_user("alice"), make_user("bob")
    room = make_room("plans", owner=alice, members=[bob], private=True)
    Conversation.objects.filter(pk=room.pk).update(title=LONG)
    make_room("lobby", owner=alice)
    for n in range(12):
        say(live, bob, f"news {n}", room="plans")
    page = visitor("alice", viewport={"width": width, "height": 800})
    page.log_in("/")
    if width == 1280:
        page.open("/rooms/lobby/")
        page.wait_connected()
    item = page.page.locator("li[data-key='room:plans']")
    expect(item.locator(".badge")).to_have_attribute("data-unread", "12")
    expect(item.locator(".tag")).to_have_text("private")
    expect(item.locator(".name")).to_be_visible()
    # Measured in one go: the list is redrawn as news arrives, and an item
    # replaced between finding and measuring it measures as nothing: again.
    for _ in range(20):
        boxes = item.evaluate(
            "(li) => Object.fromEntries(['.name', '.badge', '.tag', 'a'].map("
            "(s) => [s, li.querySelector(s).getBoundingClientRect().toJSON()]))"
        )
        if boxes[".name"]["height"] > 0:
            break
        page.page.wait_for_timeout(100)
    name, badge, tag, line = (boxes[s] for s in (".name", ".badge", ".tag", "a"))
    assert name["width"] >= 80, name  # about ten characters, not one
    assert badge["height"] <= 24, badge  # one line
    assert tag["height"] <= 24, tag
    assert line["height"] <= 56, line  # the name, then tag and time below it
    assert page.page.evaluate("document.documentElement.scrollWidth") <= width
    page.shot(f"list-{width}")


def test_joined_notice_keeps_the_composer_in_view_and_goes_away(
    visitor, make_user, make_room
):
    """After Join, the notice floats, the composer stays in view, the notice leaves."""
    owner = make_user("owner")
    make_room("open-room", owner=owner)
    for name, width, height in (("dave", 1280, 720), ("erin", 375, 667)):
        make_user(name)
        page = visitor(name, viewport={"width": width, "height": height})
        page.log_in("/")
        page.open("/rooms/open-room/")
        page.page.locator("#join-room").click()
        page.wait_connected()
        expect(page.page.locator("#notices")).to_contain_text("You joined")
        composer = page.page.locator("#composer").bounding_box()
        assert composer["y"] + composer["height"] <= height, (width, composer)
        expect(page.page.locator("#notices")).to_have_count(0, timeout=10_000)
