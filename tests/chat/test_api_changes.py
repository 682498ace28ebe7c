"""Messages that change, over HTTP: PATCH and DELETE /api/messages/<id>/, PUT and
DELETE /api/messages/<id>/reactions/<emoji>/, and GET /api/changes/.

The services are the WebSocket's (chat.services.changes); here, what the API
answers and what a reader then sees. Live delivery of the changes is proven by
the long poll's tests (tests/chat/test_longpoll.py, tests/e2e/test_longpoll.py).
"""

from datetime import timedelta
from urllib.parse import quote

import pytest
from django.utils import timezone

from chat.api.changes import changes_page
from chat.models import Message, MessageChange
from chat.services.changes import edit_message, prune_changes, react
from chat.services.messages import send_message
from tests.chat.test_api import Api, assert_error

pytestmark = pytest.mark.django_db

THUMBS = "👍"
# One grapheme each, of several code points: a ZWJ family, a skin tone, a flag,
# a keycap, a heart with its variation selector.
CLUSTERS = ["👩\u200d👩\u200d👧", "👍🏽", "🇫🇷", "1\ufe0f\u20e3", "❤\ufe0f"]


class ChangesApi(Api):
    def patch(self, url, data=None):
        return self.client.patch(url, data, format="json")

    def put(self, url):
        return self.client.put(url)

    def delete(self, url):
        return self.client.delete(url)


@pytest.fixture
def people(make_user, make_room):
    """alice and bob in alice's room `lobby`; carol outside it."""
    alice, bob, carol = (ChangesApi(make_user(n)) for n in ("alice", "bob", "carol"))
    make_room("lobby", owner=alice.user, members=[bob.user])
    return alice, bob, carol


def post(user, body="hello", **target) -> Message:
    target = target or {"room": "lobby"}
    return send_message(sender=user, body=body, **target)[0]


def message_url(message_id) -> str:
    return f"/api/messages/{message_id}/"


def reaction_url(message_id, emoji: str) -> str:
    return f"/api/messages/{message_id}/reactions/{quote(emoji, safe='')}/"


def history(api, slug="lobby") -> dict:
    """The room's messages as the reader's history shows them, by id."""
    page = api.get(f"/api/rooms/{slug}/messages/").json()
    return {message["id"]: message for message in page["messages"]}


def changes(api, **params) -> dict:
    response = api.get("/api/changes/", params)
    assert response.status_code == 200, response.content
    return response.json()


# --- PATCH: edit ---------------------------------------------------------------


def test_edit_answers_the_message_as_it_is_now(people):
    """PATCH with a new body: 200 and the message, edited, as every frame shows it."""
    alice, bob, _ = people
    message = post(alice.user, "helo")
    response = alice.patch(message_url(message.id), {"body": "hello"})
    assert response.status_code == 200, response.content
    edited = response.json()
    assert edited["type"] == "message"
    assert (edited["id"], edited["room"], edited["body"]) == (
        message.id,
        "lobby",
        "hello",
    )
    assert edited["sender"] == {"id": alice.user.pk, "username": "alice"}
    assert edited["edited_at"] is not None
    assert edited["deleted"] is False
    assert edited["client_id"] == message.client_id
    assert history(bob)[message.id] == edited


def test_edit_of_someone_elses_message_is_forbidden(people):
    """Only the sender edits, not even the room's owner: 403 forbidden."""
    alice, bob, _ = people
    message = post(bob.user, "mine")
    assert_error(alice.patch(message_url(message.id), {"body": "no"}), 403, "forbidden")
    assert history(alice)[message.id]["body"] == "mine"


def test_edit_after_the_window_is_refused(people):
    """Too late to edit: 403 edit_window, and the body stays."""
    alice, _, _ = people
    message = post(alice.user, "old")
    Message.objects.filter(pk=message.id).update(
        created_at=timezone.now() - timedelta(hours=2)
    )
    response = alice.patch(message_url(message.id), {"body": "new"})
    assert_error(response, 403, "edit_window")
    assert history(alice)[message.id]["body"] == "old"


def test_edit_window_of_zero_is_no_limit(people, settings):
    """CHAT_EDIT_WINDOW_SECONDS = 0: a message of long ago can still be edited."""
    settings.CHAT_EDIT_WINDOW_SECONDS = 0
    alice, _, _ = people
    message = post(alice.user, "old")
    Message.objects.filter(pk=message.id).update(
        created_at=timezone.now() - timedelta(days=400)
    )
    response = alice.patch(message_url(message.id), {"body": "new"})
    assert response.status_code == 200, response.content
    assert response.json()["body"] == "new"


