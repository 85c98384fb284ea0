"""The embedded store's substring index is filled off the write path; a search must
give the same answer whether a memory is indexed yet or not, and forgetting must
keep the index consistent either way."""

from __future__ import annotations

from collections.abc import AsyncIterator
import asyncio
import sqlite3
import time
from pathlib import Path

import pytest

from memtrace_mcp.models import MemoryQuery
from memtrace_mcp.stores.sqlite.db import Database
from memtrace_mcp.stores.sqlite.memories import SqliteMemoryStore
from memtrace_mcp.stores.sqlite.search import index_pending

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


def _expected(contents: list[str], needle: str) -> list[str]:
    return [c for c in contents if needle.lower() in c.lower()]


async def test_common_and_rare_needles_page_exactly_like_a_plain_scan(
    store: tuple[Database, SqliteMemoryStore],
) -> None:
    # 1,500 of 3,000 rows hold "Timeout" in mixed case (a common needle, walked
    # newest first, except for a deep offset); 3 hold "quokka-fjord" (rare, driven by
    # the index). The last 500 rows are in the unindexed tail.
    db, memories = store
    contents = [
        (f"step {i}: TimeOut talking to db-Ω{i % 7}" if i % 2 else f"step {i}: all fine ünïcode")
        + (" saw QUOKKA-fjord" if i in (5, 1700, 2999) else "")
        for i in range(3_000)
    ]
    records = [new_memory(c) for c in contents]
    await memories.insert_memories(records[:2_500], dedup_since_us=None)
    await _index_all(db)
    await memories.insert_memories(records[2_500:], dedup_since_us=None)
    for needle in ("timeout", "QUOKKA-FJORD", "db-ω3", "fine ü", "nowhere at all"):
        matches = _expected(contents, needle)
        for order, offset in (("desc", 0), ("desc", 40), ("asc", 0), ("asc", 1_490)):
            query = MemoryQuery(
                org_id=A.org_id, content_contains=needle, limit=60, offset=offset, order=order
            )
            got = [m.content for m in await memories.query_memories(query)]
            ordered = matches[::-1] if order == "desc" else matches
            assert got == ordered[offset : offset + 60], (needle, order, offset)
        count = await memories.count_memories(MemoryQuery(org_id=A.org_id, content_contains=needle))
        assert count == len(matches), needle


async def test_an_older_data_dir_gets_the_new_index_and_still_finds_everything(
    tmp_path: Path,
) -> None:
    # Version 3 data dirs hold a positional index; opening one rebuilds it in the
    # background, and searches are exact all along.
    path = tmp_path / "memtrace.db"
    db = Database(path)
    memories = SqliteMemoryStore(db, background_index=False)
    await db.open()
    await memories.insert_memories(
        [new_memory("Legacy timeout one"), new_memory("legacy two")], dedup_since_us=None
    )
    await _index_all(db)
    await db.close()
    with sqlite3.connect(path) as conn:  # what a version 3 data dir looks like
        conn.executescript(
            "DROP TABLE memories_fts;"
            "CREATE VIRTUAL TABLE memories_fts USING fts5("
            " folded, content='', tokenize='trigram case_sensitive 1');"
            "INSERT INTO memories_fts(rowid, folded) SELECT rid, lower(content) FROM memories;"
            "PRAGMA user_version = 3;"
        )
    db = Database(path)
    memories = SqliteMemoryStore(db, background_index=False)
    await db.open()
    try:
        assert await _watermark(db) == 0
        assert await _contents(memories, "LEGACY") == {"Legacy timeout one", "legacy two"}
        await _index_all(db)
        assert await _contents(memories, "timeout") == {"Legacy timeout one"}
        await db.write(
            lambda c: c.execute("INSERT INTO memories_fts(memories_fts) VALUES ('integrity-check')")
        )
    finally:
        await db.close()


async def test_indexing_keeps_pace_while_writes_queue_up_without_a_pause(tmp_path: Path) -> None:
    # 1,500 writes queued at once, each holding the writer a millisecond as a slow
    # disk would, keep it busy for a second and a half with no idle moment; the index
    # must still advance between them, or a search under steady load would scan an
    # ever longer unindexed tail.
    db = Database(tmp_path / "memtrace.db")
    SqliteMemoryStore(db)  # registers the background indexer
    await db.open()
    try:

        def write_and_look(conn: sqlite3.Connection) -> int:
            rec = new_memory("burst")
            conn.execute(
                "INSERT INTO memories(memory_id, org_id, time_us, agent_id, memory_type,"
                " event_type, content, metadata, tags, importance, dedup_key)"
                " VALUES (?, ?, ?, 'a', 'episodic', 'general', ?, '{}', '[]', 0, ?)",
                (rec.memory_id, rec.org_id, rec.time_us, rec.content, rec.dedup_key),
            )
            time.sleep(0.001)
            return int(conn.execute("SELECT watermark FROM fts_state").fetchone()[0])

        marks = await asyncio.gather(*(db.write(write_and_look) for _ in range(1_500)))
        assert max(marks[:-512]) > 0  # indexed while at least a full group still waited
    finally:
        await db.close()


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
