"""Search: CJK by any substring, other scripts by words, only what I can read now.

Runs on SQLite (FTS5) and on PostgreSQL (the expression index) alike.
"""

import pytest
from django.db import connection
from rest_framework.test import APIClient

from chat.search.checks import check_search_collation, search_warnings
from chat.search.text import chat_search_text
from chat.services.changes import store_deletion, store_edit
from chat.services.messages import send_message, store_messages
from chat.services.rooms import leave_room

pytestmark = pytest.mark.django_db


@pytest.fixture
def alice(make_user):
    return make_user("alice")


@pytest.fixture
def bob(make_user):
    return make_user("bob")


@pytest.fixture
def api(make_token):
    def client_for(user) -> APIClient:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {make_token(user)}")
        return client

    return client_for


def post(user, body, **target):
    return send_message(sender=user, body=body, **target)[0]


def bodies(client, **params) -> list[str]:
    response = client.get("/api/search/", params)
    assert response.status_code == 200, response.content
    return [r["message"]["body"] for r in response.json()["results"]]


def test_chinese_is_found_by_any_substring_of_two_or_more(alice, make_room, api):
    """上海 finds 我家在上海东边; 客服 and 爸爸 find 我爸爸是客服; 上东 nothing."""
    make_room("lobby", owner=alice)
    post(alice, "我家在上海东边", room="lobby")
    post(alice, "我爸爸是客服", room="lobby")
    post(alice, "nothing here", room="lobby")
    client = api(alice)
    assert bodies(client, q="上海") == ["我家在上海东边"]
    assert bodies(client, q="上海东边") == ["我家在上海东边"]
    assert bodies(client, q="客服") == ["我爸爸是客服"]
    assert bodies(client, q="爸爸") == ["我爸爸是客服"]
    assert bodies(client, q="爸爸 客服") == ["我爸爸是客服"]
    assert bodies(client, q="上东") == []
    assert bodies(client, q="东边海") == []


def test_japanese_and_korean_by_substring_mixed_with_latin(alice, make_room, api):
    """Kana, kanji and Hangul inside words, and CJK glued to Latin letters."""
    make_room("lobby", owner=alice)
    post(alice, "東京タワーに行きました", room="lobby")
    post(alice, "저는 한국어를 공부합니다", room="lobby")
    post(alice, "Meeting at上海office", room="lobby")
    client = api(alice)
    assert bodies(client, q="タワー") == ["東京タワーに行きました"]
    assert bodies(client, q="行き") == ["東京タワーに行きました"]
    assert bodies(client, q="국어") == ["저는 한국어를 공부합니다"]
    assert bodies(client, q="上海") == ["Meeting at上海office"]
    assert bodies(client, q="meeting 上海") == ["Meeting at上海office"]


def test_words_case_insensitive_the_last_as_a_prefix(alice, make_room, api):
    """Words match whole and in any case; the word being typed matches its start."""
    make_room("lobby", owner=alice)
    post(alice, "The Quick brown fox", room="lobby")
    post(alice, "Über alles, quickly!", room="lobby")
    client = api(alice)
    assert bodies(client, q="QUICK") == ["Über alles, quickly!", "The Quick brown fox"]
    assert bodies(client, q="quick ") == ["The Quick brown fox"]
    assert bodies(client, q="quick bro") == ["The Quick brown fox"]
    assert bodies(client, q="qui fox") == []
    assert bodies(client, q="über") == ["Über alles, quickly!"]
    assert bodies(client, q="fox.") == ["The Quick brown fox"]


def test_only_what_i_can_read_now(alice, bob, make_user, make_room, api):
    """Other people's rooms and conversations are never found; leaving hides them."""
    carol = make_user("carol")
    make_room("mine", owner=alice)
    make_room("theirs", owner=bob, members=[carol])
    make_room("shared", owner=bob, members=[alice])
    post(alice, "secret 上海 plan", room="mine")
    post(bob, "secret 上海 other", room="theirs")
    post(bob, "secret 上海 shared", room="shared")
    post(bob, "secret 上海 to carol", to="carol")
    post(bob, "secret 上海 to alice", to="alice")
    client = api(alice)
    assert bodies(client, q="上海") == [
        "secret 上海 to alice",
        "secret 上海 shared",
        "secret 上海 plan",
    ]
    leave_room(user=alice, slug="shared")
    assert bodies(client, q="secret") == ["secret 上海 to alice", "secret 上海 plan"]
    refused = client.get("/api/search/", {"q": "secret", "room": "theirs"})
    assert refused.status_code == 403
    assert refused.json()["code"] == "forbidden"


