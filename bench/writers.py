"""Store rates with several writer processes on one database.

`processes` daphne processes of ours share the engine's database (and, on the
services engine, Redis). Each has `clients` connections of its own, each posting
to a room of its own (its only member), so a message's fan-out is one frame and
the run measures the store path: every client keeps `window` frames waiting for
their answer and sends the next one as soon as one comes back.

The figure is answers per second over the run: `message.send` answered by its
`ack` (the message is stored), and, with `change_every` = N, one frame in N is
instead a `message.edit` or a `reaction.add` of one of the client's own recent
messages, answered by the change frame (`message.edited`, `message.reactions`)
that the server sends to the actor's own connection once the change is stored.
Every process takes the same cluster-wide ordering lock for each batch of
messages (chat.ordering), so if anything else serialises the processes, the
total stops growing with them.
"""

import asyncio
import json
import random
import threading
import time
from collections import deque
from dataclasses import dataclass, field

from websockets.exceptions import ConnectionClosed

from .changes import CHANGE_FRAMES, answer_key, change
from .client import Target, close_all, frame_client_id, frame_type, open_socket
from .fanout import ACK_ID_RE, client_cpu, percentile
from .servers import Server, machine_busy_seconds, service_cpu_seconds


@dataclass
class WritersPlan:
    name: str
    processes: int
    clients: int  # per process
    window: int
    duration: float
    change_every: int = 0  # one frame in N is an edit or a reaction; 0: none
    body_size: int = 64
    drain: float = 15.0


@dataclass
class Writer:
    """One client: its socket, its room, what it waits for."""

    index: int
    process: int
    room: str
    socket: object = None
    window: asyncio.Semaphore | None = None
    sent: int = 0
    # client_id (message.send) or (answer type, message id) -> when it was sent.
    waiting: dict = field(default_factory=dict)
    # A change frame's client_id -> the key its answer is waited for under.
    changes: dict = field(default_factory=dict)
    # Own stored messages not changed yet, newest last: targets for a change.
    changeable: deque = field(default_factory=lambda: deque(maxlen=50))
    answered: int = 0
    changes_answered: int = 0


LOCK_SAMPLE = """
SELECT
  count(*) FILTER (WHERE wait_event_type = 'Lock' AND wait_event = 'advisory'),
  count(*) FILTER (WHERE state = 'active')
FROM pg_stat_activity
WHERE datname = current_database() AND pid <> pg_backend_pid()
"""


class LockWaits:
    """Samples PostgreSQL's sessions of the run's database every `every` s, on a
    thread of its own: how many wait for an advisory lock (the ordering lock is
    the only one the server takes), and how many are busy at all."""

    def __init__(self, database_url: str, every: float = 0.02) -> None:
        self.database_url = database_url
        self.every = every
        self.samples: list[tuple[int, int]] = []
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._sample, daemon=True)

    def start(self) -> "LockWaits":
        self.thread.start()
        return self

    def _sample(self) -> None:
        import psycopg

        with psycopg.connect(self.database_url, autocommit=True) as connection:
            while not self.stopping.wait(self.every):
                row = connection.execute(LOCK_SAMPLE).fetchone()
                self.samples.append((row[0], row[1]))

    def stop(self) -> dict:
        self.stopping.set()
        self.thread.join(timeout=5)
        n = len(self.samples)
        if not n:
            return {"samples": 0}
        waiting = [w for w, _ in self.samples]
        return {
            "samples": n,
            "mean_waiting": round(sum(waiting) / n, 2),
            "share_with_a_waiter": round(sum(1 for w in waiting if w) / n, 3),
            "mean_active": round(sum(a for _, a in self.samples) / n, 2),
        }


