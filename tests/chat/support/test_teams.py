"""Transfer to another team: the conversation goes back to the queue of that
team (routing, capacity and accept timeout over the team's online agents),
its agents see the note and may work on it; a site's own conversations stay
its agents' only."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from chat.errors import InvalidInput, NotFound
from chat.models import Membership, SupportSite, SupportTeam
from chat.services import support
from chat.services import support_conversations as sc
from tests.chat.test_api import Api, assert_error

from .conftest import SHOP

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def zhao(make_user):
    return make_user("zhao", first_name="Zhao")


@pytest.fixture
def qian(make_user):
    return make_user("qian", first_name="Qian")


@pytest.fixture
def billing(zhao, qian):
    team = SupportTeam.objects.create(name="Billing")
    team.agents.set([zhao, qian])
    return team


def taken_by_li(li, make_visitor, name: str) -> int:
    """A conversation of the site, taken by li."""
    message, _ = sc.visitor_send(visitor=make_visitor(name), body=f"{name} here")
    sc.take(agent=li, conversation_id=message.conversation_id)
    return message.conversation_id


def test_transfer_to_a_team_goes_to_its_online_agent_with_the_note(
    online, clock, site, li, wu, zhao, qian, billing, make_visitor
):
    """li hands Ann to Billing: offered to Billing's online agent (not wu, the
    site's), who sees the note naming the team; li leaves the conversation."""
    online.set(li, wu, qian)
    pk = taken_by_li(li, make_visitor, "Ann")
    moved = sc.transfer(agent=li, conversation_id=pk, team="Billing", note="Refund")
    moved = sc.reloaded(moved)
    assert (moved.status, moved.offered_to, moved.team) == ("offered", qian, billing)
    assert moved.agent is None
    assert not Membership.objects.filter(conversation_id=pk, user=li).exists()
    notes = sc.notes_of(qian, pk)
    assert [(n["body"], n["transfer_team"]) for n in notes] == [
        ("Refund", {"name": "Billing"})
    ]
    sc.take(agent=qian, conversation_id=pk)
    message, _ = sc.agent_send(agent=qian, conversation_id=pk, body="Qian, billing")
    assert message.sender == qian
    assert sc.conversation_payload(sc.reloaded(moved))["team"] == {"name": "Billing"}


def test_team_capacity_and_accept_timeout(
    online, clock, site, li, zhao, qian, billing, make_visitor
):
    """Capacity 1: each Billing agent gets one; the third waits in the team's
    queue (not the site's); an offer not taken in time goes to the other agent; a close
    frees room for the one waiting."""
    SupportSite.objects.filter(pk=site.pk).update(capacity=1)
    online.set(li, zhao, qian)
    first = taken_by_li(li, make_visitor, "Ann")
    sc.transfer(agent=li, conversation_id=first, team="Billing")
    assert sc.reloaded(sc.conversation_for_agent(li, first)).offered_to == zhao
    second = taken_by_li(li, make_visitor, "Bo")
    sc.transfer(agent=li, conversation_id=second, team="Billing")
    assert sc.conversation_for_agent(li, second).offered_to == qian
    third = taken_by_li(li, make_visitor, "Cy")
    sc.transfer(agent=li, conversation_id=third, team="Billing")
    waiting = sc.conversation_for_agent(li, third)
    assert (waiting.status, waiting.offered_to) == ("queued", None)
    dee, _ = sc.visitor_send(visitor=make_visitor("Dee"), body="Dee here")
    site_waiting = sc.conversation_for_agent(li, dee.conversation_id)
    assert (site_waiting.status, site_waiting.offered_to) == ("offered", li)
    # Two queues: the team's (first and second on offer ahead), the site's.
    assert sc.queue_position(waiting)[0] == 3
    assert sc.queue_position(site_waiting)[0] == 1

    sc.take(agent=li, conversation_id=dee.conversation_id)

    clock.advance(61)
    assert sc.expire_offers() == 2  # neither took theirs: each goes to the other
    offered = {
        pk: sc.conversation_for_agent(li, pk).offered_to for pk in (first, second)
    }
    assert offered == {first: qian, second: zhao}
    assert sc.conversation_for_agent(li, third).status == "queued"
    sc.take(agent=qian, conversation_id=first)
    sc.close(agent=qian, conversation_id=first)
    assert sc.conversation_for_agent(li, third).offered_to == qian


def test_team_agents_see_only_what_was_transferred_to_them(
    online, clock, site, li, zhao, billing, make_user, make_visitor
):
    """zhao (Billing, not of the site) sees the transferred conversation and its
    files, not the site's others; an agent of neither sees none; /support/
    opens for zhao with the teams and his team's colleagues to transfer to."""
    online.set(li)
    ann, bo = make_visitor("Ann"), make_visitor("Bo")
    sent = (
        Client()
        .post(
            f"/api/support/{site.public_key}/uploads/",
            {"file": SimpleUploadedFile("bill.txt", b"due: 9\n")},
            HTTP_ORIGIN=SHOP,
            HTTP_AUTHORIZATION=f"Bearer {support.visitor_token(ann)}",
        )
        .json()
    )
    message, _ = sc.visitor_send(visitor=ann, body="bill", attachments=[sent["id"]])
    kept, _ = sc.visitor_send(visitor=bo, body="other")
    pk, other = message.conversation_id, kept.conversation_id
    zhao_api = Api(zhao)
    assert zhao_api.get("/api/support/conversations/").json()["conversations"] == []
    assert zhao_api.client.get(sent["url"]).status_code == 404
    sc.take(agent=li, conversation_id=pk)
    sc.transfer(agent=li, conversation_id=pk, team="Billing", note="Invoice")
    listed = zhao_api.get("/api/support/conversations/").json()["conversations"]
    assert [c["id"] for c in listed] == [pk]
    assert zhao_api.client.get(sent["url"]).status_code == 200
    assert_error(zhao_api.get(f"/api/support/conversations/{other}/"), 404, "not_found")
    with pytest.raises(NotFound):
        sc.take(agent=zhao, conversation_id=other)
    # The site's agents still see it (their site's), and a stranger nothing.
    assert pk in [c["id"] for c in sc.conversations_for_agent(li)]
    eve = make_user("eve")
    assert sc.conversations_for_agent(eve) == []
    assert Api(eve).client.get(sent["url"]).status_code == 404
    page = Client()
    page.force_login(zhao)
    shown = page.get("/support/")
    assert shown.status_code == 200
    assert '"teams": ["Billing"]' in shown.content.decode()
    assert '"username": "qian"' in shown.content.decode()  # a team colleague


def test_transfer_to_a_team_over_http(online, clock, site, li, billing, make_visitor):
    """`{"team": ...}` next to `{"to": ...}`; an unknown team or both: 400."""
    online.set(li)
    pk = taken_by_li(li, make_visitor, "Ann")
    api = Api(li)
    url = f"/api/support/conversations/{pk}/transfer/"
    assert_error(api.post(url, {"team": "Nope"}), 400, "invalid")
    assert_error(api.post(url, {"team": "Billing", "to": "wu"}), 400, "invalid")
    moved = api.post(url, {"team": "Billing", "note": "Refund"})
    assert moved.status_code == 200
    body = moved.json()["conversation"]
    assert (body["team"], body["status"], body["agent"]) == (
        {"name": "Billing"},
        "queued",
        None,
    )
    with pytest.raises(InvalidInput):
        sc.transfer(agent=li, conversation_id=pk, team="")
