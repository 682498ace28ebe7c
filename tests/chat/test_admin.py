"""The admin's rooms, members and messages.

Members are added and removed through chat.services.rooms, so the users' live
connections hear of it; messages are read-only there.
"""

import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from chat import events
from chat.models import Conversation, Message
from chat.selectors import room_owner
from chat.services.changes import delete_message, edit_message
from chat.services.messages import store_message
from tests.chat.test_commands import layer_listener  # noqa: F401 (a fixture)

pytestmark = pytest.mark.django_db

ROOMS_URL = reverse("admin:chat_room_changelist")
MESSAGES_URL = reverse("admin:chat_message_changelist")


def members(room: Conversation) -> list[tuple[str, str]]:
    return sorted(room.memberships.values_list("user__username", "role"))


def room_form(room: Conversation | None = None, **fields) -> dict:
    """The POST a browser sends from a room's page: its fields and member rows.

    Existing member rows are read-only, so only their ids (and a ticked Delete)
    are sent; `add` names users for the new rows, `delete` users to remove.
    """
    add, delete = fields.pop("add", []), fields.pop("delete", [])
    existing = list(room.memberships.select_related("user")) if room else []
    data = {
        "memberships-TOTAL_FORMS": str(len(existing) + len(add)),
        "memberships-INITIAL_FORMS": str(len(existing)),
        "memberships-MIN_NUM_FORMS": "0",
        "memberships-MAX_NUM_FORMS": "1000",
        **fields,
    }
    if room is not None:
        data["title"] = fields.get("title", room.title)
        if room.is_private and "is_private" not in fields:
            data["is_private"] = "on"
    for index, membership in enumerate(existing):
        data[f"memberships-{index}-id"] = str(membership.pk)
        data[f"memberships-{index}-conversation"] = str(room.pk)
        if membership.user in delete:
            data[f"memberships-{index}-DELETE"] = "on"
    for index, user in enumerate(add, start=len(existing)):
        data[f"memberships-{index}-user"] = str(user.pk)
    return data


def change_url(room: Conversation) -> str:
    return reverse("admin:chat_room_change", args=[room.pk])


# --- rooms ------------------------------------------------------------------------


def test_room_changelist_shows_rooms_with_member_counts(
    admin_client, make_user, make_room
):
    """Rooms are listed with title, privacy, owner and how many members they have."""
    alice, bob = make_user("alice"), make_user("bob")
    make_room("lobby", owner=alice, members=[bob])
    make_room("staff", owner=bob, private=True)
    store_message(sender=alice, to="bob", body="hi")
    response = admin_client.get(ROOMS_URL)
    assert response.status_code == 200
    rows = [
        (r.slug, r.is_private, room_owner(r).username, r.members)
        for r in response.context["cl"].result_list
    ]
    assert rows == [("lobby", False, "alice", 2), ("staff", True, "bob", 1)]
    found = admin_client.get(ROOMS_URL, {"q": "staf"}).context["cl"].result_list
    assert [r.slug for r in found] == ["staff"]


def test_add_room_makes_it_through_the_service(
    admin_client,
    make_user,
    layer_listener,  # noqa: F811 (the imported fixture)
    django_capture_on_commit_callbacks,
):
    """An admin-made room has its owner as owner-member; new members hear live."""
    alice, bob = make_user("alice"), make_user("bob")
    layer_listener.listen(events.user_group(bob.pk))
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            reverse("admin:chat_room_add"),
            room_form(slug="lobby", title="The lobby", owner=alice.pk, add=[bob]),
        )
    assert response.status_code == 302
    room = Conversation.objects.get(slug="lobby")
    assert (room.kind, room.title, room.is_private, room_owner(room)) == (
        Conversation.Kind.ROOM,
        "The lobby",
        False,
        alice,
    )
    assert members(room) == [("alice", "owner"), ("bob", "member")]
    assert layer_listener.receive() == {
        "type": events.SUBSCRIBE,
        "group": events.room_group(room.pk),
        "text": events.room_joined_frame(room),
        "origin": None,
    }
    layer_listener.assert_silent()


def test_add_room_needs_a_valid_new_slug(admin_client, make_room):
    """An empty, malformed or taken slug is an error on the form; no room is made."""
    make_room("lobby")
    for slug, error in [
        ("", "This field is required."),
        ("Bad Name", "A room name is 1-50 lower-case letters"),
        ("lobby", "already exists"),
    ]:
        response = admin_client.post(
            reverse("admin:chat_room_add"), room_form(slug=slug)
        )
        assert response.status_code == 200
        assert error in str(response.context["adminform"].form.errors["slug"])
    assert list(Conversation.objects.values_list("slug", flat=True)) == ["lobby"]