class WritersRun:
    def __init__(
        self,
        plan: WritersPlan,
        servers: list[Server],
        users: list[dict],
        *,
        postgres_url: str | None = None,
    ) -> None:
        self.plan = plan
        self.postgres_url = postgres_url
        self.servers = servers
        self.users = users
        self.tag = f"{random.getrandbits(24):06x}"  # noqa: S311 - a label
        self.writers: list[Writer] = []
        self.latencies: list[float] = []
        self.change_latencies: list[float] = []
        self.errors = 0
        self.error_sample: list[str] = []
        self.counting = False
        self.stop_at = 0.0

    async def connect(self) -> None:
        gate = asyncio.Semaphore(50)

        async def one(writer: Writer) -> None:
            server = self.servers[writer.process]
            target = Target("ours", server.port, stores=True)
            url = target.ws_url(token=self.users[writer.index]["token"], room="")
            async with gate:
                writer.socket, _ = await open_socket(url)

        for p in range(self.plan.processes):
            for c in range(self.plan.clients):
                index = p * self.plan.clients + c
                self.writers.append(
                    Writer(index=index, process=p, room=f"writer{index}")
                )
        await asyncio.gather(*(one(w) for w in self.writers))

    # --- answers ---------------------------------------------------------------

    async def read(self, writer: Writer) -> None:
        try:
            while True:
                text = await writer.socket.recv()
                now = time.perf_counter()
                if not text or text[0] != "{":
                    continue
                kind = frame_type(text)
                if kind == "ack":
                    self.on_ack(writer, text, now)
                elif kind in CHANGE_FRAMES:
                    self.settle(writer, answer_key(text), now, change=True)
                elif kind == "error":
                    self.on_error(writer, text, now)
        except ConnectionClosed:
            pass

    def on_ack(self, writer: Writer, text: str, now: float) -> None:
        client_id = frame_client_id(text)
        if self.settle(writer, client_id, now, change=False):
            match = ACK_ID_RE.search(text)
            if match:
                writer.changeable.append(int(match.group(1)))

    def settle(self, writer: Writer, key, now: float, *, change: bool) -> bool:
        """The answer to a frame came: count it, free its slot in the window."""
        sent_at = writer.waiting.pop(key, None)
        if sent_at is None:
            return False  # a frame not waited for (someone else's change)
        if self.counting and now <= self.stop_at:
            writer.answered += 1
            writer.changes_answered += change
            self.latencies.append(now - sent_at)
            if change:
                self.change_latencies.append(now - sent_at)
        writer.window.release()
        return True

    def on_error(self, writer: Writer, text: str, now: float) -> None:
        self.errors += 1
        if len(self.error_sample) < 5:
            self.error_sample.append(text[:300])
        # A refused frame frees its slot: the answer it waited for never comes.
        client_id = frame_client_id(text)
        key = writer.changes.pop(client_id, client_id)
        if writer.waiting.pop(key, None) is not None:
            writer.window.release()

    # --- sending ------------------------------------------------------------------

    def message(self, writer: Writer, client_id: str) -> str:
        body = (f"bench {client_id} " + "x" * self.plan.body_size)[
            : self.plan.body_size
        ]
        return json.dumps(
            {
                "type": "message.send",
                "room": writer.room,
                "body": body,
                "client_id": client_id,
            }
        )

    async def send_one(self, writer: Writer) -> None:
        seq = writer.sent
        writer.sent += 1
        every = self.plan.change_every
        if every and seq % every == every - 1 and writer.changeable:
            client_id = f"c-{self.tag}-{writer.index}-{seq}"
            text, key = change(
                message_id=writer.changeable.popleft(),
                turn=seq // every,
                client_id=client_id,
            )
            writer.waiting[key] = time.perf_counter()
            writer.changes[client_id] = key
            await writer.socket.send(text)
            return
        client_id = f"{self.tag}-{writer.index}-{seq}"
        writer.waiting[client_id] = time.perf_counter()
        await writer.socket.send(self.message(writer, client_id))

    async def sender(self, writer: Writer, stop_at: float) -> None:
        while True:
            remaining = stop_at - time.perf_counter()
            if remaining <= 0:
                return
            try:
                async with asyncio.timeout(remaining):
                    await writer.window.acquire()
            except TimeoutError:
                return
            await self.send_one(writer)

    async def warm_up(self) -> None:
        """Three answered frames per writer first, not counted."""
        for w in self.writers:
            w.window = asyncio.Semaphore(1)
        for _ in range(3):
            for w in self.writers:
                await w.window.acquire()
                await self.send_one(w)
            async with asyncio.timeout(60):
                for w in self.writers:
                    await w.window.acquire()
                    w.window.release()
        for w in self.writers:
            w.window = asyncio.Semaphore(self.plan.window)

    async def drain(self) -> None:
        deadline = time.perf_counter() + self.plan.drain
        while time.perf_counter() < deadline and any(  # noqa: ASYNC110
            w.waiting for w in self.writers
        ):
            await asyncio.sleep(0.05)

    # --- the run --------------------------------------------------------------------

    async def run(self) -> dict:
        plan = self.plan
        await self.connect()
        readers = [asyncio.create_task(self.read(w)) for w in self.writers]
        try:
            await self.warm_up()
            waits = LockWaits(self.postgres_url) if self.postgres_url else None
            cpu = self.cpu_now()
            started = time.perf_counter()
            self.stop_at = started + plan.duration
            self.counting = True
            if waits is not None:
                waits.start()
            await asyncio.gather(*(self.sender(w, self.stop_at) for w in self.writers))
            elapsed = time.perf_counter() - started
            cpu = {k: v - cpu[k] for k, v in self.cpu_now().items()}
            locks = waits.stop() if waits is not None else None
            await self.drain()
            return {**self.result(elapsed, cpu), "lock_waits": locks}
        finally:
            for reader in readers:
                reader.cancel()
            await close_all([w.socket for w in self.writers if w.socket is not None])

    def cpu_now(self) -> dict:
        services = service_cpu_seconds()
        return {
            "servers": sum(s.cpu() for s in self.servers),
            "client": client_cpu(),
            "machine": machine_busy_seconds(),
            "redis": services["redis"],
            "postgres": services["postgres"],
        }

    def result(self, elapsed: float, cpu: dict) -> dict:
        plan = self.plan
        per_process = [
            sum(w.answered for w in self.writers if w.process == p) / elapsed
            for p in range(plan.processes)
        ]
        answered = sum(w.answered for w in self.writers)
        changes = sum(w.changes_answered for w in self.writers)
        ordered = sorted(self.latencies)
        changes_ordered = sorted(self.change_latencies)
        others = cpu["machine"] - cpu["servers"] - cpu["client"]
        return {
            "processes": plan.processes,
            "clients_per_process": plan.clients,
            "window": plan.window,
            "duration": plan.duration,
            "change_every": plan.change_every,
            "seconds": round(elapsed, 3),
            "answered": answered,
            "stored_messages": answered - changes,
            "stored_changes": changes,
            "stores_per_s": round(answered / elapsed, 1),
            "messages_per_s": round((answered - changes) / elapsed, 1),
            "changes_per_s": round(changes / elapsed, 1),
            "per_process_per_s": [round(v, 1) for v in per_process],
            "unanswered": sum(len(w.waiting) for w in self.writers),
            "errors": self.errors,
            "error_sample": self.error_sample,
            "answer_ms": {
                "p50": _ms(percentile(ordered, 0.5)),
                "p99": _ms(percentile(ordered, 0.99)),
            },
            "change_answer_ms": {
                "p50": _ms(percentile(changes_ordered, 0.5)),
                "p99": _ms(percentile(changes_ordered, 0.99)),
            },
            "cpu": {
                "servers_share": round(cpu["servers"] / elapsed, 2),
                "client_share": round(cpu["client"] / elapsed, 2),
                "redis_share": round(cpu["redis"] / elapsed, 2),
                "postgres_share": round(cpu["postgres"] / elapsed, 2),
                "others_share": round(max(0.0, others) / elapsed, 2),
            },
        }


def _ms(value: float | None) -> float | None:
    return None if value is None else round(value * 1000, 2)


async def run_writers(
    plan: WritersPlan,
    servers: list[Server],
    users: list,
    *,
    postgres_url: str | None = None,
) -> dict:
    """One run; `postgres_url` (the servers' database) also samples lock waits."""
    return await WritersRun(plan, servers, users, postgres_url=postgres_url).run()
