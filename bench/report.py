"""What a run leaves: a table in the terminal, JSON, Markdown and a latency plot.

The ratios against the issue's targets are computed here from the runs, per
engine, always from figures measured in the same run.
"""

import json
import logging
import os
import platform
import subprocess
from dataclasses import asdict
from importlib import metadata
from pathlib import Path

from . import capacity
from .servers import ROOT

logger = logging.getLogger(__name__)

PACKAGES = ("django", "channels", "channels-redis", "daphne", "twisted", "websockets")


# --- gathering ------------------------------------------------------------------


def machine() -> dict:
    model = ""
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    try:
        commit = subprocess.run(
            ["git", "describe", "--always", "--dirty"],  # noqa: S607
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=False,
        ).stdout.strip()
    except OSError:
        commit = ""
    return {
        "cpu_model": model,
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "packages": versions,
        "commit": commit,
        "load_average": [round(v, 2) for v in os.getloadavg()],
    }


def collect(*, runs, sizes, command, cores, engines, seconds, interrupted) -> dict:
    return {
        "command": command,
        "machine": machine(),
        "pinning": {"server_core": cores.server, "client_core": cores.client},
        "engines": list(engines),
        "sizes": asdict(sizes),
        "seconds": round(seconds, 1),
        "interrupted": interrupted,
        "targets": targets(runs),
        "runs": runs,
    }


def _find(runs, engine, target, scenario=None, prefix=None):
    for run in runs:
        if run["engine"] != engine or run["target"] != target:
            continue
        if scenario is not None and run["scenario"] == scenario:
            return run
        if prefix is not None and run["scenario"].startswith(prefix):
            return run
    return None


def _ratio(a, b):
    if a is None or not b:
        return None
    return round(a / b, 2)


def targets(runs: list[dict]) -> list[dict]:
    """The issue's targets, one row per engine and target: measured, goal, met."""
    rows = []
    for engine in sorted({r["engine"] for r in runs}):

        def add(name, value, goal, met, engine=engine):
            rows.append(
                {
                    "engine": engine,
                    "target": name,
                    "measured": value,
                    "goal": goal,
                    "met": met,
                }
            )

        ours = _find(runs, engine, "ours", "fanout-saturate")
        tutorial = _find(runs, engine, "tutorial", "fanout-saturate")
        bare = _find(runs, engine, "bare", "fanout-saturate")
        if ours:
            value = ours["deliveries_per_s"]
            if tutorial:
                r = _ratio(value, tutorial["deliveries_per_s"])
                add("saturated deliveries/s vs tutorial", r, ">= 5x", _ge(r, 5))
            if bare:
                r = _ratio(value, bare["deliveries_per_s"])
                add("saturated deliveries/s vs bare", r, ">= 0.5x", _ge(r, 0.5))
            add(
                "saturated: lost live / duplicates",
                f"{ours['lost_live']} / {ours['duplicates']}",
                "0 / 0",
                ours["lost_live"] == 0 and ours["duplicates"] == 0,
            )
        half = _find(runs, engine, "ours", "fanout-rate-50%")
        if half:
            p99 = half["latency_ms"]["p99"]
            add("p99 ms at half the saturated rate", p99, "<= 50", _le(p99, 50))
        big = _find(runs, engine, "ours", prefix="room")
        if big:
            pct = _delivered_pct(big)
            add(
                f"{big['scenario']}: delivered % of sent / p99 ms",
                f"{pct} / {big['latency_ms']['p99']}",
                "100 / <= 100",
                pct == 100 and _le(big["latency_ms"]["p99"], 100),
            )
        idle = _find(runs, engine, "ours", "idle")
        if idle:
            kib = idle["kib_per_connection"]
            add("KiB per idle connection", kib, "<= 30", _le(kib, 30))
            ref = _find(runs, engine, "tutorial", "idle")
            if ref:
                r = _ratio(idle["handshakes_per_s"], ref["handshakes_per_s"])
                add("handshakes/s vs tutorial (no auth)", r, ">= 0.8x", _ge(r, 0.8))
        pages = [
            r
            for r in runs
            if r["engine"] == engine and r["scenario"] == "history" and "pages" in r
        ]
        if len(pages) >= 2:
            small, large = pages[0], pages[-1]
            worst = max(
                (
                    _ratio(large["pages"][k]["median_ms"], v["median_ms"]) or 0,
                    k,
                )
                for k, v in small["pages"].items()
            )
            add(
                f"page time at {large['stored']:,} / at {small['stored']:,} "
                f"(worst: {worst[1]})",
                worst[0],
                "<= 2x",
                _le(worst[0], 2),
            )
        searched = [
            r for r in runs if r["engine"] == engine and r["scenario"] == "search"
        ]
        if len(searched) >= 2:
            small, large = searched[0], searched[-1]
            worst = max(
                (
                    _ratio(large["searches"][k]["median_ms"], v["median_ms"]) or 0,
                    k,
                )
                for k, v in small["searches"].items()
            )
            add(
                f"search p50 at {large['stored']:,} / at {small['stored']:,} "
                f"(worst: {worst[1]})",
                worst[0],
                "<= 3x",
                _le(worst[0], 3),
            )
        storm = _find(runs, engine, "ours", "presence")
        if storm:
            add(
                "presence storm: fan-out / without presence",
                storm["fanout_ratio"],
                ">= 0.9x",
                bool(storm["within_10pct"]),
            )
        poll = _find(runs, engine, "ours", "longpoll")
        if poll:
            add(
                f"extra threads for {poll['polls']} waiting long polls",
                poll["extra_threads"],
                "0",
                poll["extra_threads"] <= 0,
            )
    return rows