def test_members_added_and_removed_through_the_service(
    admin_client,
    make_user,
    make_room,
    layer_listener,  # noqa: F811 (the imported fixture)
    django_capture_on_commit_callbacks,
):
    """Adding and removing members in the admin tells their connections at once."""
    alice, bob, carol = make_user("alice"), make_user("bob"), make_user("carol")
    room = make_room("staff", owner=alice, private=True, members=[bob])
    layer_listener.listen(events.user_group(bob.pk))
    layer_listener.listen(events.user_group(carol.pk))
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            change_url(room), room_form(room, add=[carol], delete=[bob])
        )
    assert response.status_code == 302
    assert members(room) == [("alice", "owner"), ("carol", "member")]
    received = [layer_listener.receive(), layer_listener.receive()]
    assert sorted(received, key=lambda e: e["type"]) == [
        {
            "type": events.SUBSCRIBE,
            "group": events.room_group(room.pk),
            "text": events.room_joined_frame(room),
            "origin": None,
        },
        {
            "type": events.UNSUBSCRIBE,
            "group": events.room_group(room.pk),
            "text": events.room_left_frame(room, "kicked"),
            "origin": None,
        },
    ]
    layer_listener.assert_silent()
    room.refresh_from_db()
    assert room.is_private is True


def test_room_page_shows_its_members(admin_client, make_user, make_room):
    """A room's page lists its members, read-only rows with a Delete box."""
    alice, bob = make_user("alice"), make_user("bob")
    room = make_room("lobby", owner=alice, members=[bob])
    response = admin_client.get(change_url(room))
    assert response.status_code == 200
    inline = response.context["inline_admin_formsets"][0]
    rows = [form.original.user.username for form in inline if form.original]
    assert sorted(rows) == ["alice", "bob"]
    html = response.content.decode()
    assert 'name="memberships-0-DELETE"' in html
    assert 'name="memberships-0-user"' not in html


def test_slug_and_owner_stay_as_made(admin_client, make_user, make_room):
    """Editing a room changes its title and privacy, never its slug or owner."""
    alice, bob = make_user("alice"), make_user("bob")
    room = make_room("lobby", owner=alice)
    response = admin_client.post(
        change_url(room),
        room_form(room, slug="renamed", owner=bob.pk, title="New", is_private="on"),
    )
    assert response.status_code == 302
    room.refresh_from_db()
    assert (room.slug, room_owner(room), room.title, room.is_private) == (
        "lobby",
        alice,
        "New",
        True,
    )


# --- messages -----------------------------------------------------------------------


@pytest.fixture
def conversation_messages(make_user, make_room):
    """Alice and Bob in 'lobby' and 'other', and one direct message."""
    alice, bob = make_user("alice"), make_user("bob")
    make_room("lobby", owner=alice, members=[bob])
    make_room("other", owner=bob)
    store_message(sender=alice, room="lobby", body="hello lobby")
    store_message(sender=bob, room="lobby", body="bob says hi")
    store_message(sender=bob, room="other", body="elsewhere")
    store_message(sender=alice, to="bob", body="psst, bob")
    return alice, bob


def listed(admin_client, **params) -> list[str]:
    response = admin_client.get(MESSAGES_URL, params)
    assert response.status_code == 200
    return sorted(m.body for m in response.context["cl"].result_list)


def test_message_changelist_shows_conversations(admin_client, conversation_messages):
    """Messages are listed with their room, or the two users of a direct one."""
    html = admin_client.get(MESSAGES_URL).content.decode()
    assert "#lobby" in html
    assert "#other" in html
    assert "alice ↔ bob" in html
    assert listed(admin_client) == [
        "bob says hi",
        "elsewhere",
        "hello lobby",
        "psst, bob",
    ]


def test_search_messages_by_body_and_sender(admin_client, conversation_messages):
    """Search matches words of the body and the sender's username."""
    assert listed(admin_client, q="lobby") == ["hello lobby"]
    assert listed(admin_client, q="alice") == ["hello lobby", "psst, bob"]


def test_filter_messages_by_room_kind_and_sender(admin_client, conversation_messages):
    """The filters narrow messages to one room, to direct ones, or to one sender."""
    alice, bob = conversation_messages
    assert listed(admin_client, room="lobby") == ["bob says hi", "hello lobby"]
    assert listed(admin_client, conversation__kind__exact="direct") == ["psst, bob"]
    assert listed(admin_client, sender__id__exact=bob.pk) == [
        "bob says hi",
        "elsewhere",
    ]


