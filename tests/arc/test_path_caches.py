"""Time-bounded reads stay exact through Arc's path caches (golden README 26–27).

Arc answers a query with a ``time`` bound from caches: an hour directory that first
gets files can stay invisible to such queries (new hour), and after a delete empties
a cached hour the whole answer can be empty. The stand-in reproduces both, here with
its caches scaled down (3 s and 6 s instead of 30 s and 60 s) and the store's
horizon scaled to match. Each step checks the trap is really there (a prunable
query straight to Arc is wrong) while the store's answer is right.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest

from memtrace_mcp.models import MemoryFilter
from memtrace_mcp.stores.arc.client import ArcClient
from memtrace_mcp.stores.arc.results import to_str
from memtrace_mcp.stores.arc.sql import time_compare
from memtrace_mcp.stores.arc.statement import Select
from tests.arc_standin.fixtures import ArcServer

from ..support.arc import arc_settings
from .conftest import opened
from .helpers import A, draft, retired, shipped, wait_for

pytestmark = [pytest.mark.arc, pytest.mark.slow]

HOUR = 3_600_000_000


class MovableClock:
    """Wall time plus an offset that tests move forward; strictly increasing."""

    def __init__(self) -> None:
        self.offset = 0
        self._last = 0

    def __call__(self) -> int:
        now = time.time_ns() // 1000 + self.offset
        self._last = now = max(now, self._last + 1)
        return now


async def arc_ids(arc: ArcServer, since_us: int, *, prunable: bool) -> list[str] | None:
    """Memory ids Arc returns for ``time >= since``; None for Arc's "no files" shape."""
    sql = Select(
        "memories", ("memory_id",), where=(time_compare(">=", since_us, prunable=prunable),)
    ).render()
    async with ArcClient(arc.url, arc.admin_token, "caches") as client:
        result = await client.query(sql, convert={"memory_id": to_str})
    return None if not result.columns else sorted(set(result.column("memory_id")))


async def test_reads_stay_exact_through_a_new_hour_and_an_emptied_hour(
    arc_standin_factory: Callable[..., ArcServer], tmp_path: Path
) -> None:
    arc = arc_standin_factory(glob_cache_ttl_s=3.0, partition_cache_ttl_s=6.0)
    clock = MovableClock()
    settings = arc_settings(arc, tmp_path / "data", "caches", arc_cache_horizon_s=10.0)
    async with opened(settings, clock) as services:
        old = (
            await services.memories.remember_batch(A, [draft(f"old {i}") for i in range(5)])
        ).memories
        await wait_for(lambda: retired(services), timeout=60)
        start = clock()

        async def listed() -> list[str]:
            page = await services.memories.list(A, MemoryFilter(limit=50))
            return [m.memory_id for m in page.memories]

        # Prime Arc's caches: the next hours are seen as empty for a while.
        assert await listed() == [m.memory_id for m in reversed(old)]
        assert await arc_ids(arc, start - HOUR, prunable=True) == sorted(m.memory_id for m in old)

        clock.offset = 2 * HOUR  # a new hour directory
        new = (
            await services.memories.remember_batch(A, [draft(f"new {i}") for i in range(3)])
        ).memories
        await wait_for(lambda: shipped(services))
        everything = [m.memory_id for m in reversed(old + new)]
        assert await listed() == everything
        # The trap is real: Arc's time-bounded answer lacks the new hour, the fresh one has it.
        assert set(await arc_ids(arc, start - HOUR, prunable=True) or []) == {
            m.memory_id for m in old
        }
        assert await arc_ids(arc, start - HOUR, prunable=False) == sorted(everything)

        await wait_for(lambda: retired(services), timeout=60)  # the new hour settled
        assert await listed() == everything

        # Empty that hour: forget every memory in it, with its path list cached.
        for memory in new:
            await services.memories.forget(A, memory.memory_id)
        assert await listed() == [m.memory_id for m in reversed(old)]

        async def deleted_in_arc() -> bool:
            return set(await arc_ids(arc, start - HOUR, prunable=False) or []) == {
                m.memory_id for m in old
            }

        await wait_for(deleted_in_arc)
        assert await arc_ids(arc, start - HOUR, prunable=True) is None  # Arc: "no files"
        assert await listed() == [m.memory_id for m in reversed(old)]
        page = await services.memories.list(A, MemoryFilter(since="3h", limit=50))
        assert page.count == 5
