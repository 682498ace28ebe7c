"""The benchmark harness: it runs, and it counts deliveries right.

The live run starts its own daphne on a SQLite file of its own, so it runs in
the embedded pass only (the services pass would measure the same thing again).
"""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from bench.cli import SCENARIOS
from bench.client import Target
from bench.fanout import FanoutPlan, FanoutRun, Member
from tests.conftest import USES_SERVICES

ROOT = Path(__file__).resolve().parent.parent.parent


def _run(members: int = 3, senders: int = 2) -> FanoutRun:
    plan = FanoutPlan(name="t", room="r", members=members, senders=senders, duration=1)
    users = [{"token": "x"}] * members
    return FanoutRun(plan, Target("bare", 1, stores=False), users)


def _sent(run: FanoutRun, count_per_sender: int) -> None:
    """Pretend each sender sent and had acknowledged `count_per_sender` messages."""
    run.members = [
        Member(index=i, socket=None, last_seq=[-1] * run.plan.senders)
        for i in range(run.plan.members)
    ]
    for seq in range(count_per_sender):
        for sender in range(run.plan.senders):
            run.index[f"c-{sender}-{seq}"] = len(run.meta)
            run.meta.append((sender, seq, 0.0))
            run.ack_at.append(1.0)
            run.ack_id.append(len(run.meta))
    run.acked = len(run.meta)


def test_counting_finds_lost_duplicated_and_reordered_deliveries():
    """A member that misses one message, gets one twice and one late is counted so."""
    run = _run(members=2, senders=1)
    _sent(run, count_per_sender=4)  # messages 0..3 from sender 0
    complete, faulty = run.members
    for idx in range(4):
        run.deliver(complete, idx, now=2.0)
    for idx in (0, 2, 1, 2):  # 3 lost, 2 twice, 1 after 2
        run.deliver(faulty, idx, now=2.0)
    result = run.count()
    assert result["lost_live"] == 1
    assert result["duplicates"] == 1
    assert result["out_of_order"] == 1
    assert result["deliveries"] == 7
    assert result["deliveries_expected"] == 8
    assert run.missing(faulty) == [3]
    assert run.missing(complete) == []


def test_frames_of_every_target_are_read_alike():
    """Our compact JSON and the tutorial's spaced JSON give the same type and id."""
    from bench.client import frame_client_id, frame_type

    ours = '{"type":"message","id":5,"body":"b","client_id":"ab-1-2","x":1}'
    tutorial = json.dumps({"type": "message", "body": "b", "client_id": "ab-1-2"})
    for text in (ours, tutorial):
        assert frame_type(text) == "message"
        assert frame_client_id(text) == "ab-1-2"
    assert frame_type("pong") is None


