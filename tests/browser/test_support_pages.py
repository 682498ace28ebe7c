"""The support widget on a customer's page, in a real browser.

The customer's page is served from an origin of its own (tests/browser/
customer_site.py, on localhost while our server is on 127.0.0.1: another
origin and another site, as on the web).
"""

import datetime as dt

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from chat.models import (
    CannedReply,
    Message,
    SupportConversation,
    SupportSite,
    SupportTeam,
    Visitor,
)
from chat.services.support import create_site
from tests.browser.conftest import off_loop
from tests.browser.customer_site import CustomerSite

pytestmark = pytest.mark.e2e


def frame_of(person):
    return person.page.frame_locator("[data-support-widget] >> iframe.support-frame")


def test_widget_opens_on_an_allowed_origin_only_and_stores_nothing_before(
    visitor, live, make_user
):
    """The launcher shows; nothing is stored until it is opened; a foreign
    origin's page gets a frame the browser refuses (frame-ancestors)."""
    agent = make_user("li")
    with CustomerSite(live.http_url) as shop, CustomerSite(live.http_url) as other:
        site = off_loop(create_site, name="Shop", origins=[shop.origin], agents=[agent])
        guest = visitor("guest", base_url=shop.origin)
        guest.page.goto(shop.page_url(site.public_key))
        launcher = guest.page.locator(
            "[data-support-widget] >> button.support-launcher"
        )
        expect(launcher).to_be_visible()
        assert guest.page.context.cookies() == []
        assert guest.page.evaluate("localStorage.length + sessionStorage.length") == 0
        assert guest.page.locator("iframe").count() == 0
        launcher.click()
        frame = frame_of(guest)
        expect(frame.locator("#widget-body")).to_be_visible()
        expect(frame.locator("h1")).to_have_text("Shop")
        assert guest.page.context.cookies() == []
        launcher.click()
        expect(guest.page.locator("iframe.support-frame")).to_be_hidden()

        stranger = visitor("stranger", base_url=other.origin)
        refused = []
        stranger.page.on(
            "console",
            lambda message: (
                refused.append(message.text)
                if "frame-ancestors" in message.text
                else None
            ),
        )
        stranger.page.goto(other.page_url(site.public_key))
        stranger.page.locator(
            "[data-support-widget] >> button.support-launcher"
        ).click()
        expect(stranger.page.locator("iframe.support-frame")).to_be_visible()
        stranger.page.wait_for_timeout(500)
        child = stranger.page.frames[-1]
        assert child.url.startswith(live.http_url) or child.url.startswith(
            "chrome-error"
        )
        assert child.locator("#widget-body").count() == 0
        assert refused, "the browser names frame-ancestors when it refuses"


def test_first_message_makes_the_visitor_and_a_reload_continues(
    visitor, live, make_user
):
    """The pre-chat form as the site wants it; the first message registers the
    visitor (with the page they came from); a reload and a new tab continue."""
    agent = make_user("li")
    with CustomerSite(live.http_url) as shop:
        site = off_loop(create_site, name="Shop", origins=[shop.origin], agents=[agent])
        SupportSite.objects.filter(pk=site.pk).update(
            prechat_name="optional", prechat_email="required"
        )
        guest = visitor("guest", base_url=shop.origin, timezone_id="Asia/Shanghai")
        guest.page.goto(shop.page_url(site.public_key))
        guest.page.locator("[data-support-widget] >> button.support-launcher").click()
        frame = frame_of(guest)
        expect(frame.locator("#prechat-email")).to_be_visible()
        frame.locator("#widget-body").fill("Where is my order?")
        frame.locator("#widget-body").press("Enter")
        guest.page.wait_for_timeout(300)
        assert not Visitor.objects.filter(site=site).exists()  # email required
        frame.locator("#prechat-name").fill("Wang")
        frame.locator("#prechat-email").fill("wang@example.com")
        frame.locator("#widget-body").press("Enter")
        # Registered; no agent is online, so the message goes to the form.
        expect(frame.locator("#leave-body")).to_have_value("Where is my order?")
        expect(frame.locator("#leave-email")).to_have_value("wang@example.com")
        person = Visitor.objects.get(site=site)
        assert (person.name, person.email) == ("Wang", "wang@example.com")
        assert person.page_url == shop.page_url(site.public_key)
        assert person.time_zone == "Asia/Shanghai"

        for page in (guest.page, guest.page.context.new_page()):
            page.goto(shop.page_url(site.public_key))
            page.locator("[data-support-widget] >> button.support-launcher").click()
            again = page.frame_locator("[data-support-widget] >> iframe.support-frame")
            expect(again.locator("#widget-body")).to_be_visible()
            expect(again.locator("#widget-prechat")).to_be_hidden()
        assert Visitor.objects.filter(site=site).count() == 1