def _ge(value, goal):
    return None if value is None else value >= goal


def _le(value, goal):
    return None if value is None else value <= goal


# --- tables -------------------------------------------------------------------------


def _fmt(value) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "NO"
    if isinstance(value, float):
        return f"{value:,.1f}" if abs(value) >= 100 else f"{value:g}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def tables(results: dict) -> list[tuple[str, list[str], list[list[str]]]]:
    runs = results["runs"]
    out = []
    fan = [r for r in runs if "deliveries_per_s" in r]
    if fan:
        headers = [
            "engine",
            "target",
            "scenario",
            "msg/s",
            "unacked",
            "deliveries/s",
            "p50 ms",
            "p99 ms",
            "delivered %",
            "lost live",
            "lost after sync",
            "dup",
            "out of order",
            "server CPU",
            "client CPU",
            "Redis CPU",
            "PG CPU",
            "other CPU",
        ]
        rows = [
            [
                r["engine"],
                r["target"],
                r["scenario"],
                _fmt(r["messages_per_s"]),
                _fmt(r["messages_sent"] - r["messages_acked"]),
                _fmt(r["deliveries_per_s"]),
                _fmt(r["latency_ms"]["p50"]),
                _fmt(r["latency_ms"]["p99"]),
                _fmt(_delivered_pct(r)),
                _fmt(r["lost_live"]),
                _after_sync(r),
                _fmt(r["duplicates"]),
                _fmt(r["out_of_order"]),
                _fmt(r["cpu"]["server_share"]),
                _fmt(r["cpu"]["client_share"]),
                _fmt(r["cpu"].get("redis_share")),
                _fmt(r["cpu"].get("postgres_share")),
                _fmt(r["cpu"].get("others_share")),
            ]
            for r in fan
        ]
        out.append(("Room fan-out", headers, rows))
    mixed = [r for r in fan if "changes_sent" in r]
    if mixed:
        headers = [
            "engine",
            "scenario",
            "msg/s",
            "changes/s",
            "deliveries/s (both)",
            "change frames delivered",
            "changes refused",
            "changes unanswered",
            "changes lost live",
            "dup",
            "out of change_id order",
            "errors",
        ]
        rows = [
            [
                r["engine"],
                r["scenario"],
                _fmt(r["messages_per_s"]),
                _fmt(r["changes_per_s"]),
                _fmt(r["deliveries_per_s"]),
                _fmt(r["change_deliveries"]),
                _fmt(r["changes_refused"]),
                _fmt(r["changes_sent"] - r["changes_answered"] - r["changes_refused"]),
                _fmt(r["change_lost_live"]),
                _fmt(r["change_duplicates"]),
                _fmt(r["change_out_of_order"]),
                _fmt(r["errors"]),
            ]
            for r in mixed
        ]
        out.append(("Changes in the room fan-out (ours)", headers, rows))
    writers = [r for r in runs if "stores_per_s" in r]
    if writers:
        headers = [
            "engine",
            "scenario",
            "processes",
            "clients",
            "stores/s",
            "messages/s",
            "changes/s",
            "per process",
            "answer p50 ms",
            "answer p99 ms",
            "unanswered",
            "errors",
            "waiting on the lock (mean)",
            "servers CPU",
            "client CPU",
            "Redis CPU",
            "PG CPU",
            "other CPU",
        ]
        rows = [
            [
                r["engine"],
                r["scenario"],
                _fmt(r["processes"]),
                _fmt(r["processes"] * r["clients_per_process"]),
                _fmt(r["stores_per_s"]),
                _fmt(r["messages_per_s"]),
                _fmt(r["changes_per_s"]),
                " / ".join(_fmt(v) for v in r["per_process_per_s"]),
                _fmt(r["answer_ms"]["p50"]),
                _fmt(r["answer_ms"]["p99"]),
                _fmt(r["unanswered"]),
                _fmt(r["errors"]),
                _lock_waits(r.get("lock_waits")),
                _fmt(r["cpu"]["servers_share"]),
                _fmt(r["cpu"]["client_share"]),
                _fmt(r["cpu"]["redis_share"]),
                _fmt(r["cpu"]["postgres_share"]),
                _fmt(r["cpu"]["others_share"]),
            ]
            for r in writers
        ]
        out.append(("Writer processes on one database (ours)", headers, rows))
    idle = [r for r in runs if r["scenario"] == "idle"]
    if idle:
        headers = [
            "engine",
            "target",
            "connections",
            "handshakes/s",
            "KiB/connection",
            "server threads",
            "failed",
            "ping answered",
        ]
        rows = [
            [
                r["engine"],
                r["target"],
                _fmt(r["connections"]),
                _fmt(r["handshakes_per_s"]),
                _fmt(r["kib_per_connection"]),
                _fmt(r["threads_during"]),
                _fmt(r["failed"]),
                r["ping_answered"],
            ]
            for r in idle
        ]
        out.append(("Idle connections", headers, rows))
    history = [r for r in runs if r["scenario"] == "history"]
    if history:
        headers = ["engine", "stored", "page", "median ms", "p90 ms", "rows"]
        rows = []
        for r in history:
            for name, page in r["pages"].items():
                rows.append(
                    [
                        r["engine"],
                        _fmt(r["stored"]),
                        name,
                        _fmt(page["median_ms"]),
                        _fmt(page["p90_ms"]),
                        _fmt(page["rows"]),
                    ]
                )
        out.append(("History and sync pages (ours)", headers, rows))
    searched = [r for r in runs if r["scenario"] == "search"]
    if searched:
        headers = ["engine", "stored", "search", "median ms", "p90 ms", "results"]
        rows = []
        for r in searched:
            for name, timing in r["searches"].items():
                rows.append(
                    [
                        r["engine"],
                        _fmt(r["stored"]),
                        name,
                        _fmt(timing["median_ms"]),
                        _fmt(timing["p90_ms"]),
                        _fmt(timing["rows"]),
                    ]
                )
        out.append(("Search (ours)", headers, rows))
    polls = [r for r in runs if r["scenario"] == "longpoll"]
    if polls:
        headers = [
            "engine",
            "polls",
            "threads before",
            "threads waiting",
            "KiB/poll",
            "answered (message/empty)",
            "errors",
            "wake p50 ms",
            "wake p99 ms",
        ]
        rows = [
            [
                r["engine"],
                _fmt(r["polls"]),
                _fmt(r["threads_before"]),
                _fmt(r["threads_waiting"]),
                _fmt(r["kib_per_poll"]),
                f"{r['answered_with_message']}/{r['answered_empty']}",
                _fmt(r["errors"]),
                _fmt(r["wake_ms"]["p50"]),
                _fmt(r["wake_ms"]["p99"]),
            ]
            for r in polls
        ]
        out.append(("Waiting long polls (ours)", headers, rows))
    for r in runs:
        profile = r.get("profile")
        if not profile or not profile["samples"]:
            continue
        headers = [
            "innermost frame (self)",
            "self %",
            "anywhere on the stack",
            "total %",
        ]
        own, total = profile["self_pct"][:15], profile["total_pct"][:25]
        rows = []
        for i in range(max(len(own), len(total))):
            a = own[i] if i < len(own) else ["", ""]
            b = total[i] if i < len(total) else ["", ""]
            rows.append([a[0], _fmt(a[1]), b[0], _fmt(b[1])])
        title = (
            f"Where the server's time goes: {r['engine']}/{r['target']} "
            f"{r['scenario']} (py-spy, {profile['samples']:,} samples)"
        )
        out.append((title, headers, rows))
    plan = capacity.model(results)
    if plan:
        headers = [
            "engine",
            "users",
            "msg/s",
            "deliveries/s",
            "processes (1 core each)",
            "bound by",
            "server memory GiB",
            "reconnect all, s",
            "Redis cores",
            "PostgreSQL cores",
        ]
        rows = [
            [
                p["engine"],
                _fmt(p["users"]),
                _fmt(p["messages_per_s"]),
                _fmt(p["deliveries_per_s"]),
                _fmt(p["processes"])
                + (
                    " (only 1 possible)"
                    if p["engine"] == "embedded" and not p["fits"]
                    else ""
                ),
                p["bound_by"],
                _fmt(p["server_memory_gib"]),
                _fmt(p["reconnect_all_seconds"]),
                _fmt(p.get("redis_cores")),
                _fmt(p.get("postgres_cores")),
            ]
            for p in plan
        ]
        title = (
            f"Capacity model (one message per user every "
            f"{capacity.USER_SECONDS_PER_MESSAGE} s, rooms of "
            f"{capacity.ROOM_MEMBERS}, processes at {capacity.HEADROOM:.0%} of "
            "their saturated rate)"
        )
        out.append((title, headers, rows))
    storms = [r for r in runs if r["scenario"] in {"presence-on", "presence-off"}]
    if storms:
        headers = [
            "engine",
            "presence",
            "connections",
            "frames at connect",
            "frames in the storm",
            "reconnect s",
            "messages sent",
            "deliveries/s",
            "server CPU s",
            "server CPU share",
        ]
        rows = [
            [
                r["engine"],
                r["scenario"].removeprefix("presence-"),
                _fmt(r["connections"]),
                _fmt(r["presence_frames_at_connect"]),
                _fmt(r["presence_frames_storm"]),
                _fmt(r["reconnect_s"]),
                _fmt(r["messages_sent"]),
                _fmt(r["fanout_per_s"]),
                _fmt(r["server_cpu_s"]),
                _fmt(r["server_cpu_share"]),
            ]
            for r in storms
        ]
        out.append(("Presence: every connection drops and reconnects", headers, rows))
    if results["targets"]:
        headers = ["engine", "target of the issue", "measured", "goal", "met"]
        rows = [
            [t["engine"], t["target"], _fmt(t["measured"]), t["goal"], _fmt(t["met"])]
            for t in results["targets"]
        ]
        out.append(("The issue's targets", headers, rows))
    return out