@pytest.mark.parametrize(
    ("data", "code"),
    [
        ({"body": ""}, "empty"),
        ({"body": "   "}, "empty"),
        ({}, "empty"),
        ({"body": "x" * 4001}, "too_long"),
        ({"body": 5}, "invalid"),
        (["body"], "invalid"),
    ],
)
def test_edit_keeps_the_body_rules_of_a_post(people, data, code):
    """An edit's body follows message.send's rules, with the same codes."""
    alice, _, _ = people
    message = post(alice.user, "kept")
    assert_error(alice.patch(message_url(message.id), data), 400, code)
    assert history(alice)[message.id]["body"] == "kept"


def test_a_message_i_cannot_see_is_not_found(people):
    """Outside the room, or no such id: the same 404 not_found, never which."""
    alice, _, carol = people
    message = post(alice.user)
    for url in (message_url(message.id), message_url(message.id + 1000)):
        assert_error(carol.patch(url, {"body": "x"}), 404, "not_found")
        assert_error(carol.delete(url), 404, "not_found")
        assert_error(carol.put(reaction_url(message.id, THUMBS)), 404, "not_found")
    assert_error(alice.patch(message_url(2**63), {"body": "x"}), 404, "not_found")


def test_a_direct_message_is_edited_by_its_sender(people):
    """In a direct conversation too; the other user sees the new body."""
    alice, bob, _ = people
    message = post(alice.user, "hi bob", to="bob")
    response = alice.patch(message_url(message.id), {"body": "hi Bob"})
    assert response.status_code == 200, response.content
    assert response.json()["recipient"] == {"id": bob.user.pk, "username": "bob"}
    page = bob.get("/api/dm/alice/messages/").json()
    assert [m["body"] for m in page["messages"]] == ["hi Bob"]


# --- DELETE: tombstones --------------------------------------------------------


def test_delete_leaves_a_tombstone(people):
    """DELETE: 204; the history keeps the id, with no body and no reactions."""
    alice, bob, _ = people
    message = post(alice.user, "oops")
    react(user=bob.user, message_id=message.id, emoji=THUMBS, add=True)
    response = alice.delete(message_url(message.id))
    assert response.status_code == 204
    assert response.content == b""
    tombstone = history(bob)[message.id]
    assert (tombstone["deleted"], tombstone["body"], tombstone["reactions"]) == (
        True,
        "",
        [],
    )


def test_the_rooms_owner_may_delete_any_message_a_member_may_not(people):
    """The owner takes bob's message down; bob may not take down the owner's."""
    alice, bob, _ = people
    bobs, alices = post(bob.user, "spam"), post(alice.user, "rules")
    assert_error(bob.delete(message_url(alices.id)), 403, "forbidden")
    assert alice.delete(message_url(bobs.id)).status_code == 204
    shown = history(bob)
    assert (shown[bobs.id]["deleted"], shown[alices.id]["deleted"]) == (True, False)


def test_staff_may_delete_any_message(people, make_user):
    """Staff delete in a room they are not in."""
    alice, _, _ = people
    message = post(alice.user)
    staff = ChangesApi(make_user("staff", is_staff=True))
    assert staff.delete(message_url(message.id)).status_code == 204
    assert history(alice)[message.id]["deleted"] is True


def test_a_deleted_message_cannot_be_edited(people):
    """A tombstone stays one: an edit is refused, the body stays empty."""
    alice, _, _ = people
    message = post(alice.user)
    alice.delete(message_url(message.id))
    response = alice.patch(message_url(message.id), {"body": "back"})
    assert response.status_code in {403, 404}, response.content
    assert history(alice)[message.id]["body"] == ""


# --- reactions -------------------------------------------------------------------


def test_put_adds_a_reaction_and_answers_the_whole_state(people):
    """Two members react with 👍: each answer is the message's whole state."""
    alice, bob, _ = people
    message = post(alice.user)
    first = bob.put(reaction_url(message.id, THUMBS))
    assert first.status_code == 200, first.content
    assert first.json() == {
        "reactions": [{"emoji": THUMBS, "count": 1, "users": [bob.user.pk]}]
    }
    second = alice.put(reaction_url(message.id, THUMBS)).json()
    [state] = second["reactions"]
    assert (state["emoji"], state["count"]) == (THUMBS, 2)
    assert sorted(state["users"]) == sorted([alice.user.pk, bob.user.pk])
    assert history(bob)[message.id]["reactions"] == second["reactions"]


