"""Arc's ingest buffer: rows are invisible until a flush writes them to Parquet.

A buffer per (database, measurement) is flushed when its first row is older than
``max_buffer_age_ms``, when it holds ``max_buffer_rows`` rows, on
``POST /api/v1/write/line-protocol/flush``, and on shutdown. Poison batches (zero
rows, a column named "") are accepted with 204 and only fail here, as in Arc.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from .storage import Batch

log = logging.getLogger("arc_standin.buffer")


@dataclass
class _Buffer:
    created: float
    batches: list[Batch] = field(default_factory=list)

    @property
    def rows(self) -> int:
        return sum(b.rows for b in self.batches)


class FlushPanic(Exception):
    """Arc panics inside the flush; the message is the Go runtime error."""


class IngestBuffer:
    def __init__(
        self,
        write: Callable[[str, list[Batch]], None],
        max_age_ms: int,
        max_rows: int,
        crash_on_background_panic: bool,
    ) -> None:
        self._write = write  # (database, same-schema batches of one measurement)
        self._max_age_s = max_age_ms / 1000
        self._max_rows = max_rows
        self._crash = crash_on_background_panic
        self._buffers: dict[tuple[str, str], _Buffer] = {}
        self._state = threading.Lock()
        self._flushing = threading.Lock()  # one flush at a time, like Arc's flush path
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def add(self, db: str, batches: list[Batch]) -> None:
        full = []
        with self._state:
            for batch in batches:
                key = (db, batch.measurement)
                buffer = self._buffers.setdefault(key, _Buffer(time.monotonic()))
                buffer.batches.append(batch)
                if buffer.rows >= self._max_rows:
                    full.append(key)
        if full:
            self._flush_in_background(full)

    def flush_all(self) -> str | None:
        """Flush every buffer; the first error message, or None."""
        with self._state:
            keys = list(self._buffers)
        try:
            return self._flush_keys(keys)
        except FlushPanic as panic:
            return str(panic)

    def _flush_keys(self, keys: list[tuple[str, str]]) -> str | None:
        error = None
        with self._flushing:
            for index, key in enumerate(keys):
                with self._state:
                    buffer = self._buffers.pop(key, None)
                if buffer is None:
                    continue
                if any(b.panics for b in buffer.batches):
                    # The panic loses this whole buffer and stops the flush; later
                    # buffers stay buffered.
                    message = next(b.poison for b in buffer.batches if b.panics)
                    log.error(
                        "flush of %s/%s panicked: %s (%d keys left)",
                        *key,
                        message,
                        len(keys) - index - 1,
                    )
                    raise FlushPanic(message)
                problem = self._write_buffer(key[0], buffer)
                error = error or problem
        return error

    def _write_buffer(self, db: str, buffer: _Buffer) -> str | None:
        error = None
        groups: dict[tuple[tuple[str, str], ...], list[Batch]] = {}
        for batch in buffer.batches:
            if batch.poison:
                error = error or f"Flush failed: {batch.poison}"
                log.error("dropping batch for %s/%s: %s", db, batch.measurement, batch.poison)
                continue
            # Batches with different column types go to different files.
            groups.setdefault(batch.signature, []).append(batch)
        for same_schema in groups.values():
            try:
                self._write(db, same_schema)
            except Exception as exc:  # a failed write loses the batch, as in Arc
                log.exception("flush of %s/%s failed", db, same_schema[0].measurement)
                error = error or f"Flush failed: {exc}"
        return error

    # ---------------- background flusher ----------------
    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="arc-standin-flusher", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def _run(self) -> None:
        tick = min(max(self._max_age_s / 4, 0.005), 0.25)
        while not self._stop.wait(tick):
            now = time.monotonic()
            with self._state:
                due = [k for k, b in self._buffers.items() if now - b.created >= self._max_age_s]
            if due:
                self._flush_in_background(due)

    def _flush_in_background(self, keys: list[tuple[str, str]]) -> None:
        try:
            self._flush_keys(keys)
        except FlushPanic as panic:
            if self._crash:
                # A Go panic outside any request handler ends the Arc process; so does ours.
                print(f"panic: {panic}\n\ngoroutine 1 [running]:", file=sys.stderr, flush=True)
                os._exit(2)
            log.error("background flush panicked (crash disabled): %s", panic)
