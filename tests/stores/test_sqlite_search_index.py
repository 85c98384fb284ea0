"""The embedded store's substring index is filled off the write path; a search must
give the same answer whether a memory is indexed yet or not, and forgetting must
keep the index consistent either way."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from memtrace_mcp.models import MemoryQuery
from memtrace_mcp.stores.sqlite.db import Database
from memtrace_mcp.stores.sqlite.memories import SqliteMemoryStore, index_pending

from .test_memory_contract import A
from ..support.records import new_memory


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[tuple[Database, SqliteMemoryStore]]:
    db = Database(tmp_path / "memtrace.db")
    store = SqliteMemoryStore(db, background_index=False)  # the test indexes itself
    await db.open()
    try:
        yield db, store
    finally:
        await db.close()


async def _contents(store: SqliteMemoryStore, needle: str) -> set[str]:
    query = MemoryQuery(org_id=A.org_id, content_contains=needle, limit=100)
    return {m.content for m in await store.query_memories(query)}


async def _index_all(db: Database) -> None:
    while await db.write(index_pending):
        pass


async def _watermark(db: Database) -> int:
    return int(await db.read(lambda c: c.execute("SELECT watermark FROM fts_state").fetchone()[0]))


async def test_search_finds_memories_before_and_after_they_are_indexed(
    store: tuple[Database, SqliteMemoryStore],
) -> None:
    db, memories = store
    await memories.insert_memories(
        [new_memory("Indexed Later"), new_memory("indexed too"), new_memory("other")],
        dedup_since_us=None,
    )
    assert await _watermark(db) == 0
    before = await _contents(memories, "INDEXED")
    await _index_all(db)
    assert await _watermark(db) > 0
    await memories.insert_memories([new_memory("tail INDEXED")], dedup_since_us=None)
    after = await _contents(memories, "indexed")
    assert before == {"Indexed Later", "indexed too"}
    assert after == {"Indexed Later", "indexed too", "tail INDEXED"}


async def test_forgetting_indexed_and_unindexed_memories_keeps_the_index_consistent(
    store: tuple[Database, SqliteMemoryStore],
) -> None:
    db, memories = store
    first, second = await memories.insert_memories(
        [new_memory("gone after index"), new_memory("keep after index")], dedup_since_us=None
    )
    await _index_all(db)
    (tail,) = await memories.insert_memories([new_memory("gone before index")], dedup_since_us=None)
    assert await memories.delete_memory(A.org_id, first.memory_id)  # type: ignore[union-attr]
    assert await memories.delete_memory(A.org_id, tail.memory_id)  # type: ignore[union-attr]
    await _index_all(db)
    assert await _contents(memories, "after index") == {"keep after index"}
    assert await _contents(memories, "gone") == set()
    # FTS5 raises "database disk image is malformed" here if a delete lost step.
    await db.write(
        lambda c: c.execute("INSERT INTO memories_fts(memories_fts) VALUES ('integrity-check')")
    )


async def test_substring_pages_are_exact_for_common_rare_and_absent_needles(
    store: tuple[Database, SqliteMemoryStore],
) -> None:
    """A common needle is answered by walking rows in order, a rare one from the
    index: either way every page is the brute-force answer, indexed or not."""
    db, memories = store
    records = [
        new_memory(
            ("long " * 900 if i % 10 == 0 else "")
            + ("a COMMON word " if i % 3 == 0 else "plain ")
            + ("with RareWord " if i % 61 == 0 else "")
            + f"#{i}",
            tags=("even",) if i % 2 == 0 else ("odd",),
            agent_id="agent_1" if i % 5 else "agent_2",
        )
        for i in range(600)
    ]
    await memories.insert_memories(records[:400], dedup_since_us=None)
    await _index_all(db)  # the rest stays in the unindexed tail
    await memories.insert_memories(records[400:], dedup_since_us=None)

    cases = [
        {"content_contains": "common"},
        {"content_contains": "common", "offset": 37, "limit": 20},
        {"content_contains": "common", "order": "asc", "limit": 5},
        {"content_contains": "common", "tags": ("even",)},
        {"content_contains": "common", "agent_id": "agent_2", "limit": 50},
        {"content_contains": "rareword"},
        {"content_contains": "RAREWORD", "order": "asc", "offset": 2, "limit": 3},
        {"content_contains": "rareword", "tags": ("odd",)},
        {"content_contains": "absent needle"},
        {"content_contains": "#5"},
    ]
    for case in cases:
        query = MemoryQuery(org_id=A.org_id, **{"limit": 10, **case})  # type: ignore[arg-type]
        needle = str(case["content_contains"]).lower()
        expected = sorted(
            (
                r
                for r in records
                if needle in r.content.lower()
                and (not query.tags or set(query.tags) <= set(r.tags))
                and (query.agent_id is None or r.agent_id == query.agent_id)
            ),
            key=lambda r: r.memory_id,
            reverse=query.order == "desc",
        )[query.offset : query.offset + query.limit]
        got = await memories.query_memories(query)
        assert [m.memory_id for m in got] == [r.memory_id for r in expected], case
