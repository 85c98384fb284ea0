"""A progress bar on stderr (stdlib only).

On a terminal it redraws one line; elsewhere (CI logs, a pipe) it prints a line
at every quarter of the way, so logs stay short.
"""

from __future__ import annotations

import sys
import time
from types import TracebackType
from typing import Self


class Progress:
    def __init__(self, label: str, total: float, unit: str = "") -> None:
        self.label, self.total, self.unit = label, max(total, 1), unit
        self.done = 0.0
        self._tty = sys.stderr.isatty()
        self._started = time.monotonic()
        self._last_draw = 0.0
        self._last_step = -1

    def __enter__(self) -> Self:
        self._draw(force=True)
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if kind is None:
            self.done = self.total
        self._draw(force=True, end=True)

    def advance(self, n: float = 1) -> None:
        self.done += n
        self._draw()

    def set(self, value: float) -> None:
        self.done = value
        self._draw()

    def _draw(self, *, force: bool = False, end: bool = False) -> None:
        now = time.monotonic()
        frac = min(self.done / self.total, 1.0)
        if self._tty:
            if not force and now - self._last_draw < 0.2:
                return
        else:
            step = int(frac * 4)
            if not force and step == self._last_step:
                return
            self._last_step = step
        self._last_draw = now
        bar = "#" * int(frac * 24)
        line = (
            f"[{bar:<24}] {frac:4.0%} {self.label}: {self.done:,.0f}/{self.total:,.0f} {self.unit}"
            f" ({now - self._started:.1f}s)"
        )
        if self._tty:
            sys.stderr.write("\r\x1b[2K" + line + ("\n" if end else ""))
        else:
            sys.stderr.write(line + "\n")
        sys.stderr.flush()


def note(message: str) -> None:
    """A one-line status message on stderr."""
    print(f"bench: {message}", file=sys.stderr, flush=True)
