"""The processes the bench measures: daphne serving ours or a reference.

Each server runs under `taskset` on its own core where the machine has two, and
is read from /proc (memory, threads, CPU time) while it runs. Every process
started here is stopped by `stop()`, which the bench calls in `finally` blocks.
"""

import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

logger = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parent.parent
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")

# What each target serves, and where its clients connect.
APPS = {
    "ours": "chatsite.asgi:application",
    "tutorial": "bench.reference.tutorial:application",
    "bare": "bench.reference.bare:application",
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass(frozen=True)
class Cores:
    """Which core the server gets and which the load generator keeps.

    `every` is all the cores the bench could use before it pinned itself: a
    server started on them shares the machine (a child process would otherwise
    inherit the load generator's one core).
    """

    server: int | None
    client: int | None
    every: str | None = None

    @classmethod
    def split(cls) -> "Cores":
        available = sorted(os.sched_getaffinity(0))
        if len(available) < 2 or shutil.which("taskset") is None:
            return cls(server=None, client=None)
        every = ",".join(str(c) for c in available)
        return cls(server=available[0], client=available[1], every=every)

    def pin_client(self) -> None:
        if self.client is not None:
            os.sched_setaffinity(0, {self.client})


def proc_status(pid: int) -> dict[str, int]:
    """VmRSS (KiB) and Threads of a process, from /proc/<pid>/status."""
    values = {}
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            key, _, rest = line.partition(":")
            if key in {"VmRSS", "Threads", "VmHWM"}:
                values[key] = int(rest.split()[0])
    return values


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time a process has used so far."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def machine_busy_seconds() -> float:
    """CPU seconds all cores have spent busy since boot, from /proc/stat."""
    with open("/proc/stat") as stat:
        fields = [int(v) for v in stat.readline().split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
    return (sum(fields[:8]) - idle) / CLOCK_TICKS


def _stat(pid: str) -> tuple[str, int, float, float] | None:
    """(name, parent pid, own CPU s, reaped children's CPU s) of a process."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            text = stat.read()
    except OSError:
        return None
    name = text[text.index("(") + 1 : text.rindex(")")]
    fields = text.rsplit(")", 1)[1].split()
    own = (int(fields[11]) + int(fields[12])) / CLOCK_TICKS
    children = (int(fields[13]) + int(fields[14])) / CLOCK_TICKS
    return name, int(fields[1]), own, children


def service_cpu_seconds() -> dict[str, float]:
    """CPU seconds used so far by Redis and by PostgreSQL (read from /proc).

    PostgreSQL forks a process per connection: the live ones are summed, and the
    postmaster's reaped-children time holds those that ended. Both services are
    shared with whatever else uses them on this machine.
    """
    redis = postgres = 0.0
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        found = _stat(pid)
        if found is None:
            continue
        name, _parent, own, children = found
        if name.startswith("redis-server"):
            redis += own
        elif name.startswith("postgres"):
            postgres += own + children
    return {"redis": redis, "postgres": postgres}


class Server:
    """`daphne <app>` on 127.0.0.1 and a free port, pinned to a core."""

    def __init__(
        self, *, target: str, env: dict, log_path: Path, core: int | str | None
    ) -> None:
        self.target = target
        self.env = env
        self.log_path = log_path
        self.core = core
        self.port = free_port()
        self.process: subprocess.Popen | None = None

    @property
    def pid(self) -> int:
        assert self.process is not None  # noqa: S101 - started first
        return self.process.pid

    def command(self) -> list[str]:
        daphne = [sys.executable, "-m", "daphne", "-b", "127.0.0.1"]
        daphne += ["-p", str(self.port), APPS[self.target]]
        if self.core is None:
            return daphne
        return ["taskset", "-c", str(self.core), *daphne]

    def start(self, timeout: float = 60) -> "Server":
        log = open(self.log_path, "ab")  # noqa: SIM115 - closed with the process
        self.process = subprocess.Popen(  # noqa: S603 - our own command line
            self.command(),
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"{self.target} server exited at start; see {self.log_path}"
                )
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    return self
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"{self.target} server did not listen; see {self.log_path}")

    def status(self) -> dict[str, int]:
        return proc_status(self.pid)

    def cpu(self) -> float:
        return cpu_seconds(self.pid)

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)
