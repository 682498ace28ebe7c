"""Support conversations (chat.services.support_conversations): the first
message starts one, routing to the least busy online agent under capacity,
the accept timeout, the queue, take, transfer, close, reopen, rating, notes,
the offline form and the transcript."""

import pytest
from django.core import mail
from django.test import override_settings

from chat.errors import ChatError
from chat.models import Membership, Message, SupportConversation, SupportNote
from chat.services import support_conversations as sc

pytestmark = pytest.mark.django_db(transaction=True)


def start(visitor, body="hello"):
    message, created = sc.visitor_send(visitor=visitor, body=body, client_id=None)
    assert created
    return SupportConversation.objects.get(pk=message.conversation_id)


def test_first_message_starts_a_conversation_offered_to_an_online_agent(
    online, clock, li, wu, make_visitor
):
    """The message is stored in a new support conversation offered to li,
    the one agent online; the visitor is its member, li not yet."""
    online.set(li)
    visitor = make_visitor()
    found = start(visitor)
    assert found.status == "offered"
    assert found.offered_to == li
    assert Message.objects.get(conversation_id=found.pk).body == "hello"
    members = set(
        Membership.objects.filter(conversation_id=found.pk).values_list(
            "user_id", flat=True
        )
    )
    assert members == {visitor.user_id}


def test_second_message_goes_to_the_same_conversation(online, clock, li, make_visitor):
    online.set(li)
    visitor = make_visitor()
    first = start(visitor)
    second = start(visitor, "again")
    assert first.pk == second.pk
    assert SupportConversation.objects.count() == 1


def test_no_agent_online_is_offline(online, clock, make_visitor):
    """With no one online the visitor is told to leave a message; nothing stored."""
    visitor = make_visitor()
    with pytest.raises(ChatError) as caught:
        sc.visitor_send(visitor=visitor, body="hi")
    assert caught.value.code == "offline"
    assert not Message.objects.exists()


def test_outside_business_hours_is_offline(online, clock, site, li, make_visitor):
    """Tuesday 10:00 UTC is outside a Monday-only schedule."""
    online.set(li)
    site.business_hours = [{"day": 0, "start": "09:00", "end": "17:00"}]
    site.save()
    visitor = make_visitor()
    with pytest.raises(ChatError, match="leave a message"):
        sc.visitor_send(visitor=visitor, body="hi")


def test_least_busy_agent_gets_it(online, clock, li, wu, make_visitor):
    """li has one assigned already: the next goes to wu."""
    online.set(li, wu)
    first = start(make_visitor("A"))
    sc.take(agent=first.offered_to, conversation_id=first.pk)
    busy = first.offered_to
    second = start(make_visitor("B"))
    assert second.offered_to != busy
    assert second.offered_to in (li, wu)


def test_capacity_full_queues_and_frees_in_order(online, clock, site, li, make_visitor):
    """Capacity 1: the second waits at position 1 and is offered when the
    first closes."""
    site.capacity = 1
    site.save()
    online.set(li)
    first = start(make_visitor("A"))
    sc.take(agent=li, conversation_id=first.pk)
    clock.advance(1)
    second = start(make_visitor("B"))
    clock.advance(1)
    third = start(make_visitor("C"))
    assert second.status == third.status == "queued"
    assert sc.queue_position(third)[0] == 2
    sc.close(agent=li, conversation_id=first.pk)
    second.refresh_from_db()
    third.refresh_from_db()
    assert second.status == "offered"
    assert second.offered_to == li
    assert third.status == "queued"
    assert sc.queue_position(third)[0] == 2  # second is offered, still ahead


@override_settings(SUPPORT_ACCEPT_SECONDS=60)
def test_offer_not_taken_goes_to_the_next(online, clock, li, wu, make_visitor):
    """After 60 seconds the offer passes to the other agent, and back after
    that one lets it pass too."""
    online.set(li, wu)
    found = start(make_visitor())
    first = found.offered_to
    clock.advance(59)
    assert sc.expire_offers() == 0
    clock.advance(1)
    assert sc.expire_offers() == 1
    found.refresh_from_db()
    assert found.status == "offered"
    assert found.offered_to not in (None, first)
    clock.advance(60)
    sc.expire_offers()
    found.refresh_from_db()
    assert found.offered_to == first


