"""Search in a real browser: the box, the filters, a result opening in place.

In English and in Chinese: the pages are translated, and 上海 is found inside
我家在上海东边 (a word PostgreSQL's own parser would not split).
"""

import re

import pytest
from playwright.sync_api import expect

from chat.models import Message
from chat.services.messages import send_message
from tests.browser.conftest import off_loop

pytestmark = pytest.mark.e2e

HEADINGS = {"en-US": "Search messages", "zh-CN": "搜索消息"}
EMPTY = {"en-US": "No message matches.", "zh-CN": "没有匹配的消息。"}
NEWER = {
    "en-US": "Newer messages are not shown: open the latest",
    "zh-CN": "较新的消息未显示：打开最新消息",
}


@pytest.mark.parametrize("locale", ["en-US", "zh-CN"])
def test_search_finds_chinese_and_opens_the_message_in_place(
    visitor, make_user, make_room, locale
):
    """Type 上海 in the sidebar's box: one result, 上海 marked; filter by room;
    a click opens the room centred on that message, highlighted, in view."""
    alice, bob = make_user("alice"), make_user("bob")
    make_room("lobby", owner=alice, members=[bob])
    make_room("garden", owner=bob, members=[alice])

    def say(body: str, room: str = "lobby") -> Message:
        return off_loop(send_message, sender=bob, room=room, body=body)[0]

    for n in range(30):
        say(f"older {n}")
    needle = say("我家在上海东边 <b>hi</b>")
    for n in range(60):
        say(f"newer {n}")
    say("花园里没有上海", room="garden")
    person = visitor("alice", locale=locale)
    person.log_in("/")
    page = person.page

    page.locator("#sidebar-search").fill("上海")
    page.locator("#sidebar-search").press("Enter")
    expect(page.locator("h1")).to_have_text(HEADINGS[locale])
    results = page.locator("#search-results li[data-id]")
    expect(results).to_have_count(2)
    expect(results.first.locator("mark")).to_have_text("上海")
    expect(results.nth(1)).to_contain_text("我家在上海东边 <b>hi</b>")
    expect(results.nth(1).locator("b")).to_have_count(0)
    person.shot(f"search-{locale}")

    page.locator("#search-room").select_option("lobby")
    page.locator("main form[role=search] button[type=submit]").click()
    expect(results).to_have_count(1)
    page.locator("#search-q").fill("nothing-like-this")
    page.locator("#search-q").press("Enter")
    expect(page.locator("#search-results li.empty")).to_have_text(EMPTY[locale])
    page.go_back()

    expect(results).to_have_count(1)
    results.first.locator("a").click()
    expect(page).to_have_url(f"{person.base_url}/rooms/lobby/?around={needle.id}")
    found = page.locator(f"#messages li.message[data-id='{needle.id}']")
    expect(found).to_have_class(re.compile(r"\bfound\b"))
    expect(found).to_be_in_viewport()
    expect(page.locator("#open-latest")).to_have_text(NEWER[locale])
    newest = Message.objects.filter(body="newer 59").get()
    expect(page.locator(f"#messages li[data-id='{newest.id}']")).to_have_count(0)
    person.shot(f"search-opened-{locale}")
    page.locator("#open-latest").click()
    expect(page).to_have_url(f"{person.base_url}/rooms/lobby/")
    expect(page.locator(f"#messages li[data-id='{newest.id}']")).to_have_count(1)
    assert person.errors == []
