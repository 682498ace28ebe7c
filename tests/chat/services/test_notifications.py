"""chat.services.notifications: the email of what a user missed and the Web
Push of it, from the rounds of the job that looks at what was stored."""

import re
import threading
from datetime import timedelta

import pytest
from django.core import mail
from django.db import connection, transaction
from django.test import Client

from accounts.models import PushSubscription
from chat.management.commands.vapidkeys import new_vapid_keys
from chat.models import Message, MissedMessage, NotificationCursor
from chat.services import presence
from chat.services.changes import edit_message
from chat.services.messages import store_message
from chat.services.notifications import run_round
from chat.services.reads import store_read
from tests.push_service import PushService

LATER = timedelta(minutes=11)


@pytest.fixture
def people(make_user):
    """alice, and bob with a verified address."""
    alice = make_user("alice")
    bob = make_user("bob", email="bob@example.com")
    bob.verified_email = "bob@example.com"
    bob.save()
    return alice, bob


def dm(sender, to, body, **kwargs):
    message, _new = store_message(sender=sender, to=to.username, body=body, **kwargs)
    return message


def test_a_direct_message_unread_after_the_delay_is_emailed_once(people):
    """Bob, away, gets one email after 10 minutes: who, what, where, a link."""
    alice, bob = people
    message = dm(alice, bob, "are you there?")
    sent = message.created_at
    run_round(now=sent + timedelta(minutes=9))
    assert mail.outbox == []
    run_round(now=sent + LATER)
    run_round(now=sent + LATER + timedelta(minutes=1))
    assert len(mail.outbox) == 1
    email = mail.outbox[0]
    assert email.to == ["bob@example.com"]
    assert email.subject == "1 message you missed"
    assert "are you there?" in email.body
    assert "alice, in a direct message" in email.body
    assert f"http://localhost:8000/dm/alice/?around={message.id}" in email.body
    assert "are you there?" in email.alternatives[0][0]
    assert email.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert MissedMessage.objects.count() == 0


def test_one_email_holds_everything_pending(people, make_room):
    """Two direct messages and a mention in a room: one email with all three."""
    alice, bob = people
    room = make_room("lobby", members=[alice, bob])
    first = dm(alice, bob, "one")
    dm(alice, bob, "two")
    store_message(sender=alice, room=room.slug, body="@bob look here")
    run_round(now=first.created_at + LATER)
    assert len(mail.outbox) == 1
    body = mail.outbox[0].body
    assert mail.outbox[0].subject == "3 messages you missed"
    assert body.index("one") < body.index("two") < body.index("@bob look here")
    assert "alice in #lobby" in body


def test_reading_first_cancels_the_email(people):
    """Bob reads it in the app before the delay: no email, then or later."""
    alice, bob = people
    message = dm(alice, bob, "hello")
    run_round(now=message.created_at)
    store_read(user=bob, to="alice", message_id=message.id)
    run_round(now=message.created_at + LATER)
    run_round(now=message.created_at + LATER * 2)
    assert mail.outbox == []
    assert MissedMessage.objects.count() == 0


def test_a_message_read_already_when_looked_at_is_never_pending(people):
    alice, bob = people
    message = dm(alice, bob, "hello")
    store_read(user=bob, to="alice", message_id=message.id)
    run_round(now=message.created_at + LATER)
    assert mail.outbox == []


def test_a_deleted_message_is_not_emailed(people):
    from chat.services.changes import delete_message

    alice, bob = people
    message = dm(alice, bob, "oops")
    run_round(now=message.created_at)
    delete_message(user=alice, message_id=message.id)
    run_round(now=message.created_at + LATER)
    assert mail.outbox == []


def test_online_users_unverified_addresses_and_email_off_get_nothing(
    people, make_user, monkeypatch
):
    """Online when it was sent, an unconfirmed address, email turned off, no
    address: nobody of them is emailed."""
    alice, bob = people
    carol = make_user("carol", email="carol@example.com")  # never verified
    dave = make_user("dave", email="dave@example.com", email_notifications=False)
    dave.verified_email = dave.email
    dave.save()
    erin = make_user("erin")
    first = dm(alice, bob, "bob was online")
    monkeypatch.setattr(
        presence,
        "was_online_at",
        lambda user_id, when: user_id == bob.pk and when == first.created_at,
    )
    for user in (carol, dave, erin):
        dm(alice, user, "hi")
    run_round(now=first.created_at + LATER)
    assert mail.outbox == []


