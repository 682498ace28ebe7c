"""`python -m bench`: choose scenarios, targets and engines; run; report.

Every server is started here and stopped in a `finally`, every database and
Redis key the run makes is removed at the end, also on Ctrl-C or an error.
"""

import argparse
import asyncio
import logging
import shlex
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from . import report
from .client import Target
from .engines import ENGINES, Engine
from .fanout import FanoutPlan, run_fanout
from .presence import compare, room_specs, run_presence
from .profile import Profiler
from .progress import Progress
from .scenarios import run_idle, run_longpoll, run_pages, run_search
from .servers import ROOT, Cores, Server
from .writers import WritersPlan, run_writers

logger = logging.getLogger("bench")

SCENARIOS = (
    "fanout",
    "ladder",
    "room500",
    "idle",
    "history",
    "search",
    "longpoll",
    "writers",
    "writers-changes",
    "fanout-changes",
    "presence",
)
TARGETS = ("ours", "tutorial", "bare")
FANOUT_ROOM = "fanout"
BIG_ROOM = "room500"
WRITER_ROOMS = "writer"  # writer0, writer1...: one member each


@dataclass
class Sizes:
    """Every size and duration of a run; --quick picks small ones."""

    members: int = 50
    senders: int = 5
    window: int = 10
    duration: float = 15.0
    ladder: tuple[float, ...] = (0.25, 0.5, 0.75)
    ladder_duration: float = 8.0
    big_members: int = 500
    big_rate: float = 50.0
    big_duration: float = 15.0
    idle: int = 2000
    history: tuple[int, ...] = (10_000, 1_000_000)
    search: tuple[int, ...] = (10_000, 1_000_000)
    repeats: int = 30
    longpolls: int = 1000
    longpoll_wait: float = 30.0
    writers: tuple[int, ...] = (1, 2, 4)
    writer_clients: int = 5
    writer_window: int = 10
    writer_duration: float = 8.0
    presence: int = 2000
    presence_rate: float = 20.0
    presence_duration: float = 15.0

    @classmethod
    def quick(cls) -> "Sizes":
        return cls(
            duration=3.0,
            ladder=(0.5,),
            ladder_duration=3.0,
            big_members=100,
            big_duration=3.0,
            idle=200,
            history=(1_000, 10_000),
            search=(1_000, 10_000),
            repeats=5,
            longpolls=100,
            longpoll_wait=10.0,
            writers=(1, 2),
            writer_duration=2.0,
            presence=200,
            presence_rate=10.0,
            presence_duration=4.0,
        )