def test_edits_are_searched_in_their_new_text_deletions_never(alice, make_room, api):
    """An edit is found by its new words at once, not the old; a deletion by nothing."""
    make_room("lobby", owner=alice)
    edited = post(alice, "meet in 北京", room="lobby")
    deleted = post(alice, "meet in 上海", room="lobby")
    store_edit(user=alice, message_id=edited.id, body="meet in 深圳 instead")
    store_deletion(user=alice, message_id=deleted.id)
    client = api(alice)
    assert bodies(client, q="北京") == []
    assert bodies(client, q="深圳") == ["meet in 深圳 instead"]
    assert bodies(client, q="instead") == ["meet in 深圳 instead"]
    assert bodies(client, q="上海") == []
    assert bodies(client, q="meet") == ["meet in 深圳 instead"]


def test_batched_messages_are_found(alice, make_room, api):
    """Messages stored by the writer's batch path (one round trip on PG) are indexed."""
    room = make_room("lobby", owner=alice)
    results = store_messages(
        [
            {"sender": alice, "room": "lobby", "body": f"批量 {n}", "client_id": n}
            for n in "012"
        ]
    )
    assert all(created for _, created in results)
    assert room.messages.count() == 3
    assert bodies(api(alice), q="批量") == ["批量 2", "批量 1", "批量 0"]


@pytest.mark.django_db(transaction=True)
def test_messages_of_one_round_trip_are_found(alice, make_room, api):
    """Outside a transaction (the writer's thread) PostgreSQL stores a batch with
    chat.services.one_trip's own INSERT, which names its columns (mentions,
    reactions, attachments) itself: the index still sees what it stored."""
    room = make_room("lobby", owner=alice)
    assert not connection.in_atomic_block
    results = store_messages(
        [
            {"sender": alice, "room": "lobby", "body": f"往返 {n}", "client_id": n}
            for n in "012"
        ]
    )
    assert all(created for _, created in results)
    assert list(room.messages.values_list("attachments", flat=True)) == [[], [], []]
    assert bodies(api(alice), q="往返") == ["往返 2", "往返 1", "往返 0"]


def test_highlight_is_escaped_html_with_only_marks(alice, make_room, api):
    """The body's HTML is escaped; each match is in <mark>, in the case written."""
    make_room("lobby", owner=alice)
    post(alice, '<script>alert("上海")</script> Hello hello', room="lobby")
    result = api(alice).get("/api/search/", {"q": "上海 hello"}).json()["results"][0]
    assert result["highlight"] == (
        "&lt;script&gt;alert(&quot;<mark>上海</mark>&quot;)&lt;/script&gt; "
        "<mark>Hello</mark> <mark>hello</mark>"
    )
    assert result["message"]["body"].startswith("<script>")


def test_a_long_message_is_cut_around_the_match(alice, make_room, api):
    """A long body shows the part around its first match, with ellipses."""
    make_room("lobby", owner=alice)
    post(alice, "前" * 300 + "上海" + "后" * 300, room="lobby")
    text = api(alice).get("/api/search/", {"q": "上海"}).json()["results"][0]
    assert text["highlight"].startswith("…前")
    assert text["highlight"].endswith("后…")
    assert "<mark>上海</mark>" in text["highlight"]
    assert len(text["highlight"]) < 250


