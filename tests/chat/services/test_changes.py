"""chat.services.changes and chat.change_feed: edits, deletions, reactions and
the change sequence a client catches up from."""

from datetime import timedelta

import pytest
from django.utils import timezone

from chat import change_feed
from chat.change_feed import ChangesExpired, changes_after, last_change_id
from chat.models import ChangeHorizon, Message, MessageChange, MessageRevision
from chat.services.changes import (
    prune_changes,
    store_deletion,
    store_edit,
    store_reaction,
)
from chat.services.messages import store_message
from tests.chat.services.support import assert_refused

pytestmark = pytest.mark.django_db


@pytest.fixture
def said(alice, lobby) -> Message:
    """alice's message in the lobby (bob is a member)."""
    return store_message(sender=alice, room="lobby", body="helo", client_id="m1")[0]


# --- edits ------------------------------------------------------------------------


def test_an_edit_replaces_the_body_and_keeps_the_old_one(alice, said):
    stored = store_edit(user=alice, message_id=said.id, body="hello")
    said.refresh_from_db()
    assert said.body == "hello"
    assert said.edited_at is not None
    assert list(MessageRevision.objects.values_list("body", flat=True)) == ["helo"]
    change = MessageChange.objects.get()
    assert stored.change == change
    assert change_feed.change_payload(change) == {
        "type": "message.edited",
        "id": said.id,
        "room": "lobby",
        "recipient": None,
        "body": "hello",
        "edited_at": change.frame["edited_at"],
        "change_id": change.id,
    }
    assert change.frame["edited_at"].endswith("Z")


def test_only_the_sender_edits(bob, said):
    assert_refused("forbidden", store_edit, user=bob, message_id=said.id, body="x")
    assert not MessageChange.objects.exists()


def test_a_stranger_is_told_there_is_no_such_message(carol, said):
    """Not a member: the same answer as for an id that does not exist."""
    assert_refused("not_found", store_edit, user=carol, message_id=said.id, body="x")
    assert_refused("not_found", store_edit, user=carol, message_id=10**9, body="x")


@pytest.mark.parametrize("bad", ["57", None, True, -1, 0, 1.5])
def test_an_id_that_is_no_message_id_is_not_found(alice, said, bad):
    assert_refused("not_found", store_edit, user=alice, message_id=bad, body="x")


def test_an_edit_follows_the_body_rules(alice, said):
    assert_refused("empty", store_edit, user=alice, message_id=said.id, body="  ")
    assert_refused(
        "too_long", store_edit, user=alice, message_id=said.id, body="x" * 4001
    )
    said.refresh_from_db()
    assert said.body == "helo"


def test_too_late_to_edit(alice, said, settings):
    settings.CHAT_EDIT_WINDOW_SECONDS = 60
    Message.objects.filter(pk=said.pk).update(
        created_at=timezone.now() - timedelta(seconds=61)
    )
    assert_refused("edit_window", store_edit, user=alice, message_id=said.id, body="x")
    settings.CHAT_EDIT_WINDOW_SECONDS = 0  # no limit
    store_edit(user=alice, message_id=said.id, body="x")


# --- deletions --------------------------------------------------------------------


def test_a_deleted_message_is_a_tombstone(alice, bob, said):
    store_reaction(user=bob, message_id=said.id, emoji="👍", add=True)
    store_edit(user=alice, message_id=said.id, body="hello")
    stored = store_deletion(user=alice, message_id=said.id)
    said.refresh_from_db()
    assert (said.body, said.reactions, said.deleted_by) == ("", [], alice)
    assert not MessageRevision.objects.exists()
    assert change_feed.change_payload(stored.change) == {
        "type": "message.deleted",
        "id": said.id,
        "room": "lobby",
        "recipient": None,
        "change_id": stored.change.id,
    }
    # Gone for every later change.
    assert_refused("not_found", store_edit, user=alice, message_id=said.id, body="x")
    assert_refused(
        "not_found", store_reaction, user=bob, message_id=said.id, emoji="👍", add=True
    )
    assert_refused("not_found", store_deletion, user=alice, message_id=said.id)


def test_who_may_delete(make_user, alice, bob, lobby):
    """The sender, the room's owner and staff; not another member."""
    mine = store_message(sender=bob, room="lobby", body="b", client_id="b1")[0]
    theirs = store_message(sender=alice, room="lobby", body="a", client_id="a1")[0]
    assert_refused("forbidden", store_deletion, user=bob, message_id=theirs.id)
    store_deletion(user=alice, message_id=mine.id)  # alice owns the lobby
    staff = make_user("root", is_staff=True)  # not even a member
    store_deletion(user=staff, message_id=theirs.id)
    assert Message.objects.filter(deleted_at__isnull=False).count() == 2


# --- reactions --------------------------------------------------------------------


