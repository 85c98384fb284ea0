"""The background task that moves journal rows into Arc, in seq order.

One cycle: ship the oldest unconfirmed rows in columnar batches, flush, and poll
until a query shows every one of them (a 204 only means buffered, and even after a
flush Arc shows rows with a delay); then confirm them (``ledger.py``), act on
tombstones and purges (``forget.py``) and retire what is confirmed and settled.

Shipping is at-least-once and made idempotent by the reads, which keep one row per
``memory_id``. It also avoids needless copies: rows that may have been sent before
(by a cycle that failed half-way, or by a process that died) are first looked up in
Arc, and only the missing ones are sent again.

When Arc fails the task backs off and probes ``/health``; the backlog drains by
itself once Arc answers again. Only the holder of the lease ships, so several
processes can share one data dir.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from collections.abc import Awaitable, Callable, Sequence
from functools import partial
from typing import Any, TypeVar

import anyio

from ... import ids
from ...errors import MemtraceError
from .failures import ArcAuthError, ArcPayloadTooLargeError, ArcUnavailableError
from .forget import Forgetter
from .ledger import Ledger, lease_owner
from .link import ArcLink
from .plan import MAX_PRUNED_SPAN_US, Range
from .reader import ArcReader
from .rows import ARC_TYPES, arc_columns, hour_of, row_bytes

T = TypeVar("T")
log = logging.getLogger(__name__)

_LEASE_US = 15_000_000
_CHUNK_BATCHES = 8
_MIN_BATCH_BYTES = 64 * 1024
_UPKEEP_US = 60_000_000
_MAX_BACKOFF_S = 2.0  # also how long a recovered Arc can wait to be noticed


class ArcShipper:
    def __init__(
        self,
        ledger: Ledger,
        reader: ArcReader,
        link: ArcLink,
        forgetter: Forgetter,
        *,
        measurement: str,
        batch_rows: int,
        batch_bytes: int,
        interval_s: float,
        timeout_s: float,
        visible_wait_s: float = 15.0,
        dedup_window_us: int | None = None,
        clock: Callable[[], int] = ids.next_time_us,
    ) -> None:
        self._ledger = ledger
        self._reader = reader
        self._link = link
        self._forgetter = forgetter
        self._measurement = measurement
        self._batch_rows = batch_rows
        self._batch_bytes = batch_bytes
        self._interval_s = interval_s
        self._timeout_s = timeout_s
        self._visible_wait_s = visible_wait_s
        self._dedup_window_us = dedup_window_us
        self._clock = clock
        self._owner = lease_owner(secrets.token_hex(8))
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._lease_until = 0
        self._sent_upto = 0  # rows up to this seq may already be in Arc
        self._can_flush = True
        self._adopted = False
        self._next_upkeep = 0
        self.cycles = 0

    # --- lifecycle --------------------------------------------------------------------

    def nudge(self) -> None:
        self._wake.set()

    async def start(self) -> None:
        self._adopted = await self._ledger.adopted()
        self._task = asyncio.get_running_loop().create_task(self._run(), name="arc-shipper")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        with contextlib.suppress(MemtraceError):
            await self._ledger.release(self._owner)

    async def _run(self) -> None:
        failures = 0
        while True:
            busy = False
            try:
                busy = await self.cycle()
                failures = 0
            except ArcUnavailableError as exc:
                failures += 1
                log.debug("arc shipping paused: %s", exc.message)
            except MemtraceError as exc:
                # Trigger: Arc refused what we sent (ArcRequestError) or SQLite failed.
                # Why: dropping rows would lose acknowledged memories. Outcome: the
                # rows stay journaled (and readable); we retry with backoff.
                failures += 1
                log.error("arc shipping failed: %s", exc.message)
            except Exception:
                failures += 1
                log.exception("arc shipping failed unexpectedly")
            if failures:
                await anyio.sleep(min(_MAX_BACKOFF_S, 0.1 * 2 ** min(failures - 1, 5)))
            elif not busy:
                with anyio.move_on_after(self._interval_s):
                    await self._wake.wait()
                self._wake.clear()

    # --- one cycle --------------------------------------------------------------------

    async def cycle(self) -> bool:
        """One round of work; True when there may be more to do at once."""
        self.cycles += 1
        if self._link.state != "connected" and not await self._link.probe():
            raise ArcUnavailableError("arc is unreachable")
        if not await self._leader():
            return False
        if not self._adopted:
            await self._adopt()
        shipped = await self._ship()
        forgot = await self._forgetter.cycle(self._flush)
        await self._ledger.retire(self._clock())
        await self._upkeep()
        return shipped or forgot

    async def _call(self, op: Callable[[], Awaitable[T]]) -> T:
        return await self._link.call(op, self._timeout_s)

    async def _leader(self) -> bool:
        now = self._clock()
        if now < self._lease_until - _LEASE_US // 2:
            return True
        fresh = now >= self._lease_until
        if not await self._ledger.lease(self._owner, now, _LEASE_US):
            self._lease_until = 0
            return False
        if fresh:
            # Another process (or this one before a crash) may have sent any of them.
            self._sent_upto = await self._ledger.max_seq()
        self._lease_until = now + _LEASE_US
        return True

    async def _adopt(self) -> None:
        """Learn the spans and the highest seq of what Arc already holds (once)."""
        spans: list[tuple[str, str, str, int, int]] = []
        top = 0
        for kind, column in (("a", "agent_id"), ("s", "session_id")):
            found = await self._call(partial(self._reader.spans, column))
            for org_id, key, lo, hi, seq in found:
                top = max(top, seq)
                if key:
                    spans.append((org_id, kind, key, lo, hi))
        await self._ledger.adopt(spans, top)
        self._adopted = True

    async def _flush(self) -> None:
        if not self._can_flush:
            return
        try:
            await self._call(self._reader.client.flush)
        except ArcAuthError:
            # Trigger: the token is not an admin token. Why: rows still become
            # visible once Arc's buffer ages out. Outcome: confirmation is slower.
            log.warning("the arc token cannot flush; waiting for arc's buffer age instead")
            self._can_flush = False

    async def _ship(self) -> bool:
        rows = await self._ledger.unconfirmed(
            self._batch_rows * _CHUNK_BATCHES, self._batch_bytes * _CHUNK_BATCHES
        )
        if not rows:
            return False
        needed = {int(r[0]) for r in rows}
        times = [int(r[3]) for r in rows]
        low, high = min(times), max(times) + 1
        rng = Range(low, high, prunable=high - low <= MAX_PRUNED_SPAN_US)
        todo: Sequence[tuple[Any, ...]] = rows
        if rows[0][0] <= self._sent_upto:
            await self._flush()
            seen = await self._call(lambda: self._reader.visible_seqs(needed, rng))
            todo = [r for r in rows if r[0] not in seen]
        if todo:
            self._sent_upto = max(self._sent_upto, int(rows[-1][0]))
            for batch in self._batches(todo):
                await self._write(batch)
            await self._flush()
        if not await self._visible(needed, rng):
            log.info("arc does not show %d shipped rows yet; will check again", len(needed))
            return True
        await self._ledger.confirm(int(rows[-1][0]), {hour_of(t) for t in times}, self._clock())
        return True

    def _batches(self, rows: Sequence[tuple[Any, ...]]) -> list[list[tuple[Any, ...]]]:
        batches: list[list[tuple[Any, ...]]] = [[]]
        size = 0
        for row in rows:
            cost = row_bytes(row)
            if batches[-1] and (
                len(batches[-1]) >= self._batch_rows or size + cost > self._batch_bytes
            ):
                batches.append([])
                size = 0
            batches[-1].append(row)
            size += cost
        return batches

    async def _write(self, batch: list[tuple[Any, ...]]) -> None:
        try:
            await self._call(
                lambda: self._reader.client.write_columns(
                    self._measurement, arc_columns(batch), types=ARC_TYPES
                )
            )
        except ArcPayloadTooLargeError:
            # Trigger: 413 (Arc's max_payload_size is smaller than our batches).
            # Outcome: smaller batches from now on; this chunk goes again.
            self._batch_bytes = max(_MIN_BATCH_BYTES, self._batch_bytes // 2)
            self._batch_rows = max(1, self._batch_rows // 2)
            raise

    async def _visible(self, needed: set[int], rng: Range) -> bool:
        """Poll until Arc serves every row in ``needed``, or the wait is over."""
        deadline = time.monotonic() + self._visible_wait_s
        delay = 0.01
        while True:
            seen = await self._call(lambda: self._reader.visible_seqs(needed, rng))
            if needed <= seen:
                return True
            if time.monotonic() > deadline:
                return False
            await anyio.sleep(delay)
            delay = min(0.5, delay * 2)

    async def _upkeep(self) -> None:
        now = self._clock()
        if now < self._next_upkeep:
            return
        self._next_upkeep = now + _UPKEEP_US
        if self._dedup_window_us is not None:
            await self._ledger.prune_dedup(now - self._dedup_window_us)