def test_filters_and_pages(alice, bob, make_room, api):
    """room, with, from narrow the search; before and limit page it newest first."""
    make_room("lobby", owner=alice, members=[bob])
    ids = [post(alice, f"report {n}", room="lobby").id for n in range(5)]
    post(bob, "report bob", room="lobby")
    post(bob, "report direct", to="alice")
    client = api(alice)
    assert bodies(client, q="report", room="lobby", **{"from": "bob"}) == ["report bob"]
    assert bodies(client, q="report", **{"with": "bob"}) == ["report direct"]
    page = client.get(
        "/api/search/", {"q": "report", "from": "alice", "limit": 2}
    ).json()
    assert [r["message"]["id"] for r in page["results"]] == [ids[4], ids[3]]
    assert page["more"] is True
    last = client.get(
        "/api/search/", {"q": "report", "from": "alice", "before": ids[1]}
    ).json()
    assert [r["message"]["id"] for r in last["results"]] == [ids[0]]
    assert last["more"] is False


@pytest.mark.parametrize(
    ("params", "status", "code"),
    [
        ({}, 400, "invalid"),
        ({"q": "   "}, 400, "invalid"),
        ({"q": "x", "limit": "0"}, 400, "invalid"),
        ({"q": "x", "before": "-1"}, 400, "invalid"),
        ({"q": "x", "room": "nowhere"}, 404, "not_found"),
        ({"q": "x", "from": "nobody"}, 404, "not_found"),
        ({"q": "x", "room": "lobby", "with": "bob"}, 400, "invalid"),
        ({"q": "x\x00y", "from": "a\x00b"}, 404, "not_found"),
    ],
)
def test_bad_queries_are_refused_with_a_code(
    alice, bob, make_room, api, params, status, code
):
    """Every refusal is the API's error shape, never a 5xx."""
    make_room("lobby", owner=alice)
    response = api(alice).get("/api/search/", params)
    assert response.status_code == status
    assert response.json()["code"] == code


def test_punctuation_only_and_nul_find_nothing(alice, make_room, api):
    """A query of punctuation (no words) or with a NUL is an empty answer."""
    make_room("lobby", owner=alice)
    post(alice, "hello", room="lobby")
    assert bodies(api(alice), q="!!! ???") == []
    assert bodies(api(alice), q="hel\x00") == ["hello"]


def test_search_needs_a_login():
    """Without a session or token: 401 with a code."""
    response = APIClient().get("/api/search/", {"q": "x"})
    assert response.status_code == 401
    assert response.json()["code"] == "unauthenticated"


SAMPLES = [
    "我家在上海东边",
    "Hello上海! example.com don't 〇〇",
    "東京タワー、行きました。",
    "저는 한국어를 공부합니다",
    "Ünïcödé «quotes» — dash…",
    "tab\tnew\nline 123,456",
    "𠀀𠀁 extension B",
    "ｶﾀｶﾅ full-width！",
]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL only")
def test_postgres_splits_text_as_python_does():
    """The SQL function of migration 0006 and chat.search.text make the same words."""
    with connection.cursor() as cursor:
        for sample in SAMPLES:
            cursor.execute("SELECT chat_search_text(%s)", [sample])
            assert cursor.fetchone()[0].split() == chat_search_text(sample).split()


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL only")
def test_postgres_reads_the_search_index_not_the_table(alice, make_room):
    """EXPLAIN of the search shows the GIN index, and no sequential scan."""
    from chat.search.query import postgres_indexed_sql, postgres_recent_sql
    from chat.search.text import postgres_tsquery, query_terms

    room = make_room("lobby", owner=alice)
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO chat_message (conversation_id, sender_id, body, client_id, "
            "created_at, mentions, reactions, attachments) "
            "SELECT %s, %s, 'filler message ' || g, 'f' || g, now(), "
            "'[]', '[]', '[]' FROM generate_series(1, 5000) g",
            [room.pk, alice.pk],
        )
        post(alice, "我家在上海东边", room="lobby")
        cursor.execute("ANALYZE chat_message")
        sql = postgres_indexed_sql("m.conversation_id = ANY(%s)")
        cursor.execute(
            "EXPLAIN " + sql, [postgres_tsquery(query_terms("上海")), [room.pk], 21]
        )
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "message_search" in plan, plan
    assert "Seq Scan" not in plan, plan
    recent = postgres_recent_sql("m.conversation_id = ANY(%s)")
    with connection.cursor() as cursor:
        cursor.execute(
            "EXPLAIN " + recent,
            [[room.pk], 200, postgres_tsquery(query_terms("x")), 21],
        )
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "Seq Scan" not in plan, plan