def _csv(kind, choices=None):
    def parse(text: str):
        values = tuple(kind(v.strip()) for v in text.split(",") if v.strip())
        if choices is not None:
            unknown = [v for v in values if v not in choices]
            if unknown:
                raise argparse.ArgumentTypeError(
                    f"unknown {', '.join(map(str, unknown))}; "
                    f"choose from {', '.join(choices)}"
                )
        return values

    return parse


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description="Benchmark our chat server beside a tutorial-style Channels "
        "consumer and a bare ASGI broadcast app, on the same daphne. "
        "See docs/performance.md.",
    )
    parser.add_argument(
        "--quick", action="store_true", help="small sizes, about a minute"
    )
    parser.add_argument(
        "--scenarios",
        type=_csv(str, SCENARIOS),
        default=SCENARIOS,
        help=f"comma-separated, from {','.join(SCENARIOS)} (default: all)",
    )
    parser.add_argument(
        "--targets",
        type=_csv(str, TARGETS),
        default=TARGETS,
        help="comma-separated, from ours,tutorial,bare (default: all)",
    )
    parser.add_argument(
        "--engines",
        type=_csv(str, ENGINES),
        default=None,
        help="embedded (SQLite + in-memory layer), services (PostgreSQL + Redis);"
        " default: both, or embedded with --quick",
    )
    sizes = parser.add_argument_group("sizes (defaults: full run; --quick: small)")
    sizes.add_argument("--members", type=int, help="room fan-out members (50)")
    sizes.add_argument("--senders", type=int, help="room fan-out senders (5)")
    sizes.add_argument("--window", type=int, help="unacked messages per sender (10)")
    sizes.add_argument("--duration", type=float, help="saturating run seconds (15)")
    sizes.add_argument(
        "--ladder",
        type=_csv(float),
        help="fixed-rate steps as fractions of the target's saturated rate, "
        "in messages fanned out per second (0.25,0.5,0.75)",
    )
    sizes.add_argument("--ladder-duration", type=float, help="seconds per step (8)")
    sizes.add_argument("--big-members", type=int, help="members of the big room (500)")
    sizes.add_argument("--big-rate", type=float, help="big room messages/s (50)")
    sizes.add_argument("--big-duration", type=float, help="big room seconds (15)")
    sizes.add_argument("--idle", type=int, help="idle connections (2000)")
    sizes.add_argument(
        "--history", type=_csv(int), help="stored messages (10000,1000000)"
    )
    sizes.add_argument(
        "--search", type=_csv(int), help="stored messages searched (10000,1000000)"
    )
    sizes.add_argument("--repeats", type=int, help="timings per page (30)")
    sizes.add_argument("--longpolls", type=int, help="waiting long polls (1000)")
    sizes.add_argument(
        "--writers", type=_csv(int), help="writer processes, one run each (1,2,4)"
    )
    sizes.add_argument(
        "--writer-clients", type=int, help="clients per writer process (5)"
    )
    sizes.add_argument(
        "--writer-window", type=int, help="unanswered frames per writer client (10)"
    )
    sizes.add_argument(
        "--writer-duration", type=float, help="seconds per writers run (8)"
    )
    sizes.add_argument("--presence", type=int, help="presence storm connections (2000)")
    sizes.add_argument(
        "--presence-rate", type=float, help="messages/s during the storm (20)"
    )
    sizes.add_argument(
        "--presence-duration", type=float, help="seconds of each storm run (15)"
    )
    sizes.add_argument(
        "--change-every",
        type=int,
        default=10,
        help="writers-changes and fanout-changes: one frame in N is an edit or "
        "a reaction of the sender's own recent message (10)",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=ROOT / "bench-results",
        help="reports go to OUT/<timestamp>/ (default: bench-results/)",
    )
    parser.add_argument(
        "--profile",
        type=_csv(str, TARGETS),
        default=(),
        help="sample these targets' servers with py-spy during the saturating "
        "fan-out and idle runs (slows them: not for measured runs)",
    )
    parser.add_argument(
        "--server-env",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="an environment variable for every server, e.g. "
        "CHAT_CHANNEL_CAPACITY=100 (repeatable)",
    )
    parser.add_argument(
        "--no-pin", action="store_true", help="do not pin server and client to cores"
    )
    parser.add_argument(
        "--postgres-url",
        default="postgres://postgres@127.0.0.1:5432/postgres",
        help="where to create (and drop) the bench's own databases",
    )
    parser.add_argument(
        "--redis-url",
        default="redis://127.0.0.1:6379/0",
        help="Redis for the services engine (only the run's own prefix is used)",
    )
    return parser


def sizes_from(args) -> Sizes:
    sizes = Sizes.quick() if args.quick else Sizes()
    for name in (
        "members",
        "senders",
        "window",
        "duration",
        "ladder",
        "ladder_duration",
        "big_members",
        "big_rate",
        "big_duration",
        "idle",
        "history",
        "search",
        "repeats",
        "longpolls",
        "writers",
        "writer_clients",
        "writer_window",
        "writer_duration",
        "presence",
        "presence_rate",
        "presence_duration",
    ):
        value = getattr(args, name)
        if value is not None:
            setattr(sizes, name, value)
    sizes.senders = min(sizes.senders, sizes.members)
    return sizes


