"""Room fan-out runs: members connect, senders post, every delivery is counted.

A run connects `members` sockets to one room; the first `senders` of them post
messages, either keeping `window` unacknowledged messages each (saturating) or
at a fixed total `rate`. Every member (the senders too) should receive every
acknowledged message exactly once. The run counts, per member:

- lost: acknowledged messages that never arrived live; on our server the members
  that missed something then `sync` and the run counts again (lost after sync);
- duplicates: a message received twice;
- out of order: a message older than one already received from the same sender;

and for the run deliveries/s and the latency from send to each delivery.

With `change_every` = N (ours only), one frame in N a sender sends is instead a
`message.edit` or a `reaction.add` of one of its own recent messages; the
change frames (`message.edited`, `message.reactions`) are counted like messages:
each member should receive each once, the sender's own connection included, and
its arrival there frees the sender's slot in the window as an `ack` does.
"""

import asyncio
import json
import random
import re
import resource
import time
from dataclasses import dataclass, field

from websockets.exceptions import ConnectionClosed

from .changes import CHANGE_FRAMES, change
from .client import Target, close_all, frame_client_id, frame_type, open_socket
from .servers import machine_busy_seconds, service_cpu_seconds

ACK_ID_RE = re.compile(r'"id":\s*(\d+)')
PLOT_SAMPLES = 4000
SYNC_MEMBERS = 50  # members that sync at the end of a run, at most
SYNC_BUDGET = 90.0  # seconds for the final sync, at most


@dataclass
class FanoutPlan:
    name: str
    room: str
    members: int
    senders: int
    duration: float
    window: int | None = 10  # unacknowledged messages per sender (saturating)
    rate: float | None = None  # messages/s over all senders (fixed rate)
    body_size: int = 64
    drain: float = 15.0  # longest wait for the last acks and deliveries
    connect_concurrency: int = 50
    change_every: int = 0  # one frame in N is an edit or a reaction; 0: none


@dataclass
class Member:
    index: int
    socket: object
    counts: bytearray = field(default_factory=bytearray)
    last_seq: list[int] = field(default_factory=list)
    duplicates: int = 0
    out_of_order: int = 0
    syncing: bool = False
    recovered: set[int] = field(default_factory=set)
    sync_answers: asyncio.Queue = field(default_factory=asyncio.Queue)
    closed: bool = False
    change_counts: bytearray = field(default_factory=bytearray)
    last_change_id: int = 0


def client_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def percentile(ordered: list[float], q: float) -> float | None:
    if not ordered:
        return None
    return ordered[min(len(ordered) - 1, int(q * (len(ordered) - 1) + 0.5))]