def test_the_sender_and_a_mention_in_a_direct_message_count_once(people):
    alice, bob = people
    message = dm(alice, bob, "@bob @alice hi")
    run_round(now=message.created_at + LATER)
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["bob@example.com"]
    assert mail.outbox[0].subject == "1 message you missed"


def test_a_refused_email_is_tried_again_next_round(people, settings):
    """The mail server refuses: nothing is lost, a round five minutes later
    sends it (not every round: a server down is not hammered)."""
    alice, bob = people
    message = dm(alice, bob, "retry me")
    settings.EMAIL_BACKEND = "tests.chat.services.failing_mail.Backend"
    result = run_round(now=message.created_at + LATER)
    assert result.failed_emails == 1
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    run_round(now=message.created_at + LATER)
    assert mail.outbox == []  # not at once: five minutes later
    run_round(now=message.created_at + LATER + timedelta(minutes=5))
    assert len(mail.outbox) == 1
    assert "retry me" in mail.outbox[0].body


def test_a_batch_refused_for_two_days_is_given_up(people, settings):
    alice, bob = people
    message = dm(alice, bob, "never delivered")
    settings.EMAIL_BACKEND = "tests.chat.services.failing_mail.Backend"
    run_round(now=message.created_at + LATER)
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    result = run_round(now=message.created_at + timedelta(days=3))
    assert (result.emails, result.cancelled) == (0, 1)
    assert mail.outbox == []
    assert MissedMessage.objects.count() == 0


def test_the_unsubscribe_link_turns_email_off_in_one_click(people):
    alice, bob = people
    message = dm(alice, bob, "first")
    run_round(now=message.created_at + LATER)
    link = re.search(
        r"http://localhost:8000(/accounts/email/unsubscribe/\S+/)", mail.outbox[0].body
    )
    assert link is not None
    assert mail.outbox[0].extra_headers["List-Unsubscribe"] == f"<{link.group(0)}>"
    response = Client().post(link.group(1))
    assert response.status_code == 200
    bob.refresh_from_db()
    assert bob.email_notifications is False
    second = dm(alice, bob, "second")
    run_round(now=second.created_at + LATER)
    assert len(mail.outbox) == 1
    assert Client().get("/accounts/email/unsubscribe/forged/").status_code == 400


def test_a_new_cursor_starts_near_now_not_at_the_first_message(people):
    """A database that never ran a round does not email its whole history."""
    alice, bob = people
    old = dm(alice, bob, "long ago")
    NotificationCursor.objects.all().delete()
    run_round(now=old.created_at + timedelta(days=2))
    assert NotificationCursor.objects.get().last_message_id == old.id
    assert mail.outbox == []


def test_the_command_runs_one_round(people, capsys):
    from django.core.management import call_command

    alice, bob = people
    dm(alice, bob, "now")
    with override_delay(0):
        call_command("sendnotifications")
    assert "sent 1 emails" in capsys.readouterr().out
    assert len(mail.outbox) == 1


def override_delay(minutes: int):
    from django.test import override_settings

    return override_settings(CHAT_EMAIL_DELAY_MINUTES=minutes)


@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="SKIP LOCKED: PostgreSQL's row lock"
)
@pytest.mark.django_db(transaction=True)
def test_a_round_is_skipped_while_another_process_holds_the_lock(people):
    """Two processes at once: the one that finds the cursor locked does nothing,
    so each email goes out once."""
    alice, bob = people
    message = dm(alice, bob, "once")
    run_round(now=message.created_at)  # the cursor row exists
    locked, release = threading.Event(), threading.Event()

    def hold():
        with transaction.atomic():
            NotificationCursor.objects.select_for_update().get(pk=1)
            locked.set()
            release.wait(10)
        connection.close()

    holder = threading.Thread(target=hold)
    holder.start()
    try:
        assert locked.wait(10)
        assert run_round(now=message.created_at + LATER).ran is False
        assert mail.outbox == []
    finally:
        release.set()
        holder.join()
    assert run_round(now=message.created_at + LATER).emails == 1
    assert len(mail.outbox) == 1