def support_page(agent) -> None:
    """The agent's /support/, logged in and connected."""
    agent.log_in("/support/")


def open_widget(person, shop, key: str):
    person.page.goto(shop.page_url(key))
    person.page.locator("[data-support-widget] >> button.support-launcher").click()
    return frame_of(person)


def test_outside_hours_the_visitor_leaves_a_message_that_is_stored_and_emailed(
    visitor, live, make_user
):
    """Outside business hours (a holiday today): the offline message and the
    form; the message is stored as a conversation and emailed to the team."""
    agent = make_user("li", email="li@example.com")
    with CustomerSite(live.http_url) as shop:
        site = off_loop(
            create_site,
            name="Shop",
            origins=[shop.origin],
            agents=[agent],
            business_hours_ranges=[
                {"day": d, "start": "00:00", "end": "23:59"} for d in range(7)
            ],
        )
        today = timezone.now().date()
        SupportSite.objects.filter(pk=site.pk).update(
            holidays=[
                str(today - dt.timedelta(days=1)),
                str(today),
                str(today + dt.timedelta(days=1)),
            ],
            offline_message="Back on Monday.",
        )
        guest = visitor("guest", base_url=shop.origin)
        frame = open_widget(guest, shop, site.public_key)
        expect(frame.locator(".offline-message")).to_have_text("Back on Monday.")
        expect(frame.locator("#widget-chat")).to_be_hidden()
        form = frame.locator("#widget-leave")
        form.locator("#leave-name").fill("Wang")
        form.locator("#leave-body").fill("Please call me back")
        form.locator("button[type=submit]").click()
        assert not SupportConversation.objects.exists()  # the email is required
        form.locator("#leave-email").fill("wang@example.com")
        form.locator("button[type=submit]").click()
        expect(frame.locator("#widget-offline .done")).to_be_visible()
        left = SupportConversation.objects.get(site=site)
        assert left.offline
        assert left.visitor.email == "wang@example.com"
        assert Message.objects.filter(
            conversation_id=left.pk, body="Please call me back"
        ).exists()
        assert "li@example.com" in live.log()