class FanoutRun:
    def __init__(self, plan: FanoutPlan, target: Target, users: list[dict]) -> None:
        self.plan = plan
        self.target = target
        self.users = users[: plan.members]
        self.tag = f"{random.getrandbits(24):06x}"  # noqa: S311 - a label
        self.members: list[Member] = []
        self.index: dict[str, int] = {}
        self.meta: list[tuple[int, int, float]] = []  # sender, seq, sent at
        self.ack_at: list[float] = []
        self.ack_id: list[int] = []
        self.windows: list[asyncio.Semaphore] = []
        self.warmup_acks: dict[str, asyncio.Future] = {}
        self.latencies: list[float] = []
        self.delivered = 0
        self.acked = 0
        self.errors = 0
        self.error_sample: list[str] = []
        self.first_send = 0.0
        self.last_delivery = 0.0
        self.last_ack = 0.0
        self.sending = True
        # Changes (change_every): keyed by (frame type, message id).
        self.change_index: dict[tuple[str, int], int] = {}
        self.change_meta: list[tuple[int, float]] = []  # sender, sent at
        self.change_answered_at: list[float] = []
        self.change_clients: dict[str, int] = {}  # client_id -> change index
        self.changes_refused = 0
        self.changeable: list[list[int]] = []  # per sender: own acked ids
        self.changes_answered = 0
        self.change_delivered = 0
        self.change_duplicates = 0
        self.change_out_of_order = 0

    # --- connections ------------------------------------------------------------

    async def connect(self) -> None:
        gate = asyncio.Semaphore(self.plan.connect_concurrency)

        async def one(i: int, user: dict) -> Member:
            url = self.target.ws_url(token=user["token"], room=self.plan.room)
            async with gate:
                socket, _ = await open_socket(url)
            return Member(index=i, socket=socket, last_seq=[-1] * self.plan.senders)

        self.members = list(
            await asyncio.gather(*(one(i, u) for i, u in enumerate(self.users)))
        )

    async def read(self, member: Member) -> None:
        recv = member.socket.recv
        try:
            while True:
                text = await recv()
                now = time.perf_counter()
                if not text or text[0] != "{":
                    continue  # ping / pong
                kind = frame_type(text)
                if kind == "message":
                    idx = self.index.get(frame_client_id(text))
                    if idx is None:
                        continue  # a warm-up message
                    if member.syncing:
                        member.recovered.add(idx)
                    else:
                        self.deliver(member, idx, now)
                elif kind == "ack":
                    self.on_ack(text, now)
                elif kind in CHANGE_FRAMES:
                    self.deliver_change(member, text, now)
                elif kind == "sync.done":
                    member.sync_answers.put_nowait(json.loads(text))
                elif kind == "error":
                    self.errors += 1
                    if len(self.error_sample) < 5:
                        self.error_sample.append(text[:300])
                    if self.change_clients:
                        self.change_refused(text)
        except ConnectionClosed:
            member.closed = True

    def deliver(self, member: Member, idx: int, now: float) -> None:
        counts = member.counts
        if idx >= len(counts):
            counts.extend(bytes(max(idx + 1 - len(counts), 4096)))
        seen = counts[idx]
        if seen:
            member.duplicates += 1
            counts[idx] = min(255, seen + 1)
            return
        counts[idx] = 1
        sender, seq, sent_at = self.meta[idx]
        if seq < member.last_seq[sender]:
            member.out_of_order += 1
        else:
            member.last_seq[sender] = seq
        self.latencies.append(now - sent_at)
        self.delivered += 1
        self.last_delivery = now

    def deliver_change(self, member: Member, text: str, now: float) -> None:
        payload = json.loads(text)
        cidx = self.change_index.get((payload["type"], payload.get("id")))
        if cidx is None:
            return  # a warm-up message's change: none are made
        change_id = payload.get("change_id") or 0
        if change_id < member.last_change_id:
            self.change_out_of_order += 1
        member.last_change_id = max(member.last_change_id, change_id)
        counts = member.change_counts
        if cidx >= len(counts):
            counts.extend(bytes(max(cidx + 1 - len(counts), 1024)))
        if counts[cidx]:
            self.change_duplicates += 1
            return
        counts[cidx] = 1
        sender, sent_at = self.change_meta[cidx]
        if member.index == sender and self.change_answered_at[cidx] == 0:
            # The actor's own connection hears it: the change is stored.
            self.change_answered_at[cidx] = now
            self.changes_answered += 1
            self.last_ack = max(self.last_ack, now)
            self.windows[sender].release()
        self.latencies.append(now - sent_at)
        self.change_delivered += 1
        self.last_delivery = now

    def change_refused(self, text: str) -> None:
        """An error for a change frees its sender's slot; its frame never comes."""
        cidx = self.change_clients.pop(frame_client_id(text) or "", None)
        if cidx is None or self.change_answered_at[cidx]:
            return
        self.change_answered_at[cidx] = -1.0  # settled, not stored
        self.changes_refused += 1
        self.windows[self.change_meta[cidx][0]].release()

    def on_ack(self, text: str, now: float) -> None:
        client_id = frame_client_id(text)
        idx = self.index.get(client_id)
        if idx is None:
            future = self.warmup_acks.pop(client_id, None)
            if future is not None and not future.done():
                future.set_result(text)
            return
        if self.ack_at[idx]:
            return  # a repeated ack: the same message, nothing new
        self.ack_at[idx] = now
        match = ACK_ID_RE.search(text)
        if match:
            self.ack_id[idx] = int(match.group(1))
            if self.plan.change_every:
                self.changeable[self.meta[idx][0]].append(self.ack_id[idx])
        self.acked += 1
        self.last_ack = now
        self.windows[self.meta[idx][0]].release()

    # --- sending --------------------------------------------------------------------

    def frame(self, client_id: str) -> str:
        body = (f"bench {client_id} " + "x" * self.plan.body_size)[
            : self.plan.body_size
        ]
        return json.dumps(
            {
                "type": "message.send",
                "room": self.plan.room,
                "body": body,
                "client_id": client_id,
            }
        )

    async def send(self, sender: int, seq: int) -> None:
        every = self.plan.change_every
        if every and seq % every == every - 1 and self.changeable[sender]:
            await self.send_change(sender, seq // every)
            return
        client_id = f"{self.tag}-{sender}-{seq}"
        self.index[client_id] = len(self.meta)
        self.meta.append((sender, seq, time.perf_counter()))
        self.ack_at.append(0.0)
        self.ack_id.append(0)
        await self.members[sender].socket.send(self.frame(client_id))

    async def send_change(self, sender: int, turn: int) -> None:
        """Edit or react to the sender's oldest unchanged message."""
        client_id = f"{self.tag}-c-{sender}-{turn}"
        text, key = change(
            message_id=self.changeable[sender].pop(0), turn=turn, client_id=client_id
        )
        self.change_index[key] = len(self.change_meta)
        self.change_clients[client_id] = len(self.change_meta)
        self.change_meta.append((sender, time.perf_counter()))
        self.change_answered_at.append(0.0)
        await self.members[sender].socket.send(text)

    async def warm_up(self) -> None:
        """A few messages per sender, not counted: first-use costs out of the way."""
        loop = asyncio.get_running_loop()
        for k in range(3):
            futures = []
            for s in range(self.plan.senders):
                client_id = f"w{self.tag}-{s}-{k}"
                future = loop.create_future()
                self.warmup_acks[client_id] = future
                futures.append(future)
                await self.members[s].socket.send(self.frame(client_id))
            async with asyncio.timeout(30):
                await asyncio.gather(*futures)
        await asyncio.sleep(0.3)

    async def sender_loop(self, sender: int, stop_at: float) -> None:
        window = self.windows[sender]
        seq = 0
        interval = None
        next_at = time.perf_counter()
        if self.plan.rate:
            interval = self.plan.senders / self.plan.rate
            next_at += interval * sender / self.plan.senders
        while True:
            if interval is not None:
                delay = next_at - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
                next_at += interval
            remaining = stop_at - time.perf_counter()
            if remaining <= 0:
                return
            try:
                async with asyncio.timeout(remaining):
                    await window.acquire()
            except TimeoutError:
                return
            await self.send(sender, seq)
            seq += 1

    # --- the run ----------------------------------------------------------------------

    async def run(self, progress=None) -> dict:
        plan = self.plan
        await self.connect()
        readers = [asyncio.create_task(self.read(m)) for m in self.members]
        try:
            await self.warm_up()
            limit = plan.window if plan.window else 1000
            self.windows = [asyncio.Semaphore(limit) for _ in range(plan.senders)]
            self.changeable = [[] for _ in range(plan.senders)]
            cpu_client = client_cpu()
            cpu_server = progress.server_cpu() if progress else 0.0
            cpu_machine = machine_busy_seconds()
            cpu_services = service_cpu_seconds()
            self.first_send = time.perf_counter()
            stop_at = self.first_send + plan.duration
            ticker = asyncio.create_task(self.tick(progress, stop_at))
            await asyncio.gather(
                *(self.sender_loop(s, stop_at) for s in range(plan.senders))
            )
            sent_until = time.perf_counter()
            await self.drain()
            ticker.cancel()
            cpu_client = client_cpu() - cpu_client
            cpu_machine = machine_busy_seconds() - cpu_machine
            services_now = service_cpu_seconds()
            drained_at = time.perf_counter()
            cpu_server = (progress.server_cpu() if progress else 0.0) - cpu_server
            result = self.count()
            result["send_seconds"] = round(sent_until - self.first_send, 3)
            wall = max(self.last_delivery, self.last_ack) - self.first_send
            result["cpu"] = {
                "server_seconds": round(cpu_server, 2),
                "client_seconds": round(cpu_client, 2),
                "server_share": round(cpu_server / wall, 2) if wall > 0 else None,
                "client_share": round(cpu_client / wall, 2) if wall > 0 else None,
                # Cores busy with anything else (other users of the machine,
                # PostgreSQL, Redis) while the run went on.
                "redis_share": round(
                    (services_now["redis"] - cpu_services["redis"])
                    / (drained_at - self.first_send),
                    2,
                ),
                "postgres_share": round(
                    (services_now["postgres"] - cpu_services["postgres"])
                    / (drained_at - self.first_send),
                    2,
                ),
                "others_share": round(
                    max(0.0, cpu_machine - cpu_server - cpu_client)
                    / (drained_at - self.first_send),
                    2,
                ),
            }
            result["lost_after_sync"] = result["sync_checked"] = None
            if self.target.stores:
                lost, checked = await self.final_sync()
                result["lost_after_sync"], result["sync_checked"] = lost, checked
            return result
        finally:
            for reader in readers:
                reader.cancel()
            await close_all([m.socket for m in self.members])

    async def tick(self, progress, stop_at: float) -> None:
        if progress is None:
            return
        while True:
            left = max(0.0, stop_at - time.perf_counter())
            progress.update(
                done=self.plan.duration - left,
                note=f"acked {self.acked:,} delivered {self.delivered:,}",
            )
            await asyncio.sleep(0.25)

    async def drain(self) -> None:
        """Wait for the last acks, then for deliveries to stop coming."""
        deadline = time.perf_counter() + self.plan.drain
        # Polls counters that the reader tasks update as frames come in.
        while self.acked < len(self.meta) and time.perf_counter() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(0.05)
        while (  # noqa: ASYNC110 - the same counters, for the changes
            self.changes_answered + self.changes_refused < len(self.change_meta)
            and time.perf_counter() < deadline
        ):
            await asyncio.sleep(0.05)
        expected = (self.acked + self.changes_answered) * len(self.members)
        quiet_since = time.perf_counter()
        seen = self.delivered + self.change_delivered
        while seen < expected and time.perf_counter() < deadline:
            await asyncio.sleep(0.05)
            if self.delivered + self.change_delivered != seen:
                seen, quiet_since = (
                    self.delivered + self.change_delivered,
                    time.perf_counter(),
                )
            elif time.perf_counter() - quiet_since > 2.0:
                break

    def missing(self, member: Member) -> list[int]:
        counts = member.counts
        return [
            idx
            for idx, at in enumerate(self.ack_at)
            if at and (idx >= len(counts) or not counts[idx])
        ]

    def count(self) -> dict:
        members = len(self.members)
        lost = sum(len(self.missing(m)) for m in self.members)
        ordered = sorted(self.latencies)
        step = max(1, len(ordered) // PLOT_SAMPLES)
        wall = self.last_delivery - self.first_send if self.delivered else 0.0
        ack_wall = self.last_ack - self.first_send if self.acked else 0.0
        expected = self.acked * members
        return {
            "members": members,
            "senders": self.plan.senders,
            "window": self.plan.window if not self.plan.rate else None,
            "rate": self.plan.rate,
            "duration": self.plan.duration,
            "messages_sent": len(self.meta),
            "messages_acked": self.acked,
            "messages_per_s": round(self.acked / ack_wall, 1) if ack_wall else 0.0,
            "deliveries": self.delivered,
            "deliveries_expected": expected,
            # Of everything sent: a message never acknowledged is not delivered.
            "delivered_pct": round(100 * self.delivered / (len(self.meta) * members), 2)
            if self.meta
            else None,
            # Change frames count as deliveries (change_every; 0 without).
            "deliveries_per_s": round(
                (self.delivered + self.change_delivered) / wall, 1
            )
            if wall
            else 0.0,
            "lost_live": lost,
            "duplicates": sum(m.duplicates for m in self.members),
            "out_of_order": sum(m.out_of_order for m in self.members),
            "errors": self.errors,
            "error_sample": self.error_sample,
            "closed_sockets": sum(m.closed for m in self.members),
            "latency_ms": {
                "p50": _ms(percentile(ordered, 0.50)),
                "p90": _ms(percentile(ordered, 0.90)),
                "p99": _ms(percentile(ordered, 0.99)),
                "max": _ms(ordered[-1] if ordered else None),
            },
            "latency_sample_ms": [round(v * 1000, 3) for v in ordered[::step]],
            **self.count_changes(ack_wall),
        }

    def count_changes(self, ack_wall: float) -> dict:
        if not self.plan.change_every:
            return {}
        members = len(self.members)
        answered = [i for i, at in enumerate(self.change_answered_at) if at > 0]
        lost = sum(
            1
            for m in self.members
            for i in answered
            if i >= len(m.change_counts) or not m.change_counts[i]
        )
        return {
            "change_every": self.plan.change_every,
            "changes_sent": len(self.change_meta),
            "changes_answered": self.changes_answered,
            "changes_refused": self.changes_refused,
            "changes_per_s": round(self.changes_answered / ack_wall, 1)
            if ack_wall
            else 0.0,
            "change_deliveries": self.change_delivered,
            "change_deliveries_expected": self.changes_answered * members,
            "change_lost_live": lost,
            "change_duplicates": self.change_duplicates,
            "change_out_of_order": self.change_out_of_order,
        }

    async def final_sync(self) -> tuple[int, str]:
        """Members that missed messages `sync` for them; what is still missing.

        At most SYNC_MEMBERS of them (spread evenly) and SYNC_BUDGET seconds in
        all, so that a room that lost most of its traffic cannot stall the
        bench; the second value says how many were checked.
        """
        lacking = [(m, self.missing(m)) for m in self.members]
        lacking = [(m, miss) for m, miss in lacking if miss]
        step = max(1, -(-len(lacking) // SYNC_MEMBERS))
        chosen = lacking[::step]
        gate = asyncio.Semaphore(10)
        still_missing: dict[int, int] = {}

        async def recover(member: Member, miss: list[int]) -> None:
            async with gate:
                wanted = set(miss)
                after = min(self.ack_id[i] for i in miss) - 1
                member.syncing = True
                try:
                    while wanted - member.recovered:
                        await member.socket.send(
                            json.dumps({"type": "sync", "after": after, "limit": 500})
                        )
                        async with asyncio.timeout(60):
                            done = await member.sync_answers.get()
                        after = done["last_id"]
                        if not done["more"]:
                            break
                except ConnectionClosed:
                    pass
                still_missing[member.index] = len(wanted - member.recovered)

        try:
            async with asyncio.timeout(SYNC_BUDGET):
                await asyncio.gather(*(recover(m, miss) for m, miss in chosen))
        except TimeoutError:
            pass
        checked = f"{len(still_missing)}/{len(lacking)}"
        return sum(still_missing.values()), checked


def _ms(value: float | None) -> float | None:
    return None if value is None else round(value * 1000, 2)


async def run_fanout(
    plan: FanoutPlan, target: Target, users: list[dict], progress=None
) -> dict:
    run = FanoutRun(plan, target, users)
    return await run.run(progress)