def test_take_by_hand(online, clock, li, wu, make_visitor):
    """wu takes what was offered to li; li is no member, wu is."""
    online.set(li)
    found = start(make_visitor())
    sc.take(agent=wu, conversation_id=found.pk)
    found.refresh_from_db()
    assert found.status == "assigned"
    assert found.agent == wu
    assert Membership.objects.filter(conversation_id=found.pk, user=wu).exists()


def test_outsider_cannot_take(online, clock, li, make_user, make_visitor):
    online.set(li)
    found = start(make_visitor())
    with pytest.raises(ChatError) as caught:
        sc.take(agent=make_user("eve"), conversation_id=found.pk)
    assert caught.value.code == "not_found"


def test_agent_reply_counts_first_response(online, clock, li, make_visitor):
    online.set(li)
    found = start(make_visitor())
    clock.advance(30)
    sc.agent_send(
        agent=li, conversation_id=found.pk, body="Hi, Li here", client_id="a1"
    )
    opening = found.openings.get()
    assert opening.first_response_at is not None
    found.refresh_from_db()
    assert found.agent == li


def test_transfer_with_note(online, clock, li, wu, make_visitor):
    """li hands over to wu with a note; li loses the conversation."""
    online.set(li, wu)
    found = start(make_visitor())
    sc.take(agent=li, conversation_id=found.pk)
    sc.transfer(agent=li, conversation_id=found.pk, to="wu", note="Wants a refund")
    found.refresh_from_db()
    assert found.agent == wu
    note = SupportNote.objects.get()
    assert note.transfer_to == wu
    assert note.body == "Wants a refund"
    members = set(
        Membership.objects.filter(conversation_id=found.pk).values_list(
            "user__username", flat=True
        )
    )
    assert "li" not in members
    assert "wu" in members


def test_notes_are_never_messages(online, clock, li, make_visitor):
    """A note is not in the conversation's messages (which the visitor syncs)."""
    online.set(li)
    found = start(make_visitor())
    sc.take(agent=li, conversation_id=found.pk)
    sc.add_note(agent=li, conversation_id=found.pk, body="secret")
    assert not Message.objects.filter(body="secret").exists()
    assert [n["body"] for n in sc.notes_of(li, found.pk)] == ["secret"]


def test_close_rate_reopen(online, clock, li, make_visitor):
    """Closed, rated 5 by the visitor, reopened as a new opening."""
    online.set(li)
    visitor = make_visitor()
    found = start(visitor)
    sc.take(agent=li, conversation_id=found.pk)
    sc.close(agent=li, conversation_id=found.pk)
    rated = sc.rate(visitor=visitor, rating=5, comment="great")
    assert (rated.rating, rated.rating_comment) == (5, "great")
    with pytest.raises(ChatError):
        sc.rate(visitor=visitor, rating=6)
    sc.reopen(agent=li, conversation_id=found.pk)
    found.refresh_from_db()
    assert found.status == "assigned"
    assert found.openings.count() == 2


def test_visitor_after_close_starts_a_new_conversation(online, clock, li, make_visitor):
    online.set(li)
    visitor = make_visitor()
    found = start(visitor)
    sc.close(agent=li, conversation_id=found.pk)
    assert start(visitor, "more").pk != found.pk


def test_offline_form_is_stored_and_emailed(clock, site, li):
    """The form's message is a closed, offline conversation, emailed to the team."""
    li.email = "li@example.com"
    li.save()
    found = sc.leave_message(
        site=site, visitor=None, name="Ann", email="ann@example.com", body="Call me"
    )
    assert found.offline
    assert found.status == "closed"
    assert Message.objects.get(conversation_id=found.pk).body == "Call me"
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["li@example.com"]
    assert "Call me" in mail.outbox[0].body
    with pytest.raises(ChatError):
        sc.leave_message(site=site, visitor=None, name="", email="", body="x")


def test_transcript_by_email(online, clock, li, make_visitor):
    online.set(li)
    visitor = make_visitor()
    found = start(visitor, "my question")
    sc.agent_send(agent=li, conversation_id=found.pk, body="my answer")
    assert sc.transcript(visitor=visitor, email="ann@example.com") == "ann@example.com"
    assert "Ann: my question" in mail.outbox[0].body
    assert "Li: my answer" in mail.outbox[0].body