# --- Web Push ----------------------------------------------------------------------


@pytest.fixture
def push_service():
    service = PushService().start()
    yield service
    service.stop()


@pytest.fixture
def vapid(settings):
    public, private = new_vapid_keys()
    settings.CHAT_VAPID_PUBLIC_KEY = public
    settings.CHAT_VAPID_PRIVATE_KEY = private
    settings.CHAT_VAPID_SUBJECT = "mailto:ops@example.com"
    settings.CHAT_PUSH_TTL_SECONDS = 600
    return public


def subscribe(user, info: dict) -> PushSubscription:
    return PushSubscription.objects.create(
        user=user,
        endpoint=info["endpoint"],
        p256dh=info["keys"]["p256dh"],
        auth=info["keys"]["auth"],
    )


def test_a_direct_message_to_a_user_with_no_page_open_is_pushed(
    people, push_service, vapid
):
    """The push arrives encrypted for the browser's keys, with a TTL, a topic
    per conversation and the VAPID signature; the browser reads who and what."""
    alice, bob = people
    subscribe(bob, push_service.subscription("bob-laptop"))
    message = dm(alice, bob, "ping")
    result = run_round(now=message.created_at)
    assert result.pushed == 1
    (push,) = push_service.wait_for(1)
    tag = f"conversation-{message.conversation_id}"
    assert push.payload == {
        "type": "message",
        "tag": tag,
        "title": "alice",
        "body": "ping",
        "url": f"/dm/alice/?around={message.id}",
        "message_id": message.id,
    }
    assert push.headers["ttl"] == "600"
    assert push.headers["topic"] == tag
    assert push.headers["authorization"].startswith("vapid t=")
    assert f"k={vapid}" in push.headers["authorization"]
    run_round(now=message.created_at + timedelta(seconds=5))
    assert len(push_service.received) == 1


def test_one_push_per_conversation_and_round(people, make_room, push_service, vapid):
    """Three messages in two conversations: two pushes, each the newest."""
    alice, bob = people
    room = make_room("lobby", members=[alice, bob])
    subscribe(bob, push_service.subscription("bob"))
    dm(alice, bob, "one")
    dm(alice, bob, "two")
    mention, _new = store_message(sender=alice, room=room.slug, body="@bob here")
    run_round()
    pushes = push_service.wait_for(2)
    assert sorted(p.payload["body"] for p in pushes) == ["@bob here", "two"]
    lobby = next(p for p in pushes if p.payload["body"] == "@bob here")
    assert lobby.payload["title"] == "alice · #lobby"
    assert lobby.payload["tag"] == f"conversation-{mention.conversation_id}"


def test_a_user_with_a_page_open_is_not_pushed(
    people, push_service, vapid, monkeypatch
):
    alice, bob = people
    subscribe(bob, push_service.subscription("bob"))
    monkeypatch.setattr(presence, "has_open_page", lambda user_id: True)
    dm(alice, bob, "you are here")
    assert run_round().pushed == 0
    assert push_service.received == []


def test_reading_elsewhere_sends_the_silent_read_push(people, push_service, vapid):
    """Once read in another browser, a "read" push with the same tag clears it."""
    alice, bob = people
    subscribe(bob, push_service.subscription("bob"))
    message = dm(alice, bob, "read me")
    run_round()
    store_read(user=bob, to="alice", message_id=message.id)
    run_round()
    first, read = push_service.wait_for(2)
    tag = f"conversation-{message.conversation_id}"
    assert read.payload == {"type": "read", "tag": tag}
    assert read.headers["topic"] == tag
    assert read.headers["ttl"] == "600"
    run_round()
    assert len(push_service.received) == 2


def test_a_newer_unread_push_keeps_the_notification(people, push_service, vapid):
    """Read up to the first of two pushed messages: no "read" push yet."""
    alice, bob = people
    subscribe(bob, push_service.subscription("bob"))
    first = dm(alice, bob, "first")
    run_round()
    dm(alice, bob, "second")
    run_round()
    store_read(user=bob, to="alice", message_id=first.id)
    run_round()
    assert [p.payload["type"] for p in push_service.wait_for(2)] == [
        "message",
        "message",
    ]