def _lock_waits(waits: dict | None) -> str:
    """'0.8 (40% of samples)': sessions waiting on the advisory lock; PG only."""
    if not waits or not waits.get("samples"):
        return "-"
    share = round(100 * waits["share_with_a_waiter"])
    return f"{_fmt(waits['mean_waiting'])} ({share}% of samples)"


def _delivered_pct(run: dict) -> float | None:
    """Unique live deliveries over everything sent times the members."""
    expected = run["messages_sent"] * run["members"]
    return round(100 * run["deliveries"] / expected, 2) if expected else None


def _after_sync(run: dict) -> str:
    """'0', or '3 (of 50/500 members that lost some)' when sampled; n/a: no sync."""
    if run["target"] != "ours" or run.get("lost_after_sync") is None:
        return "n/a"
    checked = run.get("sync_checked") or ""
    done, _, lacking = checked.partition("/")
    if done == lacking:
        return _fmt(run["lost_after_sync"])
    return f"{_fmt(run['lost_after_sync'])} ({checked} members checked)"


def _text_table(headers, rows) -> str:
    widths = [
        max(len(str(h)), *(len(row[i]) for row in rows)) for i, h in enumerate(headers)
    ]
    line = "  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True))
    rule = "  ".join("-" * w for w in widths)
    body = [
        "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) for row in rows
    ]
    return "\n".join([line, rule, *body])