def test_adding_twice_changes_nothing(people):
    """A second PUT of the same emoji: 200, the same state, no new change."""
    alice, bob, _ = people
    message = post(alice.user)
    bob.put(reaction_url(message.id, THUMBS))
    before = changes(bob)["last_change_id"]
    again = bob.put(reaction_url(message.id, THUMBS))
    assert again.status_code == 200
    assert again.json() == {
        "reactions": [{"emoji": THUMBS, "count": 1, "users": [bob.user.pk]}]
    }
    assert changes(bob, after=before)["changes"] == []


def test_delete_takes_my_reaction_back(people):
    """DELETE on the same URL removes my 👍 only; removing again changes nothing."""
    alice, bob, _ = people
    message = post(alice.user)
    alice.put(reaction_url(message.id, THUMBS))
    bob.put(reaction_url(message.id, THUMBS))
    response = bob.delete(reaction_url(message.id, THUMBS))
    assert response.status_code == 200, response.content
    assert response.json() == {
        "reactions": [{"emoji": THUMBS, "count": 1, "users": [alice.user.pk]}]
    }
    again = bob.delete(reaction_url(message.id, THUMBS))
    assert again.status_code == 200
    assert again.json() == response.json()


@pytest.mark.parametrize(
    "emoji", CLUSTERS, ids=["zwj", "skin", "flag", "keycap", "vs16"]
)
def test_an_emoji_of_several_code_points_arrives_whole(people, emoji):
    """The percent-encoded path is decoded into the very emoji, every code point."""
    alice, _, _ = people
    message = post(alice.user)
    response = alice.put(reaction_url(message.id, emoji))
    assert response.status_code == 200, response.content
    assert response.json()["reactions"] == [
        {"emoji": emoji, "count": 1, "users": [alice.user.pk]}
    ]
    removed = alice.delete(reaction_url(message.id, emoji))
    assert removed.json() == {"reactions": []}


@pytest.mark.parametrize("text", ["ab", "👍👍", "x", "%"], ids=str)
def test_what_is_not_one_emoji_is_invalid(people, text):
    """Text, or two emoji: 400 invalid, nothing stored."""
    alice, _, _ = people
    message = post(alice.user)
    assert_error(alice.put(reaction_url(message.id, text)), 400, "invalid")
    assert history(alice)[message.id]["reactions"] == []


def test_at_most_twenty_distinct_emoji(people, settings):
    """The 21st distinct emoji on a message: 400 invalid; one already there is fine."""
    alice, bob, _ = people
    message = post(alice.user)
    emoji = [chr(0x1F600 + n) for n in range(settings.CHAT_MAX_REACTIONS_PER_MESSAGE)]
    for each in emoji:
        assert alice.put(reaction_url(message.id, each)).status_code == 200
    assert_error(alice.put(reaction_url(message.id, "🦀")), 400, "invalid")
    assert bob.put(reaction_url(message.id, emoji[0])).status_code == 200


# --- GET /api/changes/ -------------------------------------------------------------


def test_changes_come_as_the_live_frames_in_order(people):
    """An edit, reactions and a delete: the same frames as live, by change_id."""
    alice, bob, _ = people
    start = changes(bob)["last_change_id"]
    edited, deleted = post(alice.user, "one"), post(alice.user, "two")
    edit_message(user=alice.user, message_id=edited.id, body="uno")
    react(user=bob.user, message_id=edited.id, emoji=THUMBS, add=True)
    alice.delete(message_url(deleted.id))
    page = changes(bob, after=start)
    frames = page["changes"]
    assert [(f["type"], f["id"]) for f in frames] == [
        ("message.edited", edited.id),
        ("message.reactions", edited.id),
        ("message.deleted", deleted.id),
    ]
    ids = [frame["change_id"] for frame in frames]
    assert ids == sorted(ids)
    assert ids[0] > start
    assert page["last_change_id"] == ids[-1]
    assert page["more"] is False
    assert frames[0]["body"] == "uno"
    assert frames[0]["room"] == "lobby"
    assert frames[0]["recipient"] is None
    assert frames[0]["edited_at"] is not None
    assert frames[1]["reactions"] == [
        {"emoji": THUMBS, "count": 1, "users": [bob.user.pk]}
    ]
    assert set(frames[2]) == {"type", "id", "room", "recipient", "change_id"}


