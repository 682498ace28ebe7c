"""The scenarios besides room fan-out: idle connections, page timings, long polls."""

import asyncio
import json
import statistics
import time
from urllib.parse import urlencode

from websockets.exceptions import ConnectionClosed

from .client import Target, close_all, frame_type, http_request, open_socket
from .fanout import percentile
from .servers import Server


async def run_idle(
    target: Target,
    server: Server,
    users: list[dict],
    *,
    count: int,
    concurrency: int = 64,
    progress=None,
) -> dict:
    """Open `count` idle connections: handshakes/s and server memory per socket.

    A handshake counts when the `hello` frame has arrived (on our server: token
    checked, groups joined, last id read). Memory is the server's VmRSS after
    the connections are up, less VmRSS before, over their number.
    """
    warm = await asyncio.gather(*(_warm(target, users[i]) for i in range(5)))
    await close_all([s for s in warm if s is not None])
    await asyncio.sleep(0.5)
    before = server.status()
    gate = asyncio.Semaphore(concurrency)
    sockets = []
    failures: list[str] = []

    async def one(i: int) -> None:
        user = users[i % len(users)]
        url = target.ws_url(token=user["token"], room="idle")
        async with gate:
            try:
                socket, _ = await open_socket(url)
            except Exception as exc:
                failures.append(f"{type(exc).__name__}: {exc}"[:200])
                return
        sockets.append(socket)
        if progress is not None:
            progress.update(done=len(sockets), note=f"open {len(sockets):,}")

    started = time.perf_counter()
    try:
        await asyncio.gather(*(one(i) for i in range(count)))
        elapsed = time.perf_counter() - started
        await asyncio.sleep(2.0)
        during = server.status()
        alive = await _ping_sample(sockets[:100])
    finally:
        await close_all(sockets)
    opened = len(sockets)
    return {
        "connections": opened,
        "failed": len(failures),
        "failure_sample": failures[:3],
        "handshakes_per_s": round(opened / elapsed, 1) if elapsed else None,
        "rss_before_kib": before["VmRSS"],
        "rss_during_kib": during["VmRSS"],
        "kib_per_connection": round((during["VmRSS"] - before["VmRSS"]) / opened, 2)
        if opened
        else None,
        "threads_during": during["Threads"],
        "ping_answered": f"{alive}/{min(100, opened)}",
    }


async def _warm(target: Target, user: dict):
    try:
        socket, _ = await open_socket(target.ws_url(token=user["token"], room="idle"))
    except Exception:
        return None
    return socket


async def _ping_sample(sockets) -> int:
    async def ping(socket) -> bool:
        try:
            await socket.send("ping")
            async with asyncio.timeout(10):
                while True:
                    if await socket.recv() == "pong":
                        return True
        except (ConnectionClosed, TimeoutError):
            return False

    return sum(await asyncio.gather(*(ping(s) for s in sockets)))


# --- history and sync pages (our server only) --------------------------------------


async def _sync_once(socket, *, after: int, limit: int) -> tuple[float, int]:
    started = time.perf_counter()
    await socket.send(json.dumps({"type": "sync", "after": after, "limit": limit}))
    frames = 0
    async with asyncio.timeout(60):
        while True:
            text = await socket.recv()
            kind = frame_type(text)
            if kind == "message":
                frames += 1
            elif kind == "sync.done":
                return time.perf_counter() - started, frames


async def _http_once(port: int, path: str, token: str) -> tuple[float, int]:
    started = time.perf_counter()
    status, body = await http_request(port, "GET", path, token=token)
    if status != 200:
        raise RuntimeError(f"GET {path}: HTTP {status} {body[:200]!r}")
    return time.perf_counter() - started, len(json.loads(body)["messages"])


def _summary(samples: list[float], rows: int) -> dict:
    ordered = sorted(samples)
    return {
        "median_ms": round(statistics.median(ordered) * 1000, 2),
        "p90_ms": round(percentile(ordered, 0.9) * 1000, 2),
        "rows": rows,
    }


async def run_pages(
    target: Target, *, history: dict, tokens: dict[str, str], repeats: int, limit=100
) -> dict:
    """Time history and `sync` pages; each call `repeats` times, median and p90."""
    big = tokens[history["big_reader"]]
    quiet = tokens[history["quiet_reader"]]
    first, last = history["big_first_id"], history["big_last_id"]
    middle = (first + last) // 2
    big_socket, _ = await open_socket(target.ws_url(token=big, room="history"))
    quiet_socket, _ = await open_socket(target.ws_url(token=quiet, room="history"))
    operations = {
        "sync from the start": lambda: _sync_once(big_socket, after=0, limit=limit),
        "sync of the newest": lambda: _sync_once(
            big_socket, after=max(0, last - limit), limit=limit
        ),
        "sync, quiet room, from the start": lambda: _sync_once(
            quiet_socket, after=0, limit=limit
        ),
        "sync, quiet room, nothing new": lambda: _sync_once(
            quiet_socket, after=history["quiet_last_id"], limit=limit
        ),
        "history newest page": lambda: _http_once(
            target.port, f"/api/rooms/history/messages/?limit={limit}", big
        ),
        "history page in the middle": lambda: _http_once(
            target.port,
            f"/api/rooms/history/messages/?before={middle}&limit={limit}",
            big,
        ),
        "history, quiet room, newest page": lambda: _http_once(
            target.port, f"/api/rooms/history-quiet/messages/?limit={limit}", quiet
        ),
    }
    results = {}
    try:
        for name, operation in operations.items():
            await operation()  # warm
            samples, rows = [], 0
            for _ in range(repeats):
                seconds, rows = await operation()
                samples.append(seconds)
            results[name] = _summary(samples, rows)
    finally:
        await close_all([big_socket, quiet_socket])
    return results


