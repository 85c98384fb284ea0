"""``ArcMemoryStore``: memories in Arc, acknowledged by a local journal.

A write is durable once its journal transaction commits; the shipper (``shipper.py``)
moves it to Arc later. Every read merges two disjoint halves (see ``journal.py``):

- the journal's rows, read in one SQLite snapshot together with W, the org's
  tombstones and purges;
- Arc's rows with ``seq < W``, which Arc is known to serve, de-duplicated per
  ``memory_id`` (a retried write can land twice).

Pagination stays exact across the merge: each half returns its first
``offset + limit`` rows in the same order (Arc ``+ K`` more, K = the org's tombstones,
which may still be in Arc and are dropped here), the merge de-duplicates and slices.
When Arc cannot answer, the journal's half is served alone (``link.py``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence

from ... import ids
from ...models import Memory, MemoryQuery, MemoryStats
from ..base import Duplicate, NewMemory, StoreStatus
from .journal import Journal
from .ledger import Ledger
from .link import ArcLink
from .reader import ArcReader
from .rows import Row, time_of_id


def merge(a: Sequence[Row], b: Sequence[Row], *, desc: bool, hidden: frozenset[str]) -> list[Row]:
    """Both halves in (time, memory_id) order, one row per id, forgotten ones dropped."""
    seen: set[str] = set()
    out: list[Row] = []
    for row in sorted([*a, *b], key=lambda r: r.memory_id, reverse=desc):
        if row.memory_id not in seen and row.memory_id not in hidden:
            seen.add(row.memory_id)
            out.append(row)
    return out


class ArcMemoryStore:
    def __init__(
        self,
        journal: Journal,
        ledger: Ledger,
        reader: ArcReader,
        link: ArcLink,
        *,
        nudge: Callable[[], None] = lambda: None,
        clock: Callable[[], int] = ids.next_time_us,
    ) -> None:
        self._journal = journal
        self._ledger = ledger
        self._reader = reader
        self._link = link
        self._clock = clock
        self.nudge = nudge  # the shipper sets this: new rows or tombstones to act on

    # --- writes -----------------------------------------------------------------------

    async def insert_memories(
        self, records: Sequence[NewMemory], *, dedup_since_us: int | None
    ) -> list[Memory | Duplicate]:
        outcomes = await self._journal.insert(records, dedup_since_us)
        self.nudge()
        return outcomes

    async def delete_memory(self, org_id: str, memory_id: str) -> bool:
        now = self._clock()
        outcome = await self._journal.forget(org_id, memory_id, now, known=False)
        if outcome == "unknown":
            _, _, view = await self._journal.get(org_id, memory_id)
            found = await self._link.read(
                lambda: self._reader.by_id(view, memory_id, time_of_id(memory_id))
            )
            if found == []:
                return False
            # Trigger: Arc cannot say whether it holds this id (found is None).
            # Why: forgetting must work while Arc is away; tombstoning an id the org
            # never had hides nothing and the forgetter finds no row to delete.
            # Outcome: 204 even for an unknown id while Arc is unreachable.
            outcome = await self._journal.forget(org_id, memory_id, now, known=True)
        if outcome == "forgotten":
            self.nudge()
        return outcome == "forgotten"

    async def delete_agent_memories(self, org_id: str, agent_id: str) -> int:
        query = MemoryQuery(org_id=org_id, agent_id=agent_id)
        view = await self._journal.view(query)
        in_arc = await self._link.read(lambda: self._reader.count(query, view))
        # The rule hides every Arc row of the agent committed so far, also the ones
        # still journaled (seq >= W) that Arc already holds. Trigger: Arc unreachable
        # (in_arc is None). Why: the purge must take effect at once. Outcome: the
        # count returned covers the journal only.
        purged = await self._journal.purge(org_id, agent_id, self._clock())
        self.nudge()
        return purged + (in_arc or 0)

    # --- reads ------------------------------------------------------------------------

    async def get_memory(self, org_id: str, memory_id: str) -> Memory | None:
        row, forgotten, view = await self._journal.get(org_id, memory_id)
        if forgotten:
            return None
        if row is not None:
            return row.memory
        found = await self._link.read(
            lambda: self._reader.by_id(view, memory_id, time_of_id(memory_id))
        )
        if not found:
            return None
        _, forgotten, _ = await self._journal.get(org_id, memory_id)  # forgotten meanwhile?
        return None if forgotten else found[0].memory

    async def find_memory_ids(self, org_id: str, short_id: str) -> list[str]:
        journaled, stones = await self._journal.short_ids(org_id, short_id)
        query = MemoryQuery(org_id=org_id)
        view = await self._journal.view(query)
        in_arc = await self._link.read(lambda: self._reader.short_ids(query, view, short_id))
        found = [i for i in dict.fromkeys([*journaled, *(in_arc or [])]) if i not in stones]
        return found[:2]

    async def query_memories(self, query: MemoryQuery) -> list[Memory]:
        need = query.offset + query.limit
        view = await self._journal.view(query, rows=need)
        arc = await self._link.read(
            lambda: self._reader.top(query, view, need + len(view.tombstones), self._clock())
        )
        rows = merge(view.rows, arc or [], desc=query.order == "desc", hidden=view.tombstones)
        return [r.memory for r in rows[query.offset : need]]

    async def query_many(self, queries: Sequence[MemoryQuery]) -> list[list[Memory]]:
        # Separate Arc queries, in flight together.
        return list(await asyncio.gather(*(self.query_memories(q) for q in queries)))

    async def count_memories(self, query: MemoryQuery) -> int:
        view = await self._journal.view(query, count=True)
        in_arc = await self._link.read(lambda: self._reader.count(query, view))
        return view.count + (in_arc or 0)

    async def memory_stats(self, org_id: str, agent_id: str, since_us: int) -> MemoryStats:
        query = MemoryQuery(org_id=org_id, agent_id=agent_id, limit=1)
        recent = query.model_copy(update={"since_us": since_us})
        view, by_type, local_recent, local_errors = await self._journal.stats(query, since_us)

        async def arc_side() -> tuple[dict[str, int], dict[str, int]]:
            types, events = await asyncio.gather(
                self._reader.counts(query, view, "memory_type"),
                self._reader.counts(recent, view, "event_type"),
            )
            return types, events

        found, newest = await asyncio.gather(self._link.read(arc_side), self.query_memories(query))
        arc_types, arc_events = found or ({}, {})
        for kind, n in arc_types.items():
            by_type[kind] = by_type.get(kind, 0) + n
        return MemoryStats(
            memory_count=sum(by_type.values()),
            memories_24h=sum(arc_events.values()) + local_recent,
            errors_24h=arc_events.get("error", 0) + local_errors,
            memory_types={k: n for k, n in sorted(by_type.items()) if n > 0},
            last_time=newest[0].time if newest else None,
        )

    async def status(self) -> StoreStatus:
        counts = await self._ledger.backlog()
        state = await self._link.current()
        return StoreStatus(
            store="arc",
            ready=True,
            arc=state,
            backlog=counts.pop("backlog"),
            details={**counts, "partial_reads": self._link.partial_reads},
        )
