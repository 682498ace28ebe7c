"""The support HTTP API: agents' conversations, take, messages, notes,
transfer, close, reopen; the visitor's rating, offline form and transcript;
metrics (JSON and CSV) for staff, counted from each (re)open."""

import csv
import io

import pytest
from django.core import mail
from django.test import Client

from chat.services import support
from chat.services import support_conversations as sc
from tests.chat.test_api import Api, assert_error

from .conftest import SHOP

pytestmark = pytest.mark.django_db(transaction=True)


def visitor_post(site, path, body):
    return Client().post(
        f"/api/support/{site.public_key}/{path}",
        body,
        content_type="application/json",
        HTTP_ORIGIN=SHOP,
    )


@pytest.fixture
def started(online, clock, site, li, make_visitor):
    """Ann's conversation, offered to li."""
    online.set(li)
    visitor = make_visitor()
    message, _ = sc.visitor_send(visitor=visitor, body="Where is my order?")
    return visitor, message.conversation_id


def test_agent_flow_over_http(started, li, wu, clock):
    """li lists, takes, replies, notes, transfers to wu; wu closes and reopens."""
    visitor, pk = started
    li_api, wu_api = Api(li), Api(wu)
    listed = li_api.get("/api/support/conversations/").json()["conversations"]
    assert [c["id"] for c in listed] == [pk]
    assert listed[0]["visitor"]["display_name"] == "Ann"
    assert (
        li_api.post(f"/api/support/conversations/{pk}/take/").json()["conversation"][
            "agent"
        ]["username"]
        == "li"
    )
    reply = li_api.post(
        f"/api/support/conversations/{pk}/messages/",
        {"body": "Li here", "client_id": "a1"},
    )
    assert reply.status_code == 201
    assert reply.json()["kind"] == "support"
    note = li_api.post(f"/api/support/conversations/{pk}/notes/", {"body": "VIP"})
    assert note.status_code == 201
    moved = li_api.post(
        f"/api/support/conversations/{pk}/transfer/", {"to": "wu", "note": "refund"}
    ).json()["conversation"]
    assert moved["agent"]["username"] == "wu"
    detail = wu_api.get(f"/api/support/conversations/{pk}/").json()
    assert [n["body"] for n in detail["notes"]] == ["VIP", "refund"]
    assert detail["notes"][1]["transfer_to"]["username"] == "wu"
    assert [m["body"] for m in detail["messages"]] == ["Where is my order?", "Li here"]
    forbidden = li_api.post(
        f"/api/support/conversations/{pk}/messages/", {"body": "me again"}
    )
    assert_error(forbidden, 403, "forbidden")
    closed = wu_api.post(f"/api/support/conversations/{pk}/close/").json()
    assert closed["conversation"]["status"] == "closed"
    again = wu_api.post(f"/api/support/conversations/{pk}/reopen/").json()
    assert again["conversation"]["status"] == "assigned"


def test_outsider_sees_nothing(started, make_user):
    eve = Api(make_user("eve"))
    _, pk = started
    assert eve.get("/api/support/conversations/").json()["conversations"] == []
    assert_error(eve.get(f"/api/support/conversations/{pk}/"), 404, "not_found")
    assert_error(eve.post(f"/api/support/conversations/{pk}/take/"), 404, "not_found")


def test_anonymous_is_refused(started):
    _, pk = started
    assert Client().get("/api/support/conversations/").status_code == 401


def test_visitor_rates_and_asks_for_the_transcript(started, site, li):
    visitor, pk = started
    token = support.visitor_token(visitor)
    state = (
        Client()
        .get(
            f"/api/support/{site.public_key}/conversation/",
            {"token": token},
            HTTP_ORIGIN=SHOP,
        )
        .json()["conversation"]
    )
    assert state["status"] == "offered"
    assert state["queue"] == {"position": 1, "estimated_wait_seconds": 60}
    sc.close(agent=li, conversation_id=pk)
    rated = visitor_post(
        site, "rating/", {"token": token, "rating": 4, "comment": "ok"}
    )
    assert rated.json() == {"conversation": pk, "rating": 4, "comment": "ok"}
    assert_error(
        visitor_post(site, "rating/", {"token": token, "rating": 0}), 400, "invalid"
    )
    sent = visitor_post(
        site, "transcript/", {"token": token, "email": "ann@example.com"}
    )
    assert sent.status_code == 202
    assert mail.outbox[-1].to == ["ann@example.com"]


