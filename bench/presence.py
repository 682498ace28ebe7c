"""The presence scenario (our server only): a reconnect storm beside fan-out.

`count` connections, one user each, in rooms of `big` members (the first
half of the users) and rooms of `small` members (the second half). Two
senders (a big room's, a small room's) send at a fixed rate for `duration`
seconds; a quarter of the way in, every other connection drops and
reconnects at once, as after a proxy restart. Run once with presence on and
once with it off (CHAT_PRESENCE_ENABLED), it reports the presence frames the
clients got (at connect, and during the storm and after it), the server's
CPU, and the messages fanned out per second in each run: with presence on it
should stay within 10 % of the run without.
"""

import asyncio
import itertools
import json
import re
import time
import uuid
from collections import Counter

from websockets.exceptions import ConnectionClosed

from .client import Target, close_all, frame_type, open_socket

SENDER_ROOMS = ("presence-big0", "presence-small0")
STATUS_RE = re.compile(r'"status":"([a-z]+)"')


def room_specs(count: int, big: int, small: int) -> list[str]:
    """bench.fixtures `--spread` specs: PREFIX:SIZE:ROOMS:OFFSET."""
    half = count // 2
    return [
        f"presence-big:{big}:{max(1, half // big)}:0",
        f"presence-small:{small}:{max(1, (count - half) // small)}:{half}",
    ]


class Reader:
    """One connection's frames, counted by type (no JSON parsing)."""

    def __init__(self, counts: Counter) -> None:
        self.counts = counts
        self.socket = None
        self.task: asyncio.Task | None = None

    async def open(self, url: str) -> None:
        self.socket, _ = await open_socket(url, within=60)
        self.task = asyncio.get_running_loop().create_task(self.read())

    async def read(self) -> None:
        try:
            async for text in self.socket:
                if isinstance(text, str):
                    kind = frame_type(text) or "other"
                    self.counts[kind] += 1
                    if kind == "presence":
                        match = STATUS_RE.search(text)
                        self.counts[f"presence {match and match.group(1)}"] += 1
        except ConnectionClosed:
            pass

    async def drop(self) -> None:
        if self.task is not None:
            self.task.cancel()
        await close_all([self.socket] if self.socket is not None else [])


async def _open_all(readers, urls, concurrency: int) -> tuple[float, int]:
    gate = asyncio.Semaphore(concurrency)
    failed = 0

    async def one(reader, url) -> None:
        nonlocal failed
        async with gate:
            try:
                await reader.open(url)
            except Exception:
                failed += 1

    started = time.perf_counter()
    await asyncio.gather(*(one(r, u) for r, u in zip(readers, urls, strict=True)))
    return time.perf_counter() - started, failed


async def _quiet(counts: Counter, settle: float, limit: float = 120.0) -> None:
    """Wait until no frame has come for `settle` seconds (at most `limit`)."""
    deadline = time.perf_counter() + limit
    seen = -1
    while time.perf_counter() < deadline:
        total = sum(counts.values())
        if total == seen:
            return
        seen = total
        await asyncio.sleep(settle)


async def _send_steadily(socket, room: str, rate: float, until: float) -> int:
    """Messages at `rate` until `until`; client ids new to every run (a
    repeated one would be stored once)."""
    run = uuid.uuid4().hex[:8]
    sent = 0
    interval = 1.0 / rate
    numbers = itertools.count()
    next_at = time.perf_counter()
    while time.perf_counter() < until:
        frame = {
            "type": "message.send",
            "room": room,
            "body": f"storm {sent}",
            "client_id": f"p-{run}-{room}-{next(numbers)}",
        }
        await socket.send(json.dumps(frame))
        sent += 1
        next_at += interval
        await asyncio.sleep(max(0.0, next_at - time.perf_counter()))
    return sent


async def run_presence(
    target: Target,
    server,
    users: list[dict],
    *,
    count: int,
    rate: float,
    duration: float,
    settle: float = 5.0,
    concurrency: int = 200,
    progress=None,
) -> dict:
    """One run (presence on or off, as the server was started)."""
    counts: Counter = Counter()
    people = users[:count]
    urls = [target.ws_url(token=u["token"], room="") for u in people]
    readers = [Reader(counts) for _ in people]
    opened_in, failed = await _open_all(readers, urls, concurrency)
    half = count // 2
    # Their own copies and acks are read (and not counted): a socket nobody
    # reads would stall the server's sends to it.
    ignored: Counter = Counter()
    senders = [Reader(ignored), Reader(ignored)]
    for sender, person in zip(senders, (people[0], people[half]), strict=True):
        await sender.open(target.ws_url(token=person["token"], room=""))
    await _quiet(counts, settle)  # the connects' frames are all in
    at_connect = counts["presence"]
    counts.clear()
    if progress is not None:
        progress.update(done=0.0, note="storm")
    cpu_before, started = server.cpu(), time.perf_counter()
    until = started + duration

    async def storm() -> dict:
        await asyncio.sleep(duration / 4)
        dropped_at = time.perf_counter()
        await asyncio.gather(*(reader.drop() for reader in readers))
        fresh = [Reader(counts) for _ in people]
        readers[:] = fresh
        took, lost = await _open_all(fresh, urls, concurrency)
        return {
            "dropped_at_s": round(dropped_at - started, 2),
            "reconnect_s": round(took, 2),
            "reconnect_failed": lost,
        }

    per_sender = rate / len(senders)
    sent, storm_result = await asyncio.gather(
        asyncio.gather(
            *(
                _send_steadily(s.socket, room, per_sender, until)
                for s, room in zip(senders, SENDER_ROOMS, strict=True)
            )
        ),
        storm(),
    )
    elapsed = time.perf_counter() - started
    await asyncio.sleep(settle)  # what is on its way, and the grace's end
    cpu = server.cpu() - cpu_before
    wall = time.perf_counter() - started
    deliveries = counts["message"]
    await asyncio.gather(*(reader.drop() for reader in [*readers, *senders]))
    return {
        "connections": count,
        "failed": failed,
        "open_s": round(opened_in, 2),
        "presence_frames_at_connect": at_connect,
        "presence_frames_storm": counts["presence"],
        "presence_frames_storm_by_status": {
            status: counts[f"presence {status}"]
            for status in ("online", "away", "offline")
        },
        "messages_sent": sum(sent),
        "deliveries": deliveries,
        "fanout_per_s": round(deliveries / elapsed, 1) if elapsed else None,
        "server_cpu_s": round(cpu, 2),
        "server_cpu_share": round(cpu / wall, 2) if wall else None,
        **storm_result,
    }


def compare(on: dict, off: dict) -> dict:
    """The presence run's fan-out against the run without: the 10 % promise."""
    base = off.get("fanout_per_s") or 0
    ratio = (on.get("fanout_per_s") or 0) / base if base else None
    return {
        "fanout_ratio": round(ratio, 3) if ratio is not None else None,
        "within_10pct": ratio is not None and ratio >= 0.9,
        "extra_cpu_s": round(on["server_cpu_s"] - off["server_cpu_s"], 2),
    }