class Bench:
    def __init__(self, args, sizes: Sizes, folder: Path) -> None:
        self.args = args
        self.sizes = sizes
        self.folder = folder
        self.cores = Cores(None, None) if args.no_pin else Cores.split()
        self.runs: list[dict] = []
        self.progress = Progress(self.count_steps())
        self.servers: list[Server] = []

    def count_steps(self) -> int:
        chosen, targets = self.args.scenarios, self.args.targets
        per_target = 0
        per_target += "fanout" in chosen
        per_target += len(self.sizes.ladder) if "ladder" in chosen else 0
        per_target += "room500" in chosen
        per_target += "idle" in chosen
        ours_only = ("history" in chosen) * len(self.sizes.history)
        ours_only += ("search" in chosen) * len(self.sizes.search)
        ours_only += "longpoll" in chosen
        ours_only += len(self.sizes.writers) if "writers" in chosen else 0
        ours_only += len(self.sizes.writers) if "writers-changes" in chosen else 0
        ours_only += "fanout-changes" in chosen
        ours_only += 2 * ("presence" in chosen)
        steps = per_target * len(targets) + ours_only * ("ours" in targets)
        return steps * len(self.engines)

    @property
    def engines(self) -> tuple[str, ...]:
        if self.args.engines:
            return self.args.engines
        return ("embedded",) if self.args.quick else ENGINES

    def start(
        self,
        engine: Engine,
        target: str,
        slot: str,
        *,
        pinned: bool = True,
        name="",
        extra_env: dict | None = None,
    ) -> Server:
        log = self.folder / f"server-{engine.name}-{target}{name}.log"
        env = engine.env(slot=slot, target=target)
        env.update(extra_env or {})
        for assignment in self.args.server_env:
            name, _, value = assignment.partition("=")
            env[name] = value
        server = Server(
            target=target,
            env=env,
            log_path=log,
            core=self.cores.server if pinned else self.cores.every,
        )
        self.servers.append(server)
        return server.start()

    def stop_all(self) -> None:
        for server in self.servers:
            server.stop()
        self.servers.clear()

    def record(self, engine: str, target: str, scenario: str, result: dict) -> None:
        self.runs.append(
            {"engine": engine, "target": target, "scenario": scenario, **result}
        )

    async def run_engine(self, engine: Engine) -> None:
        sizes, chosen = self.sizes, self.args.scenarios
        population = 0
        if {"fanout", "ladder", "fanout-changes"} & set(chosen):
            population = max(population, sizes.members)
        if {"room500", "longpoll"} & set(chosen):
            population = max(population, sizes.big_members)
        if "idle" in chosen:
            population = max(population, min(sizes.idle, 2000))
        writers = 0
        if {"writers", "writers-changes"} & set(chosen) and "ours" in self.args.targets:
            writers = max(sizes.writers) * sizes.writer_clients
            population = max(population, writers)
        users: list[dict] = []
        if population:
            population = max(population, 10)
            self.progress.note(
                f"{engine.name}: making {population} users, tokens and rooms\n"
            )
            users = engine.fixtures(
                "population",
                "--users",
                str(population),
                "--room",
                f"{FANOUT_ROOM}:{sizes.members}",
                "--room",
                f"{BIG_ROOM}:{sizes.big_members}",
                *(("--own-rooms", f"{WRITER_ROOMS}:{writers}") if writers else ()),
                slot="main",
            )["users"]
        for target in self.args.targets:
            await self.run_target(engine, target, users)
        if writers and "writers" in chosen:
            await self.run_writers(engine, users, every=0)
        if writers and "writers-changes" in chosen:
            await self.run_writers(engine, users, every=self.args.change_every)
        if "ours" in self.args.targets and "history" in chosen:
            await self.run_history(engine)
        if "ours" in self.args.targets and "search" in chosen:
            await self.run_search(engine)
        if "ours" in self.args.targets and "presence" in chosen:
            await self.run_presence(engine)

    async def run_target(self, engine: Engine, target: str, users: list) -> None:
        sizes, chosen = self.sizes, self.args.scenarios
        changes = target == "ours" and "fanout-changes" in chosen
        if {"fanout", "ladder", "room500"} & set(chosen) or changes:
            server = self.start(engine, target, "main")
            where = Target(target, server.port, stores=target == "ours")
            try:
                saturated = None
                if "fanout" in chosen:
                    plan = FanoutPlan(
                        name="fanout-saturate",
                        room=FANOUT_ROOM,
                        members=sizes.members,
                        senders=sizes.senders,
                        window=sizes.window,
                        duration=sizes.duration,
                    )
                    result = await self.fanout(
                        engine, target, server, where, plan, users
                    )
                    # Messages fully fanned out per second: what the steps scale.
                    saturated = result["deliveries_per_s"] / max(1, result["members"])
                if "ladder" in chosen:
                    base = saturated or 100.0
                    for fraction in sizes.ladder:
                        plan = FanoutPlan(
                            name=f"fanout-rate-{round(fraction * 100)}%",
                            room=FANOUT_ROOM,
                            members=sizes.members,
                            senders=sizes.senders,
                            window=None,
                            rate=max(1.0, round(base * fraction, 1)),
                            duration=sizes.ladder_duration,
                        )
                        await self.fanout(engine, target, server, where, plan, users)
                if "room500" in chosen:
                    plan = FanoutPlan(
                        name=f"room{sizes.big_members}-{sizes.big_rate:g}/s",
                        room=BIG_ROOM,
                        members=sizes.big_members,
                        senders=sizes.senders,
                        window=None,
                        rate=sizes.big_rate,
                        duration=sizes.big_duration,
                    )
                    await self.fanout(engine, target, server, where, plan, users)
                if changes:
                    every = self.args.change_every
                    plan = FanoutPlan(
                        name=f"fanout-changes-1in{every}",
                        room=FANOUT_ROOM,
                        members=sizes.members,
                        senders=sizes.senders,
                        window=sizes.window,
                        duration=sizes.duration,
                        change_every=every,
                    )
                    await self.fanout(engine, target, server, where, plan, users)
            finally:
                server.stop()
        if "idle" in chosen:
            server = self.start(engine, target, "main")
            where = Target(target, server.port, stores=target == "ours")
            try:
                self.progress.begin(
                    f"{engine.name}/{target} idle {sizes.idle}", sizes.idle, server
                )
                profiler = self.profiler(engine, target, "idle", server)
                try:
                    result = await run_idle(
                        where, server, users, count=sizes.idle, progress=self.progress
                    )
                finally:
                    profile = profiler.stop() if profiler is not None else None
                if profile is not None:
                    result["profile"] = profile
                self.record(engine.name, target, "idle", result)
                self.progress.end(
                    f"{result['handshakes_per_s']} handshakes/s, "
                    f"{result['kib_per_connection']} KiB/connection"
                )
            finally:
                server.stop()
        if target == "ours" and "longpoll" in chosen:
            server = self.start(engine, target, "main")
            where = Target(target, server.port, stores=True)
            try:
                members = users[: sizes.big_members]
                self.progress.begin(
                    f"{engine.name}/{target} long polls {sizes.longpolls}",
                    sizes.longpolls,
                    server,
                )
                profiler = self.profiler(engine, target, "longpoll", server)
                result = await run_longpoll(
                    where,
                    server,
                    members,
                    count=sizes.longpolls,
                    room=BIG_ROOM,
                    wait=sizes.longpoll_wait,
                    # The polls share a few threads (chat.realtime.poll_threads), so
                    # a mass wake opens a few database connections, not one each.
                    batch=50,
                    progress=self.progress,
                )
                if profiler is not None:
                    result["profile"] = profiler.stop()
                self.record(engine.name, target, "longpoll", result)
                self.progress.end(
                    f"{result['extra_threads']} extra threads, "
                    f"{result['kib_per_poll']} KiB/poll, "
                    f"wake p99 {result['wake_ms']['p99']} ms"
                )
            finally:
                server.stop()

    def profiler(self, engine, target, scenario, server) -> Profiler | None:
        if target not in self.args.profile:
            return None
        name = f"profile-{engine.name}-{target}-{scenario}.txt".replace("/", "-")
        return Profiler(pid=server.pid, path=self.folder / name).start()

    async def fanout(self, engine, target, server, where, plan, users) -> dict:
        label = f"{engine.name}/{target} {plan.name}"
        self.progress.begin(label, plan.duration, server)
        profiler = None
        if plan.name == "fanout-saturate":
            profiler = self.profiler(engine, target, plan.name, server)
        try:
            result = await run_fanout(plan, where, users, progress=self.progress)
        finally:
            if profiler is not None:
                profile = profiler.stop()
        if profiler is not None:
            result["profile"] = profile
        self.record(engine.name, target, plan.name, result)
        after_sync = result["lost_after_sync"]
        self.progress.end(
            f"{result['deliveries_per_s']:,.0f} deliveries/s, "
            f"p99 {result['latency_ms']['p99']} ms, lost {result['lost_live']}"
            + (f" ({after_sync} after sync)" if after_sync is not None else "")
            + f", dup {result['duplicates']}"
        )
        return result

    async def run_writers(self, engine: Engine, users: list, *, every: int) -> None:
        """1, 2, 4... processes of ours on one database, storing as fast as they can.

        The servers are not pinned to one core: they share all of the machine's
        (with the database, Redis and the load generator), as processes of one
        host do.
        """
        sizes = self.sizes
        for count in sizes.writers:
            name = f"writers-{count}" + (f"-changes-1in{every}" if every else "")
            servers = [
                self.start(engine, "ours", "main", pinned=False, name=f"-w{i}")
                for i in range(count)
            ]
            try:
                self.progress.begin(f"{engine.name}/ours {name}", sizes.writer_duration)
                plan = WritersPlan(
                    name=name,
                    processes=count,
                    clients=sizes.writer_clients,
                    window=sizes.writer_window,
                    duration=sizes.writer_duration,
                    change_every=every,
                )
                url = None
                if engine.name == "services":
                    url = engine.database_url("main")
                result = await run_writers(plan, servers, users, postgres_url=url)
                self.record(engine.name, "ours", name, result)
                self.progress.end(
                    f"{result['stores_per_s']:,.0f} stores/s "
                    f"({', '.join(f'{v:,.0f}' for v in result['per_process_per_s'])}"
                    f" per process), errors {result['errors']}"
                )
            finally:
                for server in servers:
                    server.stop()

    async def run_history(self, engine: Engine) -> None:
        people = engine.fixtures("population", "--users", "3", slot="history")
        tokens = {u["username"]: u["token"] for u in people["users"]}
        server = None
        try:
            for size in self.sizes.history:
                self.progress.begin(
                    f"{engine.name}/ours history at {size:,}", self.sizes.repeats
                )
                started = time.perf_counter()
                filled = engine.fixtures(
                    "history", "--total", str(size), slot="history", timeout=1800
                )
                fill_seconds = time.perf_counter() - started
                if server is None:
                    server = self.start(engine, "ours", "history")
                where = Target("ours", server.port, stores=True)
                pages = await run_pages(
                    where, history=filled, tokens=tokens, repeats=self.sizes.repeats
                )
                self.record(
                    engine.name,
                    "ours",
                    "history",
                    {
                        "stored": filled["total"],
                        "fill_seconds": round(fill_seconds, 1),
                        "pages": pages,
                    },
                )
                slowest = max(pages.values(), key=lambda p: p["median_ms"])
                self.progress.end(
                    f"{filled['total']:,} stored, slowest page median "
                    f"{slowest['median_ms']} ms"
                )
        finally:
            if server is not None:
                server.stop()

    async def run_search(self, engine: Engine) -> None:
        """The search scenario: the same needles searched at each size (a
        database of its own, filled like the history scenario's)."""
        people = engine.fixtures("population", "--users", "3", slot="search")
        tokens = {u["username"]: u["token"] for u in people["users"]}
        server = None
        try:
            for size in self.sizes.search:
                self.progress.begin(
                    f"{engine.name}/ours search at {size:,}", self.sizes.repeats
                )
                started = time.perf_counter()
                filled = engine.fixtures(
                    "history", "--total", str(size), slot="search", timeout=3600
                )
                planted = engine.fixtures("needles", slot="search", timeout=600)
                fill_seconds = time.perf_counter() - started
                if server is None:
                    server = self.start(engine, "ours", "search")
                where = Target("ours", server.port, stores=True)
                searches = await run_search(
                    where,
                    token=tokens[filled["big_reader"]],
                    repeats=self.sizes.repeats,
                )
                self.record(
                    engine.name,
                    "ours",
                    "search",
                    {
                        "stored": filled["total"],
                        "needles": planted["needles"],
                        "fill_seconds": round(fill_seconds, 1),
                        "searches": searches,
                    },
                )
                slowest = max(searches.values(), key=lambda p: p["median_ms"])
                self.progress.end(
                    f"{filled['total']:,} stored, slowest search median "
                    f"{slowest['median_ms']} ms"
                )
        finally:
            if server is not None:
                server.stop()

    async def run_presence(self, engine: Engine) -> None:
        """The presence scenario: the same storm with presence on, then off
        (a database of its own: users in rooms of big_members and members)."""
        sizes = self.sizes
        count = sizes.presence
        spread = room_specs(count, sizes.big_members, sizes.members)
        people = engine.fixtures(
            "population",
            "--users",
            str(count),
            *(arg for spec in spread for arg in ("--spread", spec)),
            slot="presence",
        )["users"]
        results = {}
        for enabled in ("1", "0"):
            label = "on" if enabled == "1" else "off"
            server = self.start(
                engine,
                "ours",
                "presence",
                name=f"-presence-{label}",
                extra_env={"CHAT_PRESENCE_ENABLED": enabled},
            )
            try:
                self.progress.begin(
                    f"{engine.name}/ours presence {label}: {count} reconnect",
                    sizes.presence_duration,
                    server,
                )
                result = await run_presence(
                    Target("ours", server.port, stores=True),
                    server,
                    people,
                    count=count,
                    rate=sizes.presence_rate,
                    duration=sizes.presence_duration,
                    progress=self.progress,
                )
                results[label] = result
                self.record(engine.name, "ours", f"presence-{label}", result)
                self.progress.end(
                    f"{result['presence_frames_storm']} presence frames, "
                    f"{result['fanout_per_s']} deliveries/s, "
                    f"CPU {result['server_cpu_s']} s"
                )
            finally:
                server.stop()
        self.record(
            engine.name, "ours", "presence", compare(results["on"], results["off"])
        )

    async def run(self) -> None:
        self.cores.pin_client()
        for name in self.engines:
            engine = Engine(
                name, postgres_url=self.args.postgres_url, redis_url=self.args.redis_url
            )
            try:
                await self.run_engine(engine)
            finally:
                self.stop_all()
                engine.teardown()


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(message)s")
    sizes = sizes_from(args)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    folder = args.out / stamp
    folder.mkdir(parents=True, exist_ok=True)
    bench = Bench(args, sizes, folder)
    command = "python -m bench " + " ".join(
        shlex.quote(a) for a in (sys.argv[1:] if argv is None else argv)
    )
    started = time.time()
    interrupted = failed = False
    try:
        asyncio.run(bench.run())
    except KeyboardInterrupt:
        interrupted = True
        sys.stderr.write("\ninterrupted: servers stopped, writing what was measured\n")
    except Exception:
        failed = True
        logger.exception("the bench failed; writing what was measured")
    finally:
        bench.stop_all()
    results = report.collect(
        runs=bench.runs,
        sizes=sizes,
        command=command.strip(),
        cores=bench.cores,
        engines=bench.engines,
        seconds=time.time() - started,
        interrupted=interrupted or failed,
    )
    paths = report.write(results, folder)
    sys.stdout.write(report.terminal(results))
    sys.stdout.write("\n" + "\n".join(f"wrote {p}" for p in paths) + "\n")
    if interrupted:
        return 130
    return 1 if failed else 0
