"""A small progress bar on stderr: step/total, loss, gradient norm, rate and ETA.

On a terminal it redraws one line in place; anywhere else (a pipe, a CI log, a test capturing
stderr) it prints a plain line every `every` steps and at the end, so logs stay readable.
"""

from __future__ import annotations

import shutil
import sys
import time
from typing import TextIO


def plural(n: int, word: str) -> str:
    """plural(1, "chunk") -> '1 chunk', plural(5, "chunk") -> '5 chunks'."""
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def format_duration(seconds: float) -> str:
    """12.3 -> '0:12', 4000 -> '1:06:40'."""
    if not seconds < float("inf"):
        return "?"
    seconds = int(round(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


class ProgressBar:
    """`bar.update(step, loss=..., grad_norm=...)` after each step, `bar.close()` at the end.

    step counts from `start` (a resumed run) to `total`; the rate only counts this run's steps.
    """

    def __init__(self, total: int, desc: str = "train", start: int = 0,
                 stream: TextIO | None = None, width: int = 24, every: int | None = None,
                 min_interval: float = 0.1) -> None:
        self.total, self.desc, self.start, self.width = max(total, 1), desc, start, width
        self.stream = stream if stream is not None else sys.stderr
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.every = every if every is not None else max(1, (total - start) // 10)
        self.min_interval = min_interval
        self.started = time.perf_counter()
        self._last_draw = 0.0
        self._last_line = ""
        self.step = start

    def line(self, step: int, loss: float | None, grad_norm: float | None) -> str:
        """The text of one progress line (no newline)."""
        done = step / self.total
        filled = int(round(self.width * min(done, 1.0)))
        bar = "#" * filled + "." * (self.width - filled)
        elapsed = time.perf_counter() - self.started
        rate = (step - self.start) / elapsed if elapsed > 0 else 0.0
        eta = (self.total - step) / rate if rate > 0 else float("inf")
        parts = [f"{self.desc} [{bar}] {step}/{self.total}"]
        if loss is not None:
            parts.append(f"loss {loss:.4g}")
        if grad_norm is not None:
            parts.append(f"|grad| {grad_norm:.3g}")
        parts.append(f"{rate:.1f} it/s" if rate >= 1 or rate == 0 else f"{1 / rate:.2f} s/it")
        parts.append(f"ETA {format_duration(eta)}" if step < self.total
                     else f"in {format_duration(elapsed)}")
        return "  ".join(parts)

    def update(self, step: int, loss: float | None = None,
               grad_norm: float | None = None) -> None:
        self.step = step
        now = time.perf_counter()
        last = step >= self.total
        if self.tty:
            if last or now - self._last_draw >= self.min_interval:
                # A line wider than the terminal would wrap, and "\r" would then redraw only
                # its last part, leaving a trail of partial lines: cut it to the width.
                width = shutil.get_terminal_size().columns - 1
                text = self.line(step, loss, grad_norm)[:width]
                self._draw("\r" + text.ljust(min(len(self._last_line), width)))
                self._last_draw = now
        elif last or (step - self.start) % self.every == 0:
            self._draw(self.line(step, loss, grad_norm) + "\n")

    def _draw(self, text: str) -> None:
        self._last_line = text.rstrip("\n").lstrip("\r")
        self.stream.write(text)
        self.stream.flush()

    def close(self) -> None:
        """End the in-place line on a terminal (no-op for plain logs)."""
        if self.tty and self._last_line:
            self.stream.write("\n")
            self.stream.flush()
            self._last_line = ""
