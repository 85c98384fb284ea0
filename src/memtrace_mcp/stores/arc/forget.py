"""Forgetting in Arc: flush, delete by id, verify; retried until it holds.

Why so careful (golden README): Arc deletes only flushed rows (del_buf_*: unflushed
ones come back at the next flush), a malformed delete answers 200 with
``deleted_count: 0`` (del_where_prefixed), and a write retried late could land after
a delete. So each round flushes first, counts the rows to delete (duplicates
included) and passes that count as ``expect``, counts again afterwards, and a
tombstone is dropped only after a second check a grace period later. Until then the
tombstone hides the memory from every read, whatever Arc still holds.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterable

import anyio

from ... import ids
from .failures import ArcAuthError, ArcDeleteIncompleteError, ArcUnavailableError
from .ledger import Ledger, Purge
from .link import ArcLink
from .reader import ArcReader
from .rows import hour_of, time_of_id
from .sql import Fragment, opaque_id

log = logging.getLogger(__name__)

_CHUNK = 200  # ids per delete: ~8 kB of ``where``
_PACE_S = 0.01
_RETRY_BASE_US = 1_000_000
_RETRY_MAX_US = 300_000_000
_DISABLED_RETRY_US = 600_000_000


def _retry_at(now_us: int, attempts: int) -> int:
    delay: int = min(_RETRY_MAX_US, _RETRY_BASE_US * 2 ** min(attempts, 16))
    return now_us + delay


def _hours(memory_ids: Iterable[str]) -> set[int]:
    return {hour_of(t) for t in map(time_of_id, memory_ids) if t is not None}


class Forgetter:
    def __init__(
        self,
        ledger: Ledger,
        reader: ArcReader,
        link: ArcLink,
        *,
        grace_us: int,
        timeout_s: float,
        clock: Callable[[], int] = ids.next_time_us,
    ) -> None:
        self._ledger = ledger
        self._reader = reader
        self._link = link
        self._grace_us = grace_us
        self._timeout_s = timeout_s
        self._clock = clock

    async def cycle(self, flush: Callable[[], Awaitable[None]]) -> bool:
        """Act on due tombstones and purges; True when there was anything to do."""
        now = self._clock()
        stones = await self._ledger.due_tombstones(now, self._grace_us, _CHUNK * 5)
        purges = await self._ledger.due_purges(now, self._grace_us, 4)
        if not stones and not purges:
            return False
        await flush()
        by_org: dict[str, list[tuple[str, int | None, int]]] = defaultdict(list)
        for org_id, memory_id, verified, attempts in stones:
            by_org[org_id].append((memory_id, verified, attempts))
        for org_id, entries in by_org.items():
            for start in range(0, len(entries), _CHUNK):
                await self._ids(org_id, entries[start : start + _CHUNK])
        for purge in purges:
            await self._purge(purge)
        return True

    async def _delete(self, counts: dict[str, int]) -> None:
        where = Fragment(
            "memory_id IN ("
            + ", ".join(opaque_id(i, field="memory_id") for i in sorted(counts))
            + ")"
        )
        await self._link.call(
            lambda: self._reader.delete(where, sum(counts.values())), self._timeout_s
        )
        await self._ledger.unsettle(_hours(counts), self._clock())

    async def _ids(self, org_id: str, entries: list[tuple[str, int | None, int]]) -> None:
        wanted = [m for m, _, _ in entries]
        now = self._clock()
        try:
            before = await self._count(org_id, wanted)
            if before:
                await self._delete(before)
            after = await self._count(org_id, wanted) if before else {}
        except ArcDeleteIncompleteError:
            # Arc deleted other than what it counted (a late write landed, or a file
            # failed): count and delete again on the next round.
            retry = [(org_id, m, _retry_at(now, a)) for m, _, a in entries]
            await self._ledger.settle_tombstones([], [], retry, now)
            return
        except ArcAuthError as exc:
            # Trigger: delete.enabled is off in Arc, or the token is not admin. Why: the
            # tombstone alone keeps the memory out of every read. Outcome: it stays
            # (hidden, and reported as "forgetting" in status) and is retried rarely.
            log.warning("arc refuses deletes (%s); forgotten memories stay hidden", exc.reason)
            retry = [(org_id, m, now + _DISABLED_RETRY_US) for m in wanted]
            await self._ledger.settle_tombstones([], [], retry, now)
            return
        except ArcUnavailableError:
            retry = [(org_id, m, _retry_at(now, a)) for m, _, a in entries]
            await self._ledger.settle_tombstones([], [], retry, now)
            raise
        verified, dropped, retry_list = [], [], []
        for memory_id, was_verified, attempts in entries:
            if after.get(memory_id):
                retry_list.append((org_id, memory_id, _retry_at(now, attempts)))
            elif was_verified is not None and memory_id not in before:
                dropped.append((org_id, memory_id))  # still gone a grace period later
            else:
                verified.append((org_id, memory_id))
        await self._ledger.settle_tombstones(verified, dropped, retry_list, now)

    async def _count(self, org_id: str, memory_ids: list[str]) -> dict[str, int]:
        return await self._link.call(
            lambda: self._reader.row_counts(org_id, memory_ids), self._timeout_s
        )

    async def _purge(self, purge: Purge) -> None:
        org_id, agent_id, max_seq, verified, attempts = purge
        now = self._clock()
        deleted_any = False
        try:
            for _ in range(50):  # a bounded share of one cycle; the rest next time
                counts = await self._link.call(
                    lambda: self._reader.purge_counts(org_id, agent_id, max_seq, _CHUNK),
                    self._timeout_s,
                )
                if not counts:
                    break
                await self._delete(counts)
                deleted_any = True
                await anyio.sleep(_PACE_S)  # room for other processes' reads
            left = await self._link.call(
                lambda: self._reader.purge_counts(org_id, agent_id, max_seq, 1), self._timeout_s
            )
        except ArcDeleteIncompleteError:
            await self._ledger.settle_purge(purge, "retry", now, _retry_at(now, attempts))
            return
        except ArcAuthError as exc:
            log.warning("arc refuses deletes (%s); purged memories stay hidden", exc.reason)
            await self._ledger.settle_purge(purge, "retry", now, now + _DISABLED_RETRY_US)
            return
        except ArcUnavailableError:
            await self._ledger.settle_purge(purge, "retry", now, _retry_at(now, attempts))
            raise
        if left:
            await self._ledger.settle_purge(purge, "retry", now, now)
        elif verified is not None and not deleted_any:
            await self._ledger.settle_purge(purge, "dropped", now, now)
        else:
            await self._ledger.settle_purge(purge, "verified", now, now)
