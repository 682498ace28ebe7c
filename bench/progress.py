"""A one-line progress bar on stderr: the step, its bar, and a running note."""

import sys
import time


class Progress:
    """Shows `[k/n] label [#####.....] done/total note`, redrawn in place."""

    def __init__(self, total_steps: int, stream=None) -> None:
        self.total_steps = total_steps
        self.step = 0
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty()
        self.label = ""
        self.total = 1.0
        self.last_draw = 0.0
        self.server = None
        self.started = time.monotonic()

    def begin(self, label: str, total: float, server=None) -> None:
        self.step += 1
        self.label = label
        self.total = max(total, 1e-9)
        self.server = server
        self.last_draw = 0.0
        if not self.tty:
            self._write(f"[{self.step}/{self.total_steps}] {label} ...\n")
        else:
            self.update(done=0)

    def server_cpu(self) -> float:
        return self.server.cpu() if self.server is not None else 0.0

    def update(self, *, done: float, note: str = "") -> None:
        if not self.tty:
            return
        now = time.monotonic()
        if now - self.last_draw < 0.2:
            return
        self.last_draw = now
        share = min(1.0, done / self.total)
        bar = "#" * int(share * 24) + "." * (24 - int(share * 24))
        line = (
            f"\r[{self.step}/{self.total_steps}] {self.label[:44]:44} [{bar}] "
            f"{done:5.1f}/{self.total:.0f} {note}"
        )
        self._write(line[:160].ljust(120))

    def end(self, summary: str) -> None:
        text = f"[{self.step}/{self.total_steps}] {self.label} -> {summary}"
        self._write(("\r" + text.ljust(120) if self.tty else text) + "\n")

    def note(self, text: str) -> None:
        """A line of its own, between steps."""
        self._write(text)

    def _write(self, text: str) -> None:
        self.stream.write(text)
        self.stream.flush()