def test_reactions_are_the_whole_state_per_emoji(alice, bob, said):
    store_reaction(user=alice, message_id=said.id, emoji="👍", add=True)
    stored = store_reaction(user=bob, message_id=said.id, emoji="👍", add=True)
    store_reaction(user=bob, message_id=said.id, emoji="👨‍👩‍👧", add=True)
    said.refresh_from_db()
    assert said.reactions == [
        {"emoji": "👍", "count": 2, "users": [alice.pk, bob.pk]},
        {"emoji": "👨‍👩‍👧", "count": 1, "users": [bob.pk]},
    ]
    assert stored.change.frame["reactions"] == [
        {"emoji": "👍", "count": 2, "users": [alice.pk, bob.pk]}
    ]
    store_reaction(user=alice, message_id=said.id, emoji="👍", add=False)
    said.refresh_from_db()
    assert said.reactions[0] == {"emoji": "👍", "count": 1, "users": [bob.pk]}


def test_adding_twice_or_removing_nothing_changes_nothing(alice, said):
    assert store_reaction(user=alice, message_id=said.id, emoji="🎉", add=True)
    assert store_reaction(user=alice, message_id=said.id, emoji="🎉", add=True) is None
    assert store_reaction(user=alice, message_id=said.id, emoji="👀", add=False) is None
    assert MessageChange.objects.count() == 1


@pytest.mark.parametrize("bad", ["", "a", "👍👍", "x👍", None, 7, "👍" * 40])
def test_an_emoji_is_one_emoji(alice, said, bad):
    assert_refused(
        "invalid", store_reaction, user=alice, message_id=said.id, emoji=bad, add=True
    )


def test_at_most_twenty_distinct_emoji(alice, bob, said):
    many = "😀😁😂😃😄😅😆😇😈😉😊😋😌😍😎😏😐😑😒😓"
    for emoji in many:
        store_reaction(user=alice, message_id=said.id, emoji=emoji, add=True)
    assert_refused(
        "invalid", store_reaction, user=alice, message_id=said.id, emoji="🙏", add=True
    )
    # One already there can still be added by someone else.
    store_reaction(user=bob, message_id=said.id, emoji="😀", add=True)


# --- the change sequence ----------------------------------------------------------


def test_changes_after_is_what_the_user_may_see_in_order(
    make_room, alice, bob, carol, said
):
    make_room("other", owner=carol, members=[alice])
    elsewhere = store_message(sender=carol, room="other", body="c", client_id="c1")[0]
    first = store_edit(user=alice, message_id=said.id, body="one").change
    hidden = store_edit(user=carol, message_id=elsewhere.id, body="two").change
    last = store_reaction(user=bob, message_id=said.id, emoji="👍", add=True).change
    assert changes_after(user=bob, after=0, limit=10) == ([first, last], False)
    assert changes_after(user=alice, after=0, limit=10) == (
        [first, hidden, last],
        False,
    )
    assert changes_after(user=alice, after=first.id, limit=1) == ([hidden], True)
    assert changes_after(user=bob, after=0, limit=10, message_upto=said.id - 1) == (
        [],
        False,
    )
    assert last_change_id() == last.id


def test_pruned_changes_ask_for_a_reset(alice, said, settings):
    settings.CHAT_CHANGE_RETENTION_DAYS = 30
    old = store_edit(user=alice, message_id=said.id, body="old").change
    kept = store_edit(user=alice, message_id=said.id, body="new").change
    MessageChange.objects.filter(pk=old.pk).update(
        created_at=timezone.now() - timedelta(days=31)
    )
    assert prune_changes() == 1
    assert ChangeHorizon.objects.get().pruned_through == old.id
    with pytest.raises(ChangesExpired) as info:
        changes_after(user=alice, after=old.id - 1, limit=10)
    assert (info.value.code, info.value.status) == ("changes_expired", 410)
    assert changes_after(user=alice, after=old.id, limit=10) == ([kept], False)
    assert prune_changes() == 0
    assert last_change_id() == kept.id


def test_the_last_change_id_survives_pruning_everything(alice, said):
    change = store_edit(user=alice, message_id=said.id, body="x").change
    assert prune_changes(now=timezone.now() + timedelta(days=365)) == 1
    assert last_change_id() == change.id


@pytest.mark.django_db(transaction=True)
def test_reactions_at_the_same_moment_all_count(make_user, make_room):
    """Eight members react at once: the message holds all eight, and the
    change with the highest id carries the whole state (changes to one
    message queue on its row)."""
    from concurrent.futures import ThreadPoolExecutor

    from django.db import connections

    owner = make_user("owner")
    users = [make_user(f"r{n}") for n in range(8)]
    make_room("busy", owner=owner, members=users)
    said = store_message(sender=owner, room="busy", body="x", client_id="x")[0]

    def react_as(user) -> None:
        try:
            store_reaction(user=user, message_id=said.id, emoji="🎉", add=True)
        finally:
            connections.close_all()

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(react_as, users))
    said.refresh_from_db()
    everyone = sorted(user.pk for user in users)
    assert sorted(said.reactions[0]["users"]) == everyone
    last = MessageChange.objects.order_by("-id").first()
    assert sorted(last.frame["reactions"][0]["users"]) == everyone
