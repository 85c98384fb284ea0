"""The journal: readable at once, shipped to Arc, confirmed, retired; never twice."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from memtrace_mcp.config import Settings
from memtrace_mcp.models import ContextRequest, MemoryFilter, SearchRequest
from memtrace_mcp.stores.arc.client import ArcClient
from memtrace_mcp.stores.arc.rows import ARC_COLUMNS, ARC_CONVERT, ARC_TYPES, arc_columns, from_arc
from memtrace_mcp.stores.arc.statement import Select
from tests.arc_standin.fixtures import ArcServer
from tests.arc_standin.proxy import ChaosProxy

from ..support.arc import arc_settings
from .conftest import opened
from .helpers import A, draft, journaled, retired, rows_in_arc, shipped, wait_for

pytestmark = pytest.mark.arc


async def test_a_memory_is_readable_everywhere_before_arc_has_it(
    arc_standin: ArcServer, arc_proxy: ChaosProxy, arc_database: str, tmp_path: Path
) -> None:
    settings = arc_settings(arc_standin, tmp_path / "data", arc_database)
    settings = settings.model_copy(update={"arc_url": arc_proxy.url})
    arc_proxy.cut()
    async with opened(settings) as services:
        stored = await services.memories.remember(
            A, draft("before shipping", session_id="s1", tags=["early"], event_type="error")
        )
        assert await services.memories.get(A, stored.memory_id) == stored
        assert await services.memories.get(A, stored.memory_id[-12:]) == stored
        page = await services.memories.list(A, MemoryFilter(tags=["early"]))
        assert [m.memory_id for m in page.memories] == [stored.memory_id]
        found = await services.memories.search(A, SearchRequest(content_contains="SHIPPING"))
        assert found.count == 1
        context = await services.sessions.context(A, "s1", ContextRequest())
        assert context.memory_count == 1 and "before shipping" in context.context
        stats = await services.agents.stats(A, "agent_1")
        assert (stats.memory_count, stats.errors_24h) == (1, 1)
        status = await services.memories.status()
        assert (status.store, status.arc, status.backlog) == ("arc", "disconnected", 1)

        arc_proxy.resume()
        await wait_for(lambda: shipped(services))
        assert (await services.memories.status()).arc == "connected"
        assert await services.memories.get(A, stored.memory_id) == stored
    assert await rows_in_arc(arc_standin, arc_database) == {stored.memory_id: 1}


async def test_the_shipper_drains_the_journal_into_arc_once_each(
    quick_arc: ArcServer, quick_settings: Settings
) -> None:
    async with opened(quick_settings) as services:
        acked: list[str] = []
        for n in range(3):
            batch = [draft(f"batch {n} item {i}", agent_id=f"a{i % 7}") for i in range(1000)]
            acked += [
                m.memory_id for m in (await services.memories.remember_batch(A, batch)).memories
            ]
        for i in range(50):
            acked.append((await services.memories.remember(A, draft(f"single {i}"))).memory_id)
        await wait_for(lambda: retired(services), timeout=60)
        assert await journaled(services) == 0
        listed: list[str] = []
        for offset in range(0, len(acked) + 1, 1000):
            page = await services.memories.list(
                A, MemoryFilter(limit=1000, offset=offset, order="asc")
            )
            listed += [m.memory_id for m in page.memories]
        assert listed == acked  # ids are time-ordered: acknowledgement order
    in_arc = await rows_in_arc(quick_arc, "quick")
    assert set(in_arc) == set(acked) and set(in_arc.values()) == {1}


async def _send_again(arc: ArcServer, database: str) -> int:
    """Write every row Arc holds once more, as a retried shipment would."""
    async with ArcClient(arc.url, arc.admin_token, database) as client:
        await client.flush()
        result = await client.query(Select("memories", ARC_COLUMNS).render(), convert=ARC_CONVERT)
        names = [c.rsplit(" AS ", 1)[-1] for c in ARC_COLUMNS]
        rows = [from_arc([rec[n] for n in names]) for rec in result.records()]
        journal_rows = [
            (
                r.seq, m.memory_id, m.org_id, int(m.time.timestamp() * 1_000_000), m.agent_id,
                m.session_id, m.memory_type, m.event_type, m.content, json.dumps(m.metadata),
                json.dumps(m.tags), m.importance, m.dedup_key, m.parent_id,
            )
            for r in rows
            for m in [r.memory]
        ]  # fmt: skip
        await client.write_columns("memories", arc_columns(journal_rows), types=ARC_TYPES)
        await client.flush()
    return len(rows)


@pytest.mark.parametrize("state", ["retired", "journaled"])
async def test_a_batch_shipped_twice_never_shows_twice(
    state: str, quick_arc: ArcServer, tmp_path: Path
) -> None:
    # "retired": reads come from Arc alone; "journaled": confirmed in Arc but still
    # in the journal (the default horizon), where the two halves overlap.
    horizon = 2.0 if state == "retired" else 600.0
    settings = arc_settings(quick_arc, tmp_path / "data", "twice", arc_cache_horizon_s=horizon)
    async with opened(settings) as services:
        batch = [
            draft(
                f"step {i}",
                session_id="s",
                tags=["twice"],
                event_type="error" if i % 5 == 0 else "step",
            )
            for i in range(20)
        ]
        stored = (await services.memories.remember_batch(A, batch)).memories
        await wait_for(lambda: retired(services) if state == "retired" else shipped(services))
        assert await _send_again(quick_arc, "twice") == 20
        assert set((await rows_in_arc(quick_arc, "twice")).values()) == {2}

        page = await services.memories.list(A, MemoryFilter(limit=100))
        assert [m.memory_id for m in page.memories] == [m.memory_id for m in reversed(stored)]
        tagged = await services.memories.search(
            A, SearchRequest(tags=["twice"], limit=7, offset=14)
        )
        assert [m.memory_id for m in tagged.results] == [m.memory_id for m in reversed(stored[:6])]
        assert (
            await services.memories.search(A, SearchRequest(content_contains="step 1"))
        ).count == 11
        stats = await services.agents.stats(A, "agent_1")
        assert (stats.memory_count, stats.memories_24h, stats.errors_24h) == (20, 20, 4)
        context = await services.sessions.context(A, "s", ContextRequest())
        assert context.memory_count == 20
        assert sum(context.context.count(f"#{m.memory_id[-12:]})") for m in stored) == 20
        assert await services.memories.get(A, stored[3].memory_id) == stored[3]


async def test_two_processes_on_one_data_dir_ship_each_memory_once(
    quick_arc: ArcServer, quick_settings: Settings
) -> None:
    # Two runtimes on one data dir, as two stdio servers would be: one lease, one shipper.
    async with opened(quick_settings) as first, opened(quick_settings) as second:
        acked: list[str] = []
        for i in range(20):
            for services in (first, second):
                batch = [draft(f"{i}.{j}") for j in range(10)]
                acked += [
                    m.memory_id for m in (await services.memories.remember_batch(A, batch)).memories
                ]
        await wait_for(lambda: retired(first), timeout=60)
        for services in (first, second):
            page = await services.memories.list(A, MemoryFilter(limit=1000, order="asc"))
            assert [m.memory_id for m in page.memories] == sorted(acked)
    in_arc = await rows_in_arc(quick_arc, "quick")
    assert set(in_arc) == set(acked) and set(in_arc.values()) == {1}