def test_agent_reopens_a_left_message_and_chats_with_notes_transfer_close_rating(
    visitor, live, make_user
):
    """No agent online: the first message turns into the leave-a-message form.
    The agent opens it in /support/ and reopens it; the visitor sees them join;
    typing both ways; a canned reply with the visitor's name; an internal note
    the visitor never receives (not on their socket either); a transfer; the
    close; the visitor reloads and is offered the rating, and rates."""
    li = make_user("li", first_name="Li")
    wu = make_user("wu", first_name="Wu")
    with CustomerSite(live.http_url) as shop:
        site = off_loop(
            create_site, name="Shop", origins=[shop.origin], agents=[li, wu]
        )
        CannedReply.objects.create(
            site=site, shortcut="hello", text="Hello {visitor.name}, how can I help?"
        )
        SupportTeam.objects.create(name="Billing")
        guest = visitor("guest", base_url=shop.origin, timezone_id="Asia/Shanghai")
        received: list[str] = []
        guest.page.on(
            "websocket",
            lambda ws: ws.on("framereceived", lambda payload: received.append(payload)),
        )
        frame = open_widget(guest, shop, site.public_key)
        frame.locator("#prechat-name").fill("Wang")
        frame.locator("#widget-body").fill("Is anyone there?")
        frame.locator("#widget-body").press("Enter")
        # No one online: the message goes in the form instead.
        expect(frame.locator("#widget-offline")).to_be_visible()
        expect(frame.locator("#leave-body")).to_have_value("Is anyone there?")
        frame.locator("#leave-email").fill("wang@example.com")
        frame.locator("#widget-leave button[type=submit]").click()
        expect(frame.locator("#widget-offline .done")).to_be_visible()
        left = SupportConversation.objects.get(site=site)

        agent = visitor("li")
        agent.log_in(f"/support/#conversation-{left.pk}")
        page = agent.page
        expect(page.locator("#conversation-title")).to_have_text("Wang")
        details = page.locator("#visitor-details")
        expect(details.locator("[data-field=email]")).to_have_text("wang@example.com")
        expect(details.locator("[data-field=page]")).to_have_text(
            shop.page_url(site.public_key)
        )
        expect(details.locator("[data-field=local_time]")).to_contain_text(
            "Asia/Shanghai"
        )
        expect(
            page.locator("#support-messages .message.from-visitor .body")
        ).to_have_text("Is anyone there?")
        page.locator("#action-reopen").click()
        expect(page.locator("#list-mine li[data-id]")).to_have_count(1)
        expect(frame.locator(".agent-joined")).to_have_text(
            "Li joined the conversation."
        )
        expect(frame.locator("#widget-body")).to_be_visible()

        frame.locator("#widget-body").press_sequentially("my ord", delay=20)
        expect(page.locator("#support-typing")).to_contain_text("Wang")
        box = page.locator("#support-body")
        box.press_sequentially("/hel", delay=20)
        expect(page.locator("#canned-menu li")).to_have_count(1)
        box.press("Enter")
        expect(box).to_have_value("Hello Wang, how can I help?")
        box.press("Enter")
        expect(frame.locator(".message.theirs .body")).to_have_text(
            "Hello Wang, how can I help?"
        )
        expect(frame.locator(".message.theirs .author")).to_have_text("Li")
        expect(frame.locator("#widget-typing")).to_be_hidden()

        # A file, attached in the widget: the agent sees and downloads it, the
        # visitor opens it with their token.
        frame.locator("#widget-file").set_input_files(
            files=[
                {"name": "order.txt", "mimeType": "text/plain", "buffer": b"order 42\n"}
            ]
        )
        expect(frame.locator("#widget-files .chosen-file")).to_contain_text("order.txt")
        frame.locator("#widget-body").fill("My order")
        frame.locator("#widget-body").press("Enter")
        sent = page.locator("#support-messages .message.from-visitor a")
        expect(sent).to_have_text("order.txt")
        fetched = page.request.get(live.http_url + sent.get_attribute("href"))
        assert (fetched.status, fetched.text()) == (200, "order 42\n")
        mine = frame.locator(".message.mine a.attachment")
        expect(mine).to_have_text("order.txt")
        with guest.page.context.expect_page() as opened:
            mine.click()
        expect(opened.value.locator("body")).to_have_text("order 42")

        page.locator("#support-note").check()
        box.fill("Secret: VIP customer")
        box.press("Enter")
        expect(page.locator("#support-messages .message.note .body")).to_have_text(
            "Secret: VIP customer"
        )
        page.locator("#support-note").uncheck()

        page.locator(".transfer summary").click()
        expect(page.locator("#transfer-to option[value='team:Billing']")).to_have_text(
            "Team Billing"
        )
        page.locator("#transfer-to").select_option("agent:wu")
        page.locator("#transfer-note").fill("Wants a refund")
        page.locator("#transfer-form button[type=submit]").click()
        expect(page.locator("#list-team li[data-id]")).to_have_count(1)
        expect(page.locator("#support-messages .message.note")).to_have_count(2)
        expect(frame.locator(".agent-joined").last).to_have_text(
            "Wu joined the conversation."
        )

        page.locator("#action-close").click()
        expect(frame.locator(".notice.closed")).to_be_visible()
        # A reload still offers the rating (the frame's same-origin GET).
        frame = open_widget(guest, shop, site.public_key)
        rating = frame.locator("#widget-rating")
        expect(rating).to_be_visible()
        rating.locator("input[value='5']").check()
        rating.locator("#rating-comment").fill("Quick, thanks")
        rating.locator("button[type=submit]").click()
        expect(frame.locator("#widget-rating .done")).to_be_visible()
        left.refresh_from_db()
        assert (left.status, left.rating, left.rating_comment) == (
            "closed",
            5,
            "Quick, thanks",
        )
        assert not any("VIP" in str(text) or "refund" in str(text) for text in received)
        assert any("Hello Wang" in str(text) for text in received)
        assert not frame.get_by_text("VIP").count()