def test_a_subscription_the_push_service_says_is_gone_is_deleted(
    people, push_service, vapid
):
    alice, bob = people
    push_service.status = 410
    subscribe(bob, push_service.subscription("bob"))
    dm(alice, bob, "anyone?")
    assert run_round().pushed == 0
    assert PushSubscription.objects.count() == 0


def test_without_vapid_keys_nothing_is_pushed(people, push_service):
    alice, bob = people
    subscribe(bob, push_service.subscription("bob"))
    dm(alice, bob, "no keys")
    run_round()
    assert push_service.received == []


def test_vapidkeys_prints_a_pair_pywebpush_can_sign_with(capsys):
    """The two lines go to the environment as they are; the private key is the
    public one's pair."""
    from cryptography.hazmat.primitives import serialization
    from django.core.management import call_command
    from py_vapid import Vapid

    from tests.push_service import b64url

    call_command("vapidkeys")
    lines = capsys.readouterr().out.splitlines()
    public = lines[0].removeprefix("CHAT_VAPID_PUBLIC_KEY=")
    private = lines[1].removeprefix("CHAT_VAPID_PRIVATE_KEY=")
    assert lines[0] != public
    assert lines[1] != private
    key = Vapid.from_string(private_key=private)
    raw = key.public_key.public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    assert b64url(raw) == public


def test_an_idle_round_takes_no_lock_and_writes_nothing(people):
    """Nothing new, nothing due: a few reads, so idle servers cost nothing."""
    from django.test.utils import CaptureQueriesContext

    alice, bob = people
    run_round()
    with CaptureQueriesContext(connection) as queries:
        result = run_round()
    assert result.looked_at == 0
    statements = [q["sql"].split()[0].upper() for q in queries.captured_queries]
    assert set(statements) == {"SELECT"}, statements
    assert len(statements) <= 3, statements
    assert not any("FOR UPDATE" in q["sql"] for q in queries.captured_queries)


# --- mentions added by an edit -----------------------------------------------------


EARLIER = timedelta(minutes=5)


@pytest.fixture
def lobby(people, make_room):
    """alice's message in a room with bob, mentioning nobody, sent five minutes
    ago and looked at by a round already (nothing to tell then)."""
    alice, bob = people
    room = make_room("lobby", members=[alice, bob])
    message, _new = store_message(sender=alice, room=room.slug, body="lunch?")
    Message.objects.filter(pk=message.pk).update(
        created_at=message.created_at - EARLIER
    )
    message.refresh_from_db()
    run_round(now=message.created_at)
    assert MissedMessage.objects.count() == 0
    return room, message


def edit(user, message, body):
    """Edit `message`; the moment of the edit (its Mention rows' added_at)."""
    return edit_message(user=user, message_id=message.id, body=body).message.edited_at


def test_a_mention_added_by_an_edit_is_emailed_after_the_delay_from_the_edit(
    people, lobby
):
    """Bob is named by an edit five minutes after the message: one email, ten
    minutes after the edit (not after the message), with the edited text."""
    alice, bob = people
    _room, message = lobby
    edited = edit(alice, message, "lunch? @bob")
    run_round(now=message.created_at + LATER)  # ten minutes after the message
    assert mail.outbox == []
    run_round(now=edited + LATER)
    run_round(now=edited + LATER + timedelta(minutes=1))
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["bob@example.com"]
    assert mail.outbox[0].subject == "1 message you missed"
    assert "lunch? @bob" in mail.outbox[0].body
    assert "alice in #lobby" in mail.outbox[0].body
    assert MissedMessage.objects.count() == 0


def test_an_edit_before_any_round_still_counts_from_the_edit(people, make_room):
    """Named by an edit before a round looked at the message: the email is still
    due ten minutes after the edit, and sent once."""
    alice, bob = people
    room = make_room("lobby", members=[alice, bob])
    message, _new = store_message(sender=alice, room=room.slug, body="lunch?")
    Message.objects.filter(pk=message.pk).update(
        created_at=message.created_at - EARLIER
    )
    message.refresh_from_db()
    edited = edit(alice, message, "lunch? @bob")
    run_round(now=message.created_at + LATER)
    assert mail.outbox == []
    run_round(now=edited + LATER)
    run_round(now=edited + LATER * 2)
    assert len(mail.outbox) == 1