def test_changes_page_by_limit(people):
    """`limit` caps the page; `more` says so and `last_change_id` is where to go on."""
    alice, bob, _ = people
    message = post(alice.user)
    start = changes(bob)["last_change_id"]
    for emoji in ("😀", "😁", "😂"):
        react(user=alice.user, message_id=message.id, emoji=emoji, add=True)
    seen = []
    after = start
    while True:
        page = changes(bob, after=after, limit=1)
        seen += [frame["change_id"] for frame in page["changes"]]
        assert len(page["changes"]) <= 1
        after = page["last_change_id"]
        if not page["more"]:
            break
    assert seen == sorted(set(seen))
    assert seen
    # Whatever was collapsed, the last state is the last frame.
    last = changes(bob, after=start)["changes"][-1]
    assert [r["emoji"] for r in last["reactions"]] == ["😀", "😁", "😂"]
    assert changes(bob, after=after) == {
        "changes": [],
        "last_change_id": after,
        "more": False,
    }


def test_changes_i_cannot_see_are_left_out_but_passed(people, make_room):
    """carol sees no change to the lobby; her cursor still moves past them."""
    alice, _, carol = people
    make_room("other", owner=carol.user)
    start = changes(carol)["last_change_id"]
    message = post(alice.user)
    react(user=alice.user, message_id=message.id, emoji=THUMBS, add=True)
    page = changes(carol, after=start)
    assert page["changes"] == []
    assert page["last_change_id"] > start
    assert page["more"] is False


def test_a_direct_conversations_changes_reach_both_and_no_one_else(people):
    """A reaction in alice's and bob's conversation: theirs to see, not carol's."""
    alice, bob, carol = people
    start = changes(alice)["last_change_id"]
    message = post(alice.user, "psst", to="bob")
    bob.put(reaction_url(message.id, THUMBS))
    for who in (alice, bob):
        [frame] = changes(who, after=start)["changes"]
        assert (frame["type"], frame["id"], frame["room"]) == (
            "message.reactions",
            message.id,
            None,
        )
    assert changes(carol, after=start)["changes"] == []


def test_a_page_stops_at_the_change_id_read_first(people):
    """The cursor never passes a change newer than the one read before the page
    (a message read in between may not show it yet): it comes next time."""
    alice, bob, _ = people
    start = changes(bob)["last_change_id"]
    message = post(alice.user)
    first = react(user=alice.user, message_id=message.id, emoji=THUMBS, add=True)
    react(user=alice.user, message_id=message.id, emoji="😀", add=True)
    page = changes_page(user=bob.user, after=start, limit=10, through=first.change.id)
    assert [change.id for change in page.changes] == [first.change.id]
    assert (page.last_change_id, page.more) == (first.change.id, False)
    [frame] = changes(bob, after=page.last_change_id)["changes"]
    assert frame["change_id"] > first.change.id


def test_changes_older_than_what_is_kept_are_410(people):
    """A cursor below what is kept: 410 changes_expired, never a silent gap."""
    alice, bob, _ = people
    start = changes(bob)["last_change_id"]
    message = post(alice.user)
    old = react(user=alice.user, message_id=message.id, emoji=THUMBS, add=True)
    MessageChange.objects.filter(pk=old.change.id).update(
        created_at=timezone.now() - timedelta(days=31)
    )
    new = react(user=alice.user, message_id=message.id, emoji="😀", add=True)
    prune_changes()
    assert_error(bob.get("/api/changes/", {"after": start}), 410, "changes_expired")
    [frame] = changes(bob, after=old.change.id)["changes"]
    assert frame["change_id"] == new.change.id


@pytest.mark.parametrize(
    "params",
    [
        {"after": "-1"},
        {"after": "x"},
        {"after": "1.5"},
        {"after": "9" * 30},
        {"limit": "0"},
    ],
    ids=str,
)
def test_bad_cursors_are_400(people, params):
    """A change cursor is a whole number from 0; a limit 1 or more."""
    _, bob, _ = people
    assert_error(bob.get("/api/changes/", params), 400, "invalid")


def test_changes_need_a_login():
    """Without a token: 401 unauthenticated."""
    from rest_framework.test import APIClient

    assert_error(APIClient().get("/api/changes/"), 401, "unauthenticated")
