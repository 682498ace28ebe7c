"""Messages that change, in a real browser: edit, delete, react, reply, mention.

Two people (alice, who owns the room, and bob) in browser contexts of their
own; each test checks what they see, live and after bob's browser was offline.
"""

import re
from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone
from playwright.sync_api import expect

from chat.services.changes import prune_changes
from tests.browser.conftest import off_loop
from tests.browser.test_chat_pages import create_room, join_room

pytestmark = pytest.mark.e2e


def in_a_room(visitor, slug="lobby"):
    alice = visitor("alice")
    bob = visitor("bob")
    alice.sign_up()
    bob.sign_up()
    create_room(alice, slug)
    join_room(bob, slug)
    return alice, bob


def message(person, text: str):
    """The stored message whose body holds `text`."""
    return person.page.locator("#messages li.message[data-id]").filter(
        has=person.page.locator(".body", has_text=text)
    )


def go_offline(person) -> None:
    """The browser loses the network: the page says so and its socket is gone."""
    person.page.context.set_offline(True)
    expect(person.page.locator("#connection-state")).to_have_attribute(
        "data-state", "offline"
    )


def body_of(person, text: str):
    return message(person, text).locator(".body")


def act(person, text: str, action: str):
    """Hover the message and click one of its actions (Edit, Delete, Reply…)."""
    item = message(person, text)
    item.hover()
    item.locator(".actions").get_by_role("button", name=action, exact=True).click()


def test_an_edit_shows_live_with_edited_and_up_edits_my_last(visitor):
    """Up on an empty composer edits my last message; Enter saves, Escape cancels;
    both see the new text followed by (edited), bob without reloading."""
    alice, bob = in_a_room(visitor)
    alice.send("helo bob")
    expect(body_of(bob, "helo bob")).to_have_text("helo bob")

    box = alice.page.locator("#message-body")
    box.press("ArrowUp")
    editor = message(alice, "helo bob").locator(".edit-box")
    expect(editor).to_be_focused()
    expect(editor).to_have_value("helo bob")
    editor.fill("never mind")
    editor.press("Escape")
    expect(body_of(alice, "helo bob")).to_have_text("helo bob")
    expect(alice.page.locator(".edit-box")).to_have_count(0)

    act(alice, "helo bob", "Edit")
    editor = alice.page.locator(".edit-box")
    editor.fill("hello bob")
    editor.press("Enter")
    for person in (alice, bob):
        expect(body_of(person, "hello bob")).to_have_text("hello bob (edited)")
        expect(message(person, "hello bob").locator(".edited")).to_be_visible()
    # Only my own messages offer Edit.
    item = message(bob, "hello bob")
    item.hover()
    expect(item.get_by_role("button", name="Edit", exact=True)).to_have_count(0)
    assert alice.errors == []
    assert bob.errors == []


def test_a_deletion_asks_first_and_leaves_a_tombstone_for_everyone(visitor):
    """Delete asks to confirm; the message becomes "This message was deleted",
    muted, without reactions or actions, for both; an owner may delete bob's."""
    alice, bob = in_a_room(visitor)
    alice.send("a secret")
    bob.send("bob was here")
    expect(body_of(bob, "a secret")).to_be_visible()
    # bob reacts first: a tombstone has no reactions.
    act(bob, "a secret", "Add a reaction")
    bob.page.get_by_role("button", name="React with 👍").click()
    expect(message(alice, "a secret").locator(".reaction")).to_have_count(1)

    # Not bob's message: he may not delete it.
    item = message(bob, "a secret")
    item.hover()
    expect(item.get_by_role("button", name="Delete", exact=True)).to_have_count(0)

    act(alice, "a secret", "Delete")
    confirm = message(alice, "a secret").locator(".confirm-delete")
    expect(confirm).to_contain_text("Delete this message for everyone?")
    confirm.get_by_role("button", name="Cancel").click()
    expect(confirm).to_have_count(0)
    expect(body_of(bob, "a secret")).to_be_visible()

    act(alice, "a secret", "Delete")
    alice.page.locator(".confirm-delete").get_by_role("button", name="Delete").click()
    for person in (alice, bob):
        tombstone = person.page.locator("#messages li.message.deleted")
        expect(tombstone).to_have_count(1)
        expect(tombstone.locator(".body")).to_have_text("This message was deleted")
        expect(tombstone.locator(".reaction")).to_have_count(0)
        tombstone.hover()
        expect(tombstone.locator(".actions")).to_have_count(0)
        expect(person.page.locator("#messages")).not_to_contain_text("a secret")

    # alice owns the room: she may delete bob's message too.
    act(alice, "bob was here", "Delete")
    alice.page.locator(".confirm-delete").get_by_role("button", name="Delete").click()
    expect(bob.page.locator("#messages li.message.deleted")).to_have_count(2)