def _md_table(headers, rows) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def terminal(results: dict) -> str:
    parts = []
    for title, headers, rows in tables(results):
        parts.append(f"\n== {title} ==\n" + _text_table(headers, rows))
    return "\n".join(parts) + "\n"


def markdown(results: dict, plot: str | None) -> str:
    m = results["machine"]
    lines = [
        "# Chat server benchmark",
        "",
        f"Command: `{results['command']}`  ",
        f"Machine: {m['cores']} cores, {m['cpu_model']}, Python {m['python']}, "
        f"{m['platform']}  ",
        "Packages: "
        + ", ".join(f"{k} {v}" for k, v in m["packages"].items() if v)
        + "  ",
        f"Commit: {m['commit']}; load average at the end: {m['load_average']}  ",
        f"Pinning: server on core {results['pinning']['server_core']}, load "
        f"generator on core {results['pinning']['client_core']}  ",
        f"Engines: {', '.join(results['engines'])}; took {results['seconds']} s"
        + (" (interrupted)" if results["interrupted"] else ""),
    ]
    for title, headers, rows in tables(results):
        lines += ["", f"## {title}", "", _md_table(headers, rows)]
    if plot:
        lines += ["", "## Latency", "", f"![latency]({plot})"]
    lines += [
        "",
        "unacked: messages sent but not acknowledged by the end of the run (the "
        "senders stop, then the bench waits up to 15 s); delivered %: unique live "
        "deliveries over every message sent times the members. "
        "Server CPU and client CPU: CPU seconds used over the run's wall time "
        "(1.0 = one core busy). A client share near 1.0 means the load generator, "
        "not the server, set the pace. Redis CPU, PG CPU: the redis-server and "
        "postgres processes (shared with anything else that uses them). Other "
        "CPU: cores busy with anything else meanwhile, Redis and PostgreSQL "
        "included; a high figure there means the run was disturbed.",
        "",
    ]
    return "\n".join(lines)


