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