def test_reactions_count_show_who_and_toggle_mine(visitor):
    """The picker adds a reaction; chips count, mine is pressed, the tooltip names
    who reacted, clicking a chip toggles mine; live on both sides."""
    alice, bob = in_a_room(visitor)
    alice.send("lunch at noon?")
    act(bob, "lunch at noon?", "Add a reaction")
    picker = bob.page.get_by_role("dialog", name="Add a reaction")
    for emoji in ("👍", "❤️", "😂", "🎉", "😮", "😢", "🙏", "👀"):
        expect(picker.get_by_role("button", name=f"React with {emoji}")).to_be_visible()
    picker.get_by_role("button", name="React with 🎉").click()
    expect(picker).to_have_count(0)

    for person, pressed in ((alice, "false"), (bob, "true")):
        chip = message(person, "lunch at noon?").locator(".reaction")
        expect(chip).to_have_text("🎉1")
        expect(chip).to_have_attribute("aria-pressed", pressed)
        expect(chip).to_have_attribute("title", "bob reacted with 🎉")

    message(alice, "lunch at noon?").locator(".reaction").click()
    for person in (alice, bob):
        chip = message(person, "lunch at noon?").locator(".reaction")
        expect(chip).to_have_text("🎉2")
        expect(chip).to_have_attribute(
            "title", re.compile(r"^(bob, alice|alice, bob) reacted")
        )
    expect(message(alice, "lunch at noon?").locator(".reaction")).to_have_attribute(
        "aria-pressed", "true"
    )

    message(bob, "lunch at noon?").locator(".reaction").click()
    for person in (alice, bob):
        chip = message(person, "lunch at noon?").locator(".reaction")
        expect(chip).to_have_text("🎉1")
        expect(chip).to_have_attribute("title", "alice reacted with 🎉")


def test_a_reply_quotes_its_parent_and_the_quote_leads_to_it(visitor):
    """Reply puts a quote bar over the composer; the reply shows the parent's
    sender and first line, and clicking it scrolls to and highlights the parent."""
    alice, bob = in_a_room(visitor)
    alice.send("who brings the cake?\nand the candles")
    alice.send("something else")
    act(bob, "who brings the cake?", "Reply")
    bar = bob.page.locator("#reply-bar")
    expect(bar).to_have_text(re.compile("Replying to alice: who brings the cake?"))
    bob.send("I do")
    expect(bar).to_be_hidden()
    for person in (alice, bob):
        quote = message(person, "I do").locator(".quote")
        expect(quote.locator(".quote-sender")).to_have_text("alice")
        expect(quote.locator(".quote-text")).to_have_text("who brings the cake?")
    message(alice, "I do").locator(".quote").click()
    expect(message(alice, "who brings the cake?")).to_have_class(
        re.compile(r"\bhighlight\b")
    )
    expect(message(alice, "who brings the cake?")).to_be_in_viewport()

    # The parent's edit reaches its quote too.
    act(alice, "who brings the cake?", "Edit")
    editor = alice.page.locator(".edit-box")
    editor.fill("who brings the pie?")
    editor.press("Enter")
    expect(message(bob, "I do").locator(".quote-text")).to_have_text(
        "who brings the pie?"
    )