def write_plot(results: dict, path: Path) -> bool:
    """Latency distributions of the fan-out runs, one panel per engine."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        logger.warning(
            "matplotlib not installed: no plot (pip install -r requirements-bench.txt)"
        )
        return False
    fan = [r for r in results["runs"] if r.get("latency_sample_ms")]
    if not fan:
        return False
    engines = sorted({r["engine"] for r in fan})
    figure, axes = plt.subplots(
        1, len(engines), figsize=(7 * len(engines), 5), squeeze=False
    )
    colours = {"ours": "tab:blue", "tutorial": "tab:orange", "bare": "tab:green"}
    scenarios = sorted({r["scenario"] for r in fan})
    styles = ["-", "--", "-.", ":", (0, (5, 1)), (0, (1, 1))]
    for axis, engine in zip(axes[0], engines, strict=True):
        for r in (r for r in fan if r["engine"] == engine):
            sample = r["latency_sample_ms"]
            n = len(sample)
            ys = [i / max(1, n - 1) for i in range(n)]
            axis.plot(
                [max(v, 0.01) for v in sample],
                ys,
                label=f"{r['target']} {r['scenario']}",
                color=colours.get(r["target"]),
                linestyle=styles[scenarios.index(r["scenario"]) % len(styles)],
            )
        axis.set_xscale("log")
        axis.set_xlabel("delivery latency, ms (log)")
        axis.set_ylabel("share of deliveries")
        axis.set_title(f"{engine}: latency distribution")
        axis.grid(True, which="both", alpha=0.3)
        axis.legend(fontsize=7)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return True


def write(results: dict, folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    json_path = folder / "results.json"
    json_path.write_text(json.dumps(results, indent=1, ensure_ascii=False))
    plot_path = folder / "latency.png"
    has_plot = write_plot(results, plot_path)
    md_path = folder / "report.md"
    md_path.write_text(markdown(results, plot_path.name if has_plot else None))
    return [json_path, md_path] + ([plot_path] if has_plot else [])