def test_messages_cannot_be_added_or_edited(admin_client, conversation_messages):
    """No add page; a message's page is view-only and refuses a POST."""
    message = Message.objects.get(body="hello lobby")
    url = reverse("admin:chat_message_change", args=[message.pk])
    assert admin_client.get(reverse("admin:chat_message_add")).status_code == 403
    page = admin_client.get(url)
    assert page.status_code == 200
    assert "hello lobby" in page.content.decode()
    assert 'name="_save"' not in page.content.decode()
    assert admin_client.post(url, {"body": "edited"}).status_code == 403
    message.refresh_from_db()
    assert message.body == "hello lobby"


def test_message_changelist_queries_do_not_grow_with_rows(
    admin_client, conversation_messages
):
    """Senders and conversations come in the page's query, not one per row."""
    alice, bob = conversation_messages

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert admin_client.get(MESSAGES_URL).status_code == 200
        return len(captured)

    before = queries()
    for n in range(6):
        store_message(sender=alice, room="lobby", body=f"more {n}")
        store_message(sender=bob, to="alice", body=f"direct {n}")
    assert queries() == before


# --- messages that change ---------------------------------------------------------


def test_a_messages_page_shows_its_edits_and_its_deletion(
    admin_client, conversation_messages
):
    """Each body a message had before an edit, oldest first; once deleted, who
    deleted it and when, and no earlier body (a deletion takes the content)."""
    alice, bob = conversation_messages
    message = Message.objects.get(body="hello lobby")
    edit_message(user=alice, message_id=message.pk, body="hello, lobby")
    edit_message(user=alice, message_id=message.pk, body="hello, lobby!")
    url = reverse("admin:chat_message_change", args=[message.pk])
    page = admin_client.get(url)
    assert page.status_code == 200
    revisions = page.context["inline_admin_formsets"][0]
    assert revisions.opts.verbose_name_plural == "edits (the bodies it had before)"
    assert [form.original.body for form in revisions] == [
        "hello lobby",
        "hello, lobby",
    ]
    assert 'name="_save"' not in page.content.decode()
    delete_message(user=alice, message_id=message.pk)
    page = admin_client.get(url)
    html = page.content.decode()
    assert page.status_code == 200
    assert "Deleted at:" in html or "Deleted at" in html
    assert "Deleted by" in html
    assert [
        form.original.body for form in page.context["inline_admin_formsets"][0]
    ] == []
    assert "hello, lobby" not in html


def test_the_changelist_shows_and_filters_edited_and_deleted(
    admin_client, conversation_messages
):
    """The list says which messages were edited or deleted, and filters on it."""
    alice, bob = conversation_messages
    edited = Message.objects.get(body="hello lobby")
    edit_message(user=alice, message_id=edited.pk, body="hello all")
    gone = Message.objects.get(body="bob says hi")
    delete_message(user=alice, message_id=gone.pk)
    html = admin_client.get(MESSAGES_URL).content.decode()
    assert "edited" in html
    assert "deleted by alice" in html
    assert listed(admin_client, state="edited") == ["hello all"]
    assert [
        m.pk
        for m in admin_client.get(MESSAGES_URL, {"state": "deleted"})
        .context["cl"]
        .result_list
    ] == [gone.pk]


def test_delete_for_everyone_goes_through_the_service(
    admin_client,
    conversation_messages,
    layer_listener,  # noqa: F811 (the imported fixture)
    django_capture_on_commit_callbacks,
):
    """The admin action leaves tombstones and tells the room live (message.deleted)."""
    alice, _ = conversation_messages
    message = Message.objects.get(body="hello lobby")
    layer_listener.listen(events.room_group(message.conversation_id))
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            MESSAGES_URL,
            {"action": "delete_for_everyone", "_selected_action": [message.pk]},
            follow=True,
        )
    assert response.status_code == 200
    assert "Deleted 1 message for everyone." in response.content.decode()
    message.refresh_from_db()
    assert (message.body, message.deleted_at is not None) == ("", True)
    event = layer_listener.receive()
    assert json.loads(event["text"]) == {
        "type": "message.deleted",
        "id": message.pk,
        "room": "lobby",
        "recipient": None,
        "change_id": event["change_id"],
    }
    layer_listener.assert_silent()