def test_mentions_complete_highlight_and_count_in_the_sidebar(visitor):
    """@ lists members as you type, Tab picks; the mention of me is highlighted
    and counted apart from unread in my sidebar."""
    alice, bob = in_a_room(visitor)
    alice.open("/")
    alice.wait_connected()
    box = bob.page.locator("#message-body")
    box.press_sequentially("look @al")
    options = bob.page.locator("#message-body-mentions").get_by_role("option")
    expect(options).to_have_text(["@alice", "@all everyone here"])
    box.press("Tab")
    expect(box).to_have_value("look @alice ")
    box.press_sequentially("at this")
    box.press("Enter")
    expect(body_of(bob, "look")).to_have_text("look @alice at this")

    room = alice.page.locator("li[data-key='room:lobby']")
    expect(room.locator(".badge.mention")).to_have_text("@1 mention")
    expect(room.locator(".badge:not(.mention)")).to_have_text("1 unread")

    alice.open("/rooms/lobby/")
    alice.wait_connected()
    mention = message(alice, "look").locator(".mention.me")
    expect(mention).to_have_text("@alice")
    expect(message(alice, "look")).to_have_class(re.compile(r"\bmentions-me\b"))
    expect(room.locator(".badge")).to_have_count(0)


def test_changes_while_offline_show_after_reconnect(visitor):
    """bob's browser goes offline; alice edits, reacts and deletes; when bob is
    back, his page shows all three without a reload."""
    alice, bob = in_a_room(visitor)
    alice.send("first draft")
    alice.send("to be removed")
    alice.send("react to me")
    expect(body_of(bob, "react to me")).to_be_visible()

    go_offline(bob)
    act(alice, "first draft", "Edit")
    editor = alice.page.locator(".edit-box")
    editor.fill("final text")
    editor.press("Enter")
    expect(body_of(alice, "final text")).to_have_text("final text (edited)")
    act(alice, "react to me", "Add a reaction")
    alice.page.get_by_role("button", name="React with 👀").click()
    expect(message(alice, "react to me").locator(".reaction")).to_have_text("👀1")
    act(alice, "to be removed", "Delete")
    alice.page.locator(".confirm-delete").get_by_role("button", name="Delete").click()
    expect(alice.page.locator("#messages li.message.deleted")).to_have_count(1)
    expect(body_of(bob, "first draft")).to_have_text("first draft")

    bob.page.context.set_offline(False)
    bob.wait_connected()
    expect(body_of(bob, "final text")).to_have_text("final text (edited)")
    expect(message(bob, "react to me").locator(".reaction")).to_have_text("👀1")
    expect(bob.page.locator("#messages li.message.deleted .body")).to_have_text(
        "This message was deleted"
    )
    expect(bob.page.locator("#messages")).not_to_contain_text("to be removed")


def test_a_page_away_past_the_kept_changes_reloads_its_history(visitor):
    """Changes pruned while bob was offline: sync.reset, and his page draws the
    history again, edited as it is now, instead of keeping a silent gap."""
    alice, bob = in_a_room(visitor)
    alice.send("old words")
    expect(body_of(bob, "old words")).to_be_visible()

    go_offline(bob)
    act(alice, "old words", "Edit")
    editor = alice.page.locator(".edit-box")
    editor.fill("new words")
    editor.press("Enter")
    expect(body_of(alice, "new words")).to_have_text("new words (edited)")
    later = timezone.now() + timedelta(days=settings.CHAT_CHANGE_RETENTION_DAYS + 1)
    assert off_loop(prune_changes, now=later) >= 1

    bob.page.context.set_offline(False)
    bob.wait_connected()
    expect(body_of(bob, "new words")).to_have_text("new words (edited)")
    expect(bob.page.locator("#messages li.message[data-id]")).to_have_count(1)
