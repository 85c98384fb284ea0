"""The Arc store answers every query exactly as the embedded store does.

The same records (same ids and times, spread over weeks so that newest-first reads
widen through every time window) go into both stores; then every kind of query is
compared: first with everything in Arc (the journal retired), then with a mix of
Arc, journal, forgotten and purged memories.
"""

from __future__ import annotations

import json
import random
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from memtrace_mcp import ids
from memtrace_mcp.config import Settings
from memtrace_mcp.models import MemoryQuery
from memtrace_mcp.stores.base import MemoryStore, NewMemory
from memtrace_mcp.stores.sqlite.db import Database
from memtrace_mcp.stores.sqlite.memories import SqliteMemoryStore
from memtrace_mcp.wiring import arc_memories, limits_from

from .helpers import wait_for

pytestmark = pytest.mark.arc

HOUR = 3_600_000_000
DAY = 24 * HOUR
ORG = "org_default"
TAGS = ["alpha", "beta", "go", "golang", "x.y:z"]
WORDS = ["Alpha", "beta", "GAMMA", "100%", "snake_case", "it's", "C:\\path", "ÉCOLE", "🙂", "İstanbul"]


def records(rng: random.Random, now: int, n: int, start: int) -> list[NewMemory]:
    out = []
    for i in range(start, start + n):
        # Clusters from minutes to 50 days old: every time window of a newest-first
        # read is used, in a handful of hour directories (the stand-in is quick then).
        cluster = rng.choice([0, 0, 0, 3 * HOUR, 2 * DAY, 10 * DAY, 50 * DAY])
        age = cluster + int(rng.random() * 40 * 60_000_000)
        time_us = now - age - i  # distinct times
        out.append(
            NewMemory(
                memory_id=ids.memory_id(time_us),
                time_us=time_us,
                org_id=ORG if i % 11 else "org_b",
                agent_id=f"agent{i % 3}",
                session_id=None if i % 4 == 0 else f"s{i % 5}",
                memory_type=rng.choice(["episodic", "session", "decision", "entity"]),
                event_type=rng.choice(["step", "error", "observe"]),
                content=f"{rng.choice(WORDS)} {i} {rng.choice(WORDS)}",
                metadata_json=json.dumps({"i": i}),
                metadata={"i": i},
                tags=tuple(rng.sample(TAGS, rng.randint(0, 3))),
                importance=round(rng.random(), 2),
                dedup_key=f"k{i}",
                parent_id=None if i % 3 else f"p{i}",
            )
        )
    return out


def queries(now: int) -> list[MemoryQuery]:
    base = MemoryQuery(org_id=ORG)
    variants: list[dict[str, object]] = [
        {},
        {"order": "asc"},
        {"limit": 7, "offset": 13},
        {"limit": 5, "offset": 40, "order": "asc"},
        {"agent_id": "agent1"},
        {"agent_id": "agent2", "limit": 3},
        {"session_id": "s2", "limit": 10_000},
        {"session_id": "s3", "memory_types": ("decision", "entity")},
        {"tags": ("go",)},
        {"tags": ("alpha", "beta")},
        {"tags": ("x.y:z",), "order": "asc", "limit": 4, "offset": 2},
        {"content_contains": "alpha"},
        {"content_contains": "%"},
        {"content_contains": "\\"},
        {"content_contains": "'"},
        {"content_contains": "école"},
        {"content_contains": "istanbul"},
        {"content_contains": "read_parquet"},
        {"content_contains": "🙂", "agent_id": "agent0"},
        {"min_importance": 0.5},
        {"min_importance": 0.9, "order": "asc"},
        {"since_us": now - 2 * DAY},
        {"since_us": now - 30 * 60_000_000},
        {"until_us": now - 3 * DAY},
        {"until_us": now - 3 * DAY, "order": "asc", "limit": 9},
        {"since_us": now - 20 * DAY, "until_us": now - 6 * HOUR},
        {"event_types": ("error",), "agent_id": "agent0", "since_us": now - DAY},
        {"agent_id": "agent1", "tags": ("beta",), "content_contains": "GAMMA"},
        {"session_id": "nobody"},
        {"limit": 1000},
    ]
    return [base.model_copy(update={"limit": 50, **v}) for v in variants]


async def assert_same(sqlite: MemoryStore, arc: MemoryStore, now: int, sample: list[str]) -> None:
    other_org = [q.model_copy(update={"org_id": "org_b"}) for q in queries(now)[:2]]
    for q in queries(now) + other_org:
        if True:
            want = await sqlite.query_memories(q)
            got = await arc.query_memories(q)
            assert [m.memory_id for m in got] == [m.memory_id for m in want], q
            assert got == want, q
            assert await arc.count_memories(q) == await sqlite.count_memories(q), q
    for agent in ("agent0", "agent1", "agent2", "nobody"):
        assert await arc.memory_stats(ORG, agent, now - DAY) == await sqlite.memory_stats(
            ORG, agent, now - DAY
        ), agent
    for memory_id in sample:
        assert await arc.get_memory(ORG, memory_id) == await sqlite.get_memory(ORG, memory_id)
        short = memory_id[-12:]
        assert await arc.find_memory_ids(ORG, short) == await sqlite.find_memory_ids(ORG, short)


@asynccontextmanager
async def stores(
    settings: Settings, tmp_path: Path
) -> AsyncIterator[tuple[MemoryStore, MemoryStore]]:
    embedded_db = Database(tmp_path / "embedded.db")
    arc_db = Database(settings.db_path)
    await embedded_db.open()
    await arc_db.open()
    arc, start, stop = arc_memories(settings, arc_db, limits_from(settings), ids.next_time_us)
    for step in start:
        await step()
    try:
        yield SqliteMemoryStore(embedded_db), arc
    finally:
        for step in reversed(stop):
            await step()
        await arc_db.close()
        await embedded_db.close()


async def test_arc_and_embedded_stores_answer_alike(
    quick_settings: Settings, tmp_path: Path
) -> None:
    rng = random.Random(7)
    now = ids.next_time_us()
    async with stores(quick_settings, tmp_path) as (sqlite, arc):
        first = records(rng, now, 400, 0)
        for store in (sqlite, arc):
            await store.insert_memories(first, dedup_since_us=None)

        async def retired() -> bool:
            return (await arc.status()).details["journal"] == 0

        await wait_for(retired, timeout=60)
        sample = [r.memory_id for r in first[::37]]
        await assert_same(sqlite, arc, now, sample)

        # Now a mix: new rows still journaled, some memories forgotten, one agent purged.
        second = records(rng, now, 200, 400)
        for store in (sqlite, arc):
            await store.insert_memories(second, dedup_since_us=None)
            for rec in first[5:40:6] + second[3:30:9]:
                assert await store.delete_memory(rec.org_id, rec.memory_id)
            await store.delete_agent_memories(ORG, "agent2")
        sample += [r.memory_id for r in second[::23]] + [first[5].memory_id]
        await assert_same(sqlite, arc, now, sample)

        await wait_for(retired, timeout=60)  # forgotten in Arc too, and all retired
        await assert_same(sqlite, arc, now, sample)