def test_offline_form_over_http(clock, site, li):
    li.email = "li@example.com"
    li.save()
    assert_error(visitor_post(site, "offline/", {"body": "hi"}), 400, "invalid")
    left = visitor_post(
        site, "offline/", {"email": "ann@example.com", "body": "Call me"}
    )
    assert left.status_code == 201
    assert mail.outbox[0].to == ["li@example.com"]


def test_widget_config_says_open_only_with_someone_online(online, clock, site, li):
    url = f"/api/support/{site.public_key}/"
    assert Client().get(url).json()["open"] is False
    online.set(li)
    assert Client().get(url).json()["open"] is True


def test_metrics_from_each_reopen_in_calendar_and_business_hours(
    started, clock, site, li, make_user
):
    """First response 30 s, resolution 120 s; after a reopen a second opening
    with its own times; business hours 10:00-10:01 count 60 s of the 120."""
    _, pk = started
    site.business_hours = [{"day": 1, "start": "09:00", "end": "10:01"}]
    site.save()
    clock.advance(30)
    sc.agent_send(agent=li, conversation_id=pk, body="hi", client_id="a1")
    clock.advance(90)
    sc.close(agent=li, conversation_id=pk)
    clock.advance(600)
    sc.reopen(agent=li, conversation_id=pk)
    clock.advance(10)
    sc.agent_send(agent=li, conversation_id=pk, body="again", client_id="a2")
    staff = make_user("boss", is_staff=True)
    rows = Api(staff).get("/api/support/metrics/").json()["rows"]
    assert len(rows) == 1
    row = rows[0]
    assert row["day"] == "2026-12-01"
    assert row["agent"] == "li"
    assert row["conversations"] == 2
    assert row["first_response_seconds"] == 20.0  # (30 + 10) / 2
    assert row["resolution_seconds"] == 120.0  # only the first closed
    assert row["resolution_business_seconds"] == 60.0
    assert row["first_response_business_seconds"] == 15.0  # (30 + 0) / 2
    text = Api(staff).get("/api/support/metrics.csv").content.decode()
    parsed = list(csv.DictReader(io.StringIO(text)))
    assert parsed[0]["conversations"] == "2"
    assert parsed[0]["resolution_seconds"] == "120.0"
    assert_error(Api(li).get("/api/support/metrics/"), 403, "forbidden")


def test_rating_is_offered_again_after_a_reload(started, site, li):
    """After the agent closes, the widget's frame (our origin) asks again on a
    reload: a same-origin GET carries no Origin, and is answered; a GET from
    anywhere else without an Origin is refused."""
    visitor, pk = started
    sc.close(agent=li, conversation_id=pk)
    url = f"/api/support/{site.public_key}/conversation/"
    query = {"token": support.visitor_token(visitor)}

    def state(**headers):
        return Client().get(url, query, **headers)

    for headers in (
        {"HTTP_SEC_FETCH_SITE": "same-origin"},
        {"HTTP_REFERER": f"http://testserver/support/widget/{site.public_key}/"},
        {"HTTP_REFERER": f"{SHOP}/cart"},
    ):
        answer = state(**headers)
        assert answer.status_code == 200, headers
        found = answer.json()["conversation"]
        assert (found["id"], found["status"], found["rating"]) == (pk, "closed", None)
    for headers in (
        {},
        {"HTTP_SEC_FETCH_SITE": "cross-site"},
        {"HTTP_SEC_FETCH_SITE": "cross-site", "HTTP_REFERER": f"{SHOP}/cart"},
        {"HTTP_SEC_FETCH_SITE": "none"},
        {"HTTP_REFERER": "https://evil.example/"},
        {"HTTP_ORIGIN": "https://evil.example", "HTTP_SEC_FETCH_SITE": "same-origin"},
    ):
        assert_error(state(**headers), 403, "forbidden")
    # A POST still needs its Origin: Sec-Fetch-Site alone does not do.
    refused = Client().post(
        f"/api/support/{site.public_key}/rating/",
        {**query, "rating": 5},
        content_type="application/json",
        HTTP_SEC_FETCH_SITE="same-origin",
    )
    assert_error(refused, 403, "forbidden")