# --- search (our server only) -----------------------------------------------------


async def _search_once(port: int, query: str, token: str) -> tuple[float, int]:
    started = time.perf_counter()
    path = "/api/search/?" + urlencode({"q": query, "limit": 20})
    status, body = await http_request(port, "GET", path, token=token)
    if status != 200:
        raise RuntimeError(f"GET {path}: HTTP {status} {body[:200]!r}")
    return time.perf_counter() - started, len(json.loads(body)["results"])


# What the search scenario asks: the needles (bench.fixtures.plant_needles) by a
# Chinese pair, a phrase of pairs and English words with a prefix; a word in
# every message; a word in none.
SEARCHES = {
    "search 上海 (needles)": "上海",
    "search 上海东边 (needles, phrase of pairs)": "上海东边",
    "search 'quarterly rep' (needles, prefix)": "quarterly rep",
    "search 'history' (every message)": "history",
    "search 'nowhere' (no message)": "nowhere",
}


async def run_search(target: Target, *, token: str, repeats: int) -> dict:
    """Time each search `repeats` times as the big room's reader: median and p90."""
    results = {}
    for name, query in SEARCHES.items():
        await _search_once(target.port, query, token)  # warm
        samples, rows = [], 0
        for _ in range(repeats):
            seconds, rows = await _search_once(target.port, query, token)
            samples.append(seconds)
        results[name] = _summary(samples, rows)
    return results


# --- long polls (our server only) ---------------------------------------------------


async def _settled(server: Server, *, until: float) -> dict[str, int]:
    """The server's status once its threads and memory stop growing (or `until`)."""
    loop = asyncio.get_running_loop()
    last = server.status()
    steady_since = loop.time()
    while loop.time() < until:
        await asyncio.sleep(0.5)
        now = server.status()
        grew = now["Threads"] > last["Threads"] or now["VmRSS"] > last["VmRSS"] + 256
        if grew:
            steady_since = loop.time()
        elif loop.time() - steady_since >= 2.0:
            return now
        last = now
    return server.status()


async def run_longpoll(
    target: Target,
    server: Server,
    users: list[dict],
    *,
    count: int,
    room: str,
    wait: float = 30,
    batch: int = 50,
    wake: bool = True,
    progress=None,
) -> dict:
    """Hold `count` waiting long polls: threads and memory, then wake them all.

    The polls start `batch` at a time, 20 batches a second. With `wake` one
    message posted to the room answers them all at once; without it each ends
    at its own deadline (spread as they started).
    """
    socket, hello = await open_socket(target.ws_url(token=users[0]["token"], room=room))
    await close_all([socket])
    after = json.loads(hello)["last_id"]
    for user in users[:10]:  # first-use costs (thread pool, connections)
        await http_request(
            target.port, "GET", f"/api/messages/?after={after}", token=user["token"]
        )
    await asyncio.sleep(0.5)
    before = server.status()
    sent = 0
    loop = asyncio.get_running_loop()
    woken_at: list[float] = []
    outcomes = {"message": 0, "empty": 0, "error": 0}

    async def poll(i: int) -> None:
        nonlocal sent
        user = users[i % len(users)]
        path = f"/api/messages/?after={after}&wait={wait}"
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", target.port)
            writer.write(
                (
                    f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{target.port}\r\n"
                    f"Authorization: Bearer {user['token']}\r\n"
                    "Connection: close\r\n\r\n"
                ).encode()
            )
            await writer.drain()
            sent += 1
            async with asyncio.timeout(wait + 30):
                raw = await reader.read()
            writer.close()
        except Exception:
            outcomes["error"] += 1
            return
        woken_at.append(loop.time())
        head, _, body = raw.partition(b"\r\n\r\n")
        try:
            ok = b" 200 " in head.split(b"\r\n", 1)[0]
            messages = json.loads(body)["messages"] if ok else None
        except (ValueError, KeyError):
            messages = None
        if messages is None:
            outcomes["error"] += 1
        else:
            outcomes["message" if messages else "empty"] += 1

    tasks = []
    for start in range(0, count, batch):
        tasks += [
            asyncio.create_task(poll(i))
            for i in range(start, min(count, start + batch))
        ]
        await asyncio.sleep(0.05)
        if progress is not None:
            progress.update(done=len(tasks), note=f"waiting polls {sent:,}")
    waiting = await _settled(server, until=loop.time() + wait / 2)
    posted_at = loop.time()
    status = None
    if wake:
        body = json.dumps({"body": "wake up", "client_id": f"wake-{time.time_ns()}"})
        status, _ = await http_request(
            target.port,
            "POST",
            f"/api/rooms/{room}/messages/",
            token=users[0]["token"],
            body=body.encode(),
        )
    await asyncio.gather(*tasks)
    wake = sorted(t - posted_at for t in woken_at) if wake else []
    return {
        "polls": count,
        "sent": sent,
        "threads_before": before["Threads"],
        "threads_waiting": waiting["Threads"],
        "extra_threads": waiting["Threads"] - before["Threads"],
        "rss_before_kib": before["VmRSS"],
        "rss_waiting_kib": waiting["VmRSS"],
        "kib_per_poll": round((waiting["VmRSS"] - before["VmRSS"]) / count, 2),
        "post_status": status,
        "answered_with_message": outcomes["message"],
        "answered_empty": outcomes["empty"],
        "errors": outcomes["error"],
        "wake_ms": {
            "p50": round(percentile(wake, 0.5) * 1000, 1) if wake else None,
            "p99": round(percentile(wake, 0.99) * 1000, 1) if wake else None,
            "max": round(wake[-1] * 1000, 1) if wake else None,
        },
    }