def test_a_match_far_back_and_a_word_in_every_message(alice, make_room, api):
    """A rare match behind hundreds of newer messages is found; a common word
    gives the newest page of its many matches."""
    from chat.models import Message

    room = make_room("lobby", owner=alice)
    needle = post(alice, "我家在上海东边", room="lobby")
    Message.objects.bulk_create(
        Message(conversation=room, sender=alice, body=f"common {n}", client_id=f"c{n}")
        for n in range(300)
    )
    client = api(alice)
    found = client.get("/api/search/", {"q": "上海"}).json()
    assert [r["message"]["id"] for r in found["results"]] == [needle.id]
    page = client.get("/api/search/", {"q": "common", "limit": 5}).json()
    assert [r["message"]["body"] for r in page["results"]] == [
        f"common {n}" for n in (299, 298, 297, 296, 295)
    ]
    assert page["more"] is True


def test_warnings_name_what_breaks_search():
    """A non-UTF8 database or an LC_CTYPE of C is a warning; C.UTF-8 is not."""
    assert [w.id for w in search_warnings("SQL_ASCII", "C.UTF-8")] == ["chat.W001"]
    assert [w.id for w in search_warnings("UTF8", "C")] == ["chat.W002"]
    assert [w.id for w in search_warnings("UTF8", "POSIX")] == ["chat.W002"]
    assert search_warnings("UTF8", "C.UTF-8") == []
    assert search_warnings("UTF8", "en_US.UTF-8") == []
    # The test databases are made UTF8 with a UTF-8 LC_CTYPE.
    assert check_search_collation(databases=["default"]) == []


def test_history_around_a_message_is_centred_on_it(alice, bob, make_room, api):
    """?around=<id> answers a page with the message in its middle, both ways."""
    make_room("lobby", owner=alice)
    ids = [post(alice, f"m{n}", room="lobby").id for n in range(20)]
    client = api(alice)
    page = client.get(
        "/api/rooms/lobby/messages/", {"around": ids[10], "limit": 6}
    ).json()
    assert [m["id"] for m in page["messages"]] == ids[7:13]
    assert (page["more"], page["more_after"]) == (True, True)
    start = client.get(
        "/api/rooms/lobby/messages/", {"around": ids[1], "limit": 6}
    ).json()
    assert [m["id"] for m in start["messages"]] == ids[0:6]
    assert (start["more"], start["more_after"]) == (False, True)
    end = client.get(
        "/api/rooms/lobby/messages/", {"around": ids[19], "limit": 6}
    ).json()
    assert [m["id"] for m in end["messages"]] == ids[14:20]
    assert (end["more"], end["more_after"]) == (True, False)
    direct = [post(bob, f"d{n}", to="alice").id for n in range(3)]
    dm = client.get("/api/dm/bob/messages/", {"around": direct[1]}).json()
    assert [m["id"] for m in dm["messages"]] == direct
    mixed = client.get(
        "/api/rooms/lobby/messages/", {"around": ids[3], "before": ids[5]}
    )
    assert mixed.status_code == 400
    assert mixed.json()["code"] == "invalid"


def test_search_page_shows_results_with_links_that_open_in_place(
    client, alice, bob, make_room
):
    """/search/ lists matches with where, who and the highlight; each links to
    its conversation at the message; filters narrow it."""
    make_room("lobby", owner=alice, members=[bob])
    in_room = post(bob, "我家在上海东边 <b>", room="lobby")
    direct = post(bob, "上海 again", to="alice")
    client.force_login(alice)
    html = client.get("/search/", {"q": "上海"}).content.decode()
    assert f'href="/rooms/lobby/?around={in_room.id}"' in html
    assert f'href="/dm/bob/?around={direct.id}"' in html
    assert "我家在<mark>上海</mark>东边 &lt;b&gt;" in html
    only_room = client.get("/search/", {"q": "上海", "room": "lobby"}).content.decode()
    assert f"around={direct.id}" not in only_room
    refused = client.get("/search/", {"q": "上海", "from": "nobody"}).content.decode()
    assert 'id="search-error"' in refused
    empty = client.get("/search/", {"q": "nothing"}).content.decode()
    assert "No message matches." in empty
