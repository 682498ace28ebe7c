"""Optional: sample the server with py-spy while a scenario runs (`--profile`).

py-spy (requirements-bench.txt) records the server's Python stacks without
touching its code; the bench keeps the collapsed stacks and a summary of where
the samples fell, by function, both as the innermost frame ("self") and
anywhere on the stack ("total"). It runs on the load generator's core, so a
profiled run is slower than a measured one: profile and measure separately.
"""

import logging
import re
import shutil
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

logger = logging.getLogger(__name__)

LINE_RE = re.compile(r":\d+\)")


class Profiler:
    def __init__(self, *, pid: int, path: Path, rate: int = 250) -> None:
        self.pid = pid
        self.path = path
        self.rate = rate
        self.process: subprocess.Popen | None = None

    def start(self) -> "Profiler":
        beside = Path(sys.executable).parent / "py-spy"  # the venv's, if any
        executable = str(beside) if beside.exists() else shutil.which("py-spy")
        if executable is None:
            logger.warning("py-spy not installed: no profile (make bench installs it)")
            return self
        self.process = subprocess.Popen(  # noqa: S603 - our own command line
            [
                executable,
                "record",
                "--pid",
                str(self.pid),
                "--rate",
                str(self.rate),
                "--format",
                "raw",
                "--nonblocking",
                "--output",
                str(self.path),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        return self

    def stop(self) -> dict | None:
        if self.process is None:
            return None
        self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return None
        return summarise(self.path) if self.path.exists() else None


def _frame(raw: str) -> str:
    """'send (channels/consumer.py:85)' -> 'send (channels/consumer.py)'."""
    raw = LINE_RE.sub(")", raw.strip())
    return raw.replace("/site-packages/", "/").split("/python3.11/")[-1]


def summarise(path: Path, top: int = 25) -> dict:
    own: Counter = Counter()
    total: Counter = Counter()
    samples = 0
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        frames = [_frame(f) for f in stack.split(";") if f]
        # The first frame names the thread: keep the Python frames only.
        frames = [f for f in frames if "(" in f]
        if not frames:
            continue
        samples += n
        own[frames[-1]] += n
        for frame in set(frames):
            total[frame] += n

    def share(counter: Counter) -> list[list]:
        return [
            [name, round(100 * n / samples, 1)] for name, n in counter.most_common(top)
        ]

    return {
        "samples": samples,
        "self_pct": share(own) if samples else [],
        "total_pct": share(total) if samples else [],
        "stacks_file": path.name,
    }