def test_the_queue_moves_and_the_agent_takes_one_by_hand(visitor, live, make_user):
    """Capacity 1 and li busy with Ann: Bo and Cy wait, Cy second; li takes Bo
    from the queue by hand ("Take it") in /support/: Bo sees li join, and Cy's
    place falls from 2 to 1."""
    li = make_user("li", first_name="Li")
    with CustomerSite(live.http_url) as shop:
        site = off_loop(
            create_site, name="Shop", origins=[shop.origin], agents=[li], capacity=1
        )
        agent = visitor("li")
        support_page(agent)
        page = agent.page
        queue = page.locator("#list-queue li[data-id]")
        mine = page.locator("#list-mine li[data-id]")

        def chat(name: str):
            guest = visitor(name.lower(), base_url=shop.origin)
            frame = open_widget(guest, shop, site.public_key)
            frame.locator("#prechat-name").fill(name)
            frame.locator("#widget-body").fill(f"{name} here")
            frame.locator("#widget-body").press("Enter")
            expect(frame.locator(".message.mine .body")).to_have_text(f"{name} here")
            return frame

        def take(name: str):
            queue.filter(has_text=name).locator("button.open-conversation").click()
            expect(page.locator("#conversation-title")).to_have_text(name)
            page.locator("#action-take").click()
            expect(mine.filter(has_text=name)).to_be_visible()

        ann = chat("Ann")
        expect(queue.filter(has_text="Ann")).to_contain_text("offered to you")
        take("Ann")
        expect(ann.locator(".agent-joined")).to_have_text("Li joined the conversation.")

        # li is at capacity: the next two wait, in order, offered to no one.
        bo = chat("Bo")
        expect(bo.locator("#widget-queue")).to_have_attribute("data-position", "1")
        cy = chat("Cy")
        expect(cy.locator("#widget-queue")).to_have_attribute("data-position", "2")
        expect(cy.locator("#widget-queue")).to_contain_text("number 2 in the queue")
        expect(bo.locator("#widget-queue")).to_have_attribute("data-position", "1")
        expect(queue).to_have_count(2)
        expect(page.locator("#list-queue .offered")).to_have_count(0)

        take("Bo")
        expect(bo.locator(".agent-joined")).to_have_text("Li joined the conversation.")
        expect(bo.locator("#widget-queue")).to_be_hidden()
        expect(cy.locator("#widget-queue")).to_have_attribute("data-position", "1")
        expect(cy.locator("#widget-queue")).to_contain_text("number 1 in the queue")
        expect(queue).to_have_count(1)
        assert list(
            SupportConversation.objects.filter(site=site)
            .order_by("queued_at")
            .values_list("status", "agent__username")
        ) == [("assigned", "li"), ("assigned", "li"), ("queued", None)]