def _bench(out: Path, *args: str) -> tuple[dict, Path, str]:
    """Run a two-second saturating fan-out of 6 members on our embedded server."""
    done = subprocess.run(  # noqa: S603
        [
            sys.executable,
            "-m",
            "bench",
            "--engines",
            "embedded",
            "--targets",
            "ours",
            "--scenarios",
            "fanout",
            "--members",
            "6",
            "--senders",
            "2",
            "--duration",
            "2",
            "--no-pin",
            "--out",
            str(out),
            *args,
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    (folder,) = out.iterdir()
    results = json.loads((folder / "results.json").read_text())
    (run,) = results["runs"]
    return run, folder, done.stdout


embedded_only = pytest.mark.skipif(
    USES_SERVICES, reason="the bench's own run: embedded pass only"
)


@embedded_only
def test_quick_fanout_against_our_server_loses_nothing(tmp_path):
    """A short saturating run on our server: every acked message reaches every member
    once, and the JSON and Markdown reports are written."""
    run, folder, stdout = _bench(tmp_path)
    assert run["target"] == "ours"
    assert run["messages_acked"] > 0
    assert run["deliveries"] == run["messages_acked"] * 6
    assert run["lost_live"] == 0
    assert run["lost_after_sync"] == 0
    assert run["duplicates"] == 0
    assert run["out_of_order"] == 0
    assert run["errors"] == 0
    assert "| embedded | ours | fanout-saturate |" in (folder / "report.md").read_text()
    assert "fanout-saturate" in stdout


@embedded_only
def test_our_fanout_does_not_depend_on_the_channel_capacity(tmp_path):
    """With channels of 2 messages our server still loses nothing live: a
    process's own messages reach its members without the layer (chat.realtime.hub)."""
    run, _, _ = _bench(tmp_path, "--server-env", "CHAT_CHANNEL_CAPACITY=2")
    assert run["messages_acked"] > 0
    assert run["lost_live"] == 0
    assert run["deliveries"] == run["messages_acked"] * 6
    assert run["duplicates"] == 0


def test_help_lists_the_scenarios():
    """`python -m bench --help` names every scenario."""
    done = subprocess.run(  # noqa: S603
        [sys.executable, "-m", "bench", "--help"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    for name in SCENARIOS:
        assert name in done.stdout
    assert "longpoll" in done.stdout


@embedded_only
def test_quick_search_finds_the_same_needles_at_each_size(tmp_path):
    """The search scenario at two small sizes: 100 needles at each, a page of
    20 for the needles and the word in every message, none for a word in none."""
    out = tmp_path / "out"
    done = subprocess.run(  # noqa: S603
        [
            sys.executable,
            "-m",
            "bench",
            "--engines",
            "embedded",
            "--targets",
            "ours",
            "--scenarios",
            "search",
            "--search",
            "400,800",
            "--repeats",
            "2",
            "--no-pin",
            "--out",
            str(out),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    (folder,) = out.iterdir()
    runs = json.loads((folder / "results.json").read_text())["runs"]
    assert [(r["stored"], r["needles"]) for r in runs] == [(400, 100), (800, 100)]
    for run in runs:
        rows = {name: timing["rows"] for name, timing in run["searches"].items()}
        assert rows == {
            "search 上海 (needles)": 20,
            "search 上海东边 (needles, phrase of pairs)": 20,
            "search 'quarterly rep' (needles, prefix)": 20,
            "search 'history' (every message)": 20,
            "search 'nowhere' (no message)": 0,
        }
    assert "Search (ours)" in (folder / "report.md").read_text()


def _fanout(engine, target, scenario, deliveries, **extra):
    return {
        "engine": engine,
        "target": target,
        "scenario": scenario,
        "members": 50,
        "messages_per_s": deliveries / 50,
        "deliveries_per_s": deliveries,
        "lost_live": 0,
        "duplicates": 0,
        "latency_ms": {"p50": 1.0, "p99": 40.0},
        "delivered_pct": 100.0,
        "cpu": {"redis_share": 0.1, "postgres_share": 0.2},
        **extra,
    }


def test_targets_are_ratios_to_the_references_of_the_same_engine():
    """The report compares ours with the tutorial and bare runs of its own engine."""
    from bench.report import targets

    runs = [
        _fanout("services", "ours", "fanout-saturate", 50_000),
        _fanout("services", "tutorial", "fanout-saturate", 10_000),
        _fanout("services", "bare", "fanout-saturate", 80_000),
        _fanout("embedded", "tutorial", "fanout-saturate", 1),
    ]
    rows = {r["target"]: r for r in targets(runs) if r["engine"] == "services"}
    assert rows["saturated deliveries/s vs tutorial"]["measured"] == 5.0
    assert rows["saturated deliveries/s vs tutorial"]["met"] is True
    assert rows["saturated deliveries/s vs bare"]["measured"] == 0.62
    assert rows["saturated deliveries/s vs bare"]["met"] is True


def test_capacity_model_names_what_binds_first():
    """A process that delivers little is bound by deliveries; Redis grows with them."""
    from bench.capacity import model

    runs = [
        _fanout("services", "ours", "fanout-saturate", 1_000),
        {
            "engine": "services",
            "target": "ours",
            "scenario": "idle",
            "kib_per_connection": 40.0,
            "handshakes_per_s": 100.0,
        },
    ]
    rows = model({"engines": ["services"], "runs": runs})
    assert [r["users"] for r in rows] == [10_000, 100_000, 1_000_000]
    million = rows[-1]
    assert million["bound_by"] == "deliveries"
    # 3,333 msg/s x 50 members over 500 deliveries/s a process (half of 1,000).
    assert million["processes"] == 334
    assert million["redis_cores"] == round(166_666.7 * 0.1 / 1_000, 2)


def _writers(out: Path, *args: str) -> list[dict]:
    """Run the writers scenario with tiny sizes on our embedded server."""
    done = subprocess.run(  # noqa: S603
        [
            sys.executable,
            "-m",
            "bench",
            "--engines",
            "embedded",
            "--targets",
            "ours",
            "--scenarios",
            "writers",
            "--writers",
            "1,2",
            "--writer-clients",
            "2",
            "--writer-window",
            "3",
            "--writer-duration",
            "1",
            "--no-pin",
            "--out",
            str(out),
            *args,
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    (folder,) = out.iterdir()
    assert "Writer processes on one database" in (folder / "report.md").read_text()
    return json.loads((folder / "results.json").read_text())["runs"]


@embedded_only
def test_writer_processes_each_get_their_messages_stored(tmp_path):
    """One and then two processes on one database: every process's clients have
    messages acknowledged, none refused, none left waiting at the end."""
    one, two = _writers(tmp_path)
    assert (one["scenario"], two["scenario"]) == ("writers-1", "writers-2")
    assert len(one["per_process_per_s"]) == 1
    assert len(two["per_process_per_s"]) == 2
    for run in (one, two):
        assert all(rate > 0 for rate in run["per_process_per_s"])
        assert run["stored_messages"] > 0
        assert run["stored_changes"] == 0
        assert run["errors"] == 0
        assert run["unanswered"] == 0


def test_change_frames_are_counted_like_messages():
    """In a fan-out with changes, each member should get each change once: a change
    one member missed is lost, one heard twice a duplicate, a lower change_id after
    a higher one out of order; the actor's own copy answers the change."""
    import asyncio

    from bench.changes import change

    run = FanoutRun(
        FanoutPlan(
            name="t", room="r", members=2, senders=1, duration=1, change_every=2
        ),
        Target("ours", 1, stores=True),
        [{"token": "x"}] * 2,
    )
    _sent(run, count_per_sender=1)
    run.windows = [asyncio.Semaphore(0)]
    sender, other = run.members
    frames = []
    for turn, message_id in enumerate((11, 12)):
        text, key = change(message_id=message_id, turn=turn, client_id=f"c{turn}")
        assert json.loads(text)["type"] == ("message.edit", "reaction.add")[turn]
        run.change_index[key] = len(run.change_meta)
        run.change_meta.append((0, 0.0))
        run.change_answered_at.append(0.0)
        answer = {"type": key[0], "id": message_id, "change_id": 100 + turn}
        frames.append(json.dumps(answer))
    for text in frames:
        run.deliver_change(sender, text, now=1.0)
    run.deliver_change(other, frames[1], now=1.0)
    run.deliver_change(other, frames[1], now=1.0)
    result = run.count()
    assert result["changes_answered"] == 2
    assert run.windows[0]._value == 2  # both slots given back
    assert result["change_deliveries"] == 3
    assert result["change_lost_live"] == 1  # the edit never reached `other`
    assert result["change_duplicates"] == 1
    assert result["change_out_of_order"] == 0
    run.deliver_change(other, frames[0], now=1.0)  # 100 after 101
    assert run.count()["change_out_of_order"] == 1


@embedded_only
def test_fanout_with_changes_delivers_every_change_once(tmp_path):
    """A short fan-out where one frame in 3 is an edit or a reaction: every
    stored change reaches every member once, in change_id order, and every
    acked message still reaches all."""
    run, folder, _ = _bench(
        tmp_path, "--scenarios", "fanout-changes", "--change-every", "3"
    )
    assert run["scenario"] == "fanout-changes-1in3"
    assert run["changes_answered"] > 0
    assert run["changes_refused"] == 0
    assert run["change_deliveries"] == run["changes_answered"] * 6
    assert run["change_lost_live"] == 0
    assert run["change_duplicates"] == 0
    assert run["change_out_of_order"] == 0
    assert run["deliveries"] == run["messages_acked"] * 6
    assert run["errors"] == 0
    assert "Changes in the room fan-out" in (folder / "report.md").read_text()


@embedded_only
def test_writers_with_changes_store_edits_and_reactions(tmp_path):
    """Writers with one frame in 3 an edit or a reaction: both kinds are
    answered by their change frame, nothing refused or left waiting."""
    runs = _writers(tmp_path, "--scenarios", "writers-changes", "--change-every", "3")
    assert [r["scenario"] for r in runs] == [
        "writers-1-changes-1in3",
        "writers-2-changes-1in3",
    ]
    for run in runs:
        assert run["stored_messages"] > 0
        assert run["stored_changes"] > 0
        assert run["errors"] == 0
        assert run["unanswered"] == 0


@pytest.mark.django_db
def test_the_history_fixture_stores_rows_the_server_reads(make_user):
    """bench.fixtures' SQL insert writes every column a message needs (the
    JSON state fields have no database default): the rows read back whole."""
    from bench.fixtures import fill_history
    from chat import events
    from chat.models import Message
    from chat.selectors import with_message_relations

    for name in ("bench0", "bench1", "bench2"):
        make_user(name)
    result = fill_history(
        total=30, big="history", quiet="history-quiet", quiet_count=10
    )
    assert result["total"] == Message.objects.count() == 30
    newest = with_message_relations(Message.objects.order_by("-id")).first()
    payload = events.message_payload(newest)
    assert (payload["reactions"], payload["mentions"]) == ([], [])


@embedded_only
def test_the_presence_storm_runs_with_and_without_presence(tmp_path):
    """40 connections in rooms of 10 and 5 drop and reconnect at once, with
    presence on and off: the reconnect (within the grace) tells nobody; the
    connects told each user's rooms; fan-out is compared between the runs."""
    out = tmp_path / "out"
    done = subprocess.run(  # noqa: S603
        [
            sys.executable,
            "-m",
            "bench",
            "--engines",
            "embedded",
            "--targets",
            "ours",
            "--scenarios",
            "presence",
            "--presence",
            "40",
            "--big-members",
            "10",
            "--members",
            "5",
            "--presence-duration",
            "2",
            "--presence-rate",
            "10",
            "--no-pin",
            "--out",
            str(out),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    (folder,) = out.iterdir()
    runs = {
        r["scenario"]: r
        for r in json.loads((folder / "results.json").read_text())["runs"]
    }
    on, off, compared = runs["presence-on"], runs["presence-off"], runs["presence"]
    # 20 users in rooms of 10 (9 others each), 20 in rooms of 5 (4 others).
    assert 0 < on["presence_frames_at_connect"] <= 20 * 9 + 20 * 4
    assert off["presence_frames_at_connect"] == 0
    assert on["presence_frames_storm"] == 0
    assert off["presence_frames_storm"] == 0
    for run in (on, off):
        assert run["connections"] == 40
        assert run["failed"] == 0
        assert run["reconnect_failed"] == 0
        assert run["messages_sent"] > 0
        assert run["fanout_per_s"] > 0
        assert run["server_cpu_s"] > 0
    assert compared["fanout_ratio"] > 0
    assert "Presence: every connection drops" in (folder / "report.md").read_text()