def test_a_mention_already_had_is_not_told_again_after_an_edit(people, make_room):
    """Mentioned from the start, then the text is fixed twice (once before the
    first round, once after the email): one email in all."""
    alice, bob = people
    room = make_room("lobby", members=[alice, bob])
    message, _new = store_message(sender=alice, room=room.slug, body="@bob lunhc?")
    edit(alice, message, "@bob lunch?")
    run_round(now=message.created_at + LATER)
    assert len(mail.outbox) == 1
    edited = edit(alice, message, "@bob lunch? at noon")
    run_round(now=edited + LATER)
    run_round(now=edited + LATER * 2)
    assert len(mail.outbox) == 1


def test_a_mention_by_an_edit_read_first_is_not_emailed(people, lobby):
    """Bob reads the room after the edit, before the delay: no email."""
    alice, bob = people
    room, message = lobby
    edited = edit(alice, message, "lunch? @bob")
    run_round(now=edited)
    store_read(user=bob, room=room.slug, message_id=message.id)
    run_round(now=edited + LATER)
    assert mail.outbox == []
    assert MissedMessage.objects.count() == 0


def test_a_message_read_before_the_edit_is_not_emailed(people, lobby):
    """Bob had read past the message when the edit named him: nothing to tell."""
    alice, bob = people
    room, message = lobby
    store_read(user=bob, room=room.slug, message_id=message.id)
    edited = edit(alice, message, "lunch? @bob")
    assert run_round(now=edited).missed == 0
    run_round(now=edited + LATER)
    assert mail.outbox == []


def test_a_mention_an_edit_took_back_is_not_emailed(people, lobby):
    """Named by one edit and unnamed by the next, before a round saw it or
    after: no email either way."""
    alice, bob = people
    room, message = lobby
    edit(alice, message, "lunch? @bob")
    edited = edit(alice, message, "lunch?")
    assert run_round(now=edited).missed == 0
    edit(alice, message, "lunch? @bob!")
    assert run_round(now=edited).missed == 1
    edited = edit(alice, message, "lunch? anyone")
    result = run_round(now=edited + LATER)
    assert (result.emails, result.cancelled) == (0, 1)
    assert mail.outbox == []
    assert MissedMessage.objects.count() == 0


def test_a_mention_added_to_a_direct_message_is_not_told_twice(people):
    """The direct message was emailed to bob; naming him in it adds nothing."""
    alice, bob = people
    message = dm(alice, bob, "lunch?")
    run_round(now=message.created_at + LATER)
    assert len(mail.outbox) == 1
    edited = edit(alice, message, "@bob lunch?")
    run_round(now=edited + LATER)
    assert len(mail.outbox) == 1


def test_a_mention_added_by_an_edit_is_pushed_once(people, lobby, push_service, vapid):
    """Bob, no page open, named by an edit: one push of the edited text; the
    next rounds push nothing more."""
    alice, bob = people
    _room, message = lobby
    subscribe(bob, push_service.subscription("bob"))
    edited = edit(alice, message, "lunch? @bob")
    assert run_round(now=edited).pushed == 1
    (pushed,) = push_service.wait_for(1)
    assert pushed.payload["body"] == "lunch? @bob"
    assert pushed.payload["title"] == "alice · #lobby"
    assert pushed.payload["tag"] == f"conversation-{message.conversation_id}"
    edit(alice, message, "lunch? @bob at noon")
    assert run_round(now=edited + timedelta(seconds=5)).pushed == 0
    assert len(push_service.received) == 1


def test_a_new_cursor_starts_past_old_mentions_by_edits(people, lobby):
    """A database that never ran a round does not email old edits either."""
    from chat.models import Mention

    alice, _bob = people
    _room, message = lobby
    edit(alice, message, "lunch? @bob")
    NotificationCursor.objects.all().delete()
    run_round(now=message.created_at + timedelta(days=2))
    mention = Mention.objects.get(added_at__isnull=False)
    assert NotificationCursor.objects.get().last_edit_mention_id == mention.id
    assert mail.outbox == []
