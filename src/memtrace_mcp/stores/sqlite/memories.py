"""Memories in SQLite.

Memory ids are UUIDv7 carrying their own microsecond timestamp, so ordering by id
*is* ordering by (time, id): every index ends in ``memory_id`` and serves "newest N
matching X" by walking the index backwards and stopping after N rows. Exact tag
matching uses ``memory_tags`` (one row per tag), which drives the scan.

Case-insensitive substring search (``content_contains``) is planned in search.py,
over a trigram index the writer thread fills off the write path. A query first walks
a few rows per wanted row in order (``_walk_for_needle``): a common needle fills its
page there, sooner than any index could list its hits.

All values are bound parameters; the SQL text is built from fixed fragments only.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from typing import Any

from ...ids import memory_id_floor
from ...models import Memory, MemoryQuery, MemoryStats, known_memory
from ...timeexpr import from_us
from ..base import Duplicate, NewMemory, StoreStatus
from .db import Database, insert_rows
from .search import (
    CANDIDATES,
    CONTAINS,
    drive_by_hits,
    fold,
    fts_terms,
    index_pending,
    indexable,
)

_COLS = (
    "m.memory_id, m.org_id, m.time_us, m.agent_id, m.session_id, m.memory_type, m.event_type,"
    " m.content, m.metadata, m.tags, m.importance, m.dedup_key, m.parent_id"
)
# A substring query first walks up to this many rows per wanted row (plus a spare),
# in order, testing contents: cheaper than the index for needles at least about this
# common among the rows the other filters leave (see ``_walk_for_needle``).
_WALK_ROWS_PER_HIT = 6
_WALK_ROWS_SPARE = 32
# A walk of at most this many rows runs inline on the event loop (see query_memories).
_INLINE_WALK_ROWS = 128


# Bound parameters per statement stay well under SQLite's limit (32766).
_MAX_BATCH = 4_096


def _json(text: str) -> Any:
    # Most rows carry no metadata or no tags: skip the parser for those.
    if text == "{}":
        return {}
    if text == "[]":
        return []
    return json.loads(text)


def _memory(row: tuple[Any, ...]) -> Memory:
    """A ``_COLS`` row as a Memory."""
    return known_memory(
        row[0], from_us(row[2]), row[1], row[3], row[4], row[5], row[6], row[7],
        _json(row[8]), _json(row[9]), row[10], row[11], row[12],
    )  # fmt: skip


def build_filter(
    q: MemoryQuery, *, hits_first: bool = False, check_content: bool = True
) -> tuple[str, str, list[Any]]:
    """(FROM clause, WHERE clause, params) for a query. The first tag drives the scan
    (CROSS JOIN fixes the loop order: without statistics SQLite may otherwise walk
    the whole org and probe the tags); with ``hits_first`` the substring index's
    candidates do (see search.py), and ``check_content=False`` leaves checking them
    against the content to the caller."""
    params: list[Any] = []
    if hits_first:
        assert q.content_contains is not None
        source = f"({CANDIDATES}) h CROSS JOIN memories m ON m.rid = h.rid"
        params.append(fts_terms(q.content_contains))
        where = ["m.org_id = ?"]
        params.append(q.org_id)
        order_col = "m.memory_id"
    elif q.tags:
        source = "memory_tags t CROSS JOIN memories m ON m.memory_id = t.memory_id"
        where = ["t.org_id = ?", "t.tag = ?", "m.org_id = ?"]
        params += [q.org_id, q.tags[0], q.org_id]
        order_col = "t.memory_id"
    else:
        source = "memories m"
        where = ["m.org_id = ?"]
        params.append(q.org_id)
        order_col = "m.memory_id"
    for tag in q.tags if hits_first else q.tags[1:]:
        where.append(
            "EXISTS (SELECT 1 FROM memory_tags x"
            " WHERE x.org_id = m.org_id AND x.tag = ? AND x.memory_id = m.memory_id)"
        )
        params.append(tag)
    if q.agent_id is not None:
        where.append("m.agent_id = ?")
        params.append(q.agent_id)
    if q.session_id is not None:
        where.append("m.session_id = ?")
        params.append(q.session_id)
    if q.memory_types:
        where.append(f"m.memory_type IN ({','.join('?' * len(q.memory_types))})")
        params += q.memory_types
    if q.event_types:
        where.append(f"m.event_type IN ({','.join('?' * len(q.event_types))})")
        params += q.event_types
    if q.min_importance is not None:
        where.append("m.importance >= ?")
        params.append(q.min_importance)
    if q.since_us is not None:
        where.append(f"{order_col} >= ?")
        params.append(memory_id_floor(q.since_us))
    if q.until_us is not None:
        where.append(f"{order_col} < ?")
        params.append(memory_id_floor(q.until_us))
    if q.content_contains is not None and check_content:
        where.append(CONTAINS)
        params.append(fold(q.content_contains))
    return source, " AND ".join(where), params


def _page_from_candidates(
    conn: sqlite3.Connection, query: MemoryQuery, direction: str
) -> list[tuple[Any, ...]]:
    """A page for a rare needle: its candidates that pass the other filters, ordered
    by id (a narrow sort that reads no content), then checked against the content
    in growing batches until the page is full. Checking first would read every
    candidate's content, and a rare needle's rows are often the long ones."""
    assert query.content_contains is not None
    source, where, params = build_filter(query, hits_first=True, check_content=False)
    rids = [
        rid
        for (rid,) in conn.execute(
            f"SELECT m.rid FROM {source} WHERE {where} ORDER BY m.memory_id {direction}", params
        )
    ]
    needle = fold(query.content_contains)
    wanted = query.offset + query.limit
    found: list[tuple[Any, ...]] = []
    start, size = 0, min(max(64, wanted), _MAX_BATCH)
    while start < len(rids) and len(found) < wanted:
        batch = rids[start : start + size]
        found += conn.execute(
            f"SELECT {_COLS} FROM memories m WHERE m.rid IN ({','.join('?' * len(batch))})"
            f" AND {CONTAINS} ORDER BY m.memory_id {direction}",
            [*batch, needle],
        ).fetchall()
        start += len(batch)
        size = min(size * 2, _MAX_BATCH)
    return found[query.offset : wanted]


class SqliteMemoryStore:
    def __init__(self, db: Database, *, background_index: bool = True) -> None:
        self._db = db
        if background_index:  # tests that drive index_pending themselves turn it off
            db.add_idle_task(index_pending)

    async def insert_memories(
        self, records: Sequence[NewMemory], *, dedup_since_us: int | None
    ) -> list[Memory | Duplicate]:
        outcomes = await self._db.write_merged(_insert_calls, (records, dedup_since_us))
        # The stored memories are built here, on the caller's thread, not in the
        # job: the writer thread holds the write lock and, more often than not on a
        # two-core machine, the GIL the event loop is waiting for.
        return [o if isinstance(o, Duplicate) else o.as_memory() for o in outcomes]

    async def get_memory(self, org_id: str, memory_id: str) -> Memory | None:
        row = self._db.read_now(
            lambda c: c.execute(
                f"SELECT {_COLS} FROM memories m WHERE m.memory_id = ? AND m.org_id = ?",
                (memory_id, org_id),
            ).fetchone()
        )
        return _memory(row) if row else None

    async def find_memory_ids(self, org_id: str, short_id: str) -> list[str]:
        rows = self._db.read_now(
            lambda c: c.execute(
                "SELECT memory_id FROM memories WHERE org_id = ? AND substr(memory_id, 25) = ?"
                " LIMIT 2",
                (org_id, short_id),
            ).fetchall()
        )
        return [r[0] for r in rows]

    async def query_memories(self, query: MemoryQuery) -> list[Memory]:
        direction = "DESC" if query.order == "desc" else "ASC"

        walk = query.content_contains is not None
        if walk and _walk_budget(query) <= _INLINE_WALK_ROWS:
            # A short walk (a page of a few hits, as MCP search asks) runs on the
            # event loop's own connection: it reads fewer rows than a thread hop
            # costs. A single statement, so it sees one snapshot, as a read does.
            walked = self._db.read_now(lambda c: _walk_for_needle(c, query, direction))
            if walked is not None:
                return [_memory(r) for r in walked]
            walk = False  # the needle is rare: the index answers, in a worker thread

        def read(conn: sqlite3.Connection) -> list[Memory]:
            return [_memory(r) for r in _query_rows(conn, query, walk=walk)]

        return await self._db.read(read)

    async def query_many(self, queries: Sequence[MemoryQuery]) -> list[list[Memory]]:
        def read(conn: sqlite3.Connection) -> list[list[Memory]]:
            built: dict[str, Memory] = {}  # a memory several queries find is built once
            return [
                [built.get(r[0]) or built.setdefault(r[0], _memory(r)) for r in rows]
                for rows in (
                    _query_rows(conn, q, walk=q.content_contains is not None) for q in queries
                )
            ]

        return await self._db.read(read)

    async def count_memories(self, query: MemoryQuery) -> int:
        def read(conn: sqlite3.Connection) -> int:
            # Counting needs every match: the index's candidates always drive it,
            # with no probe of how many there are first.
            hits_first = indexable(query.content_contains)
            source, where, params = build_filter(query, hits_first=hits_first)
            return int(conn.execute(f"SELECT count(*) FROM {source} WHERE {where}", params).fetchone()[0])

        return await self._db.read(read)

    async def delete_memory(self, org_id: str, memory_id: str) -> bool:
        def job(conn: sqlite3.Connection) -> bool:
            cur = conn.execute(
                "DELETE FROM memories WHERE memory_id = ? AND org_id = ?", (memory_id, org_id)
            )
            return cur.rowcount > 0

        return await self._db.write(job)

    async def delete_agent_memories(self, org_id: str, agent_id: str) -> int:
        def job(conn: sqlite3.Connection) -> int:
            cur = conn.execute(
                "DELETE FROM memories WHERE org_id = ? AND agent_id = ?", (org_id, agent_id)
            )
            return cur.rowcount

        return await self._db.write(job)

    async def memory_stats(self, org_id: str, agent_id: str, since_us: int) -> MemoryStats:
        floor = memory_id_floor(since_us)

        def read(conn: sqlite3.Connection) -> MemoryStats:
            total, recent, errors, last = conn.execute(
                "SELECT count(*), count(*) FILTER (WHERE memory_id >= ?),"
                " count(*) FILTER (WHERE memory_id >= ? AND event_type = 'error'),"
                " max(time_us) FROM memories WHERE org_id = ? AND agent_id = ?",
                (floor, floor, org_id, agent_id),
            ).fetchone()
            types = conn.execute(
                "SELECT memory_type, count(*) FROM memories WHERE org_id = ? AND agent_id = ?"
                " GROUP BY memory_type ORDER BY memory_type",
                (org_id, agent_id),
            ).fetchall()
            return MemoryStats(
                memory_count=total,
                memories_24h=recent,
                errors_24h=errors,
                memory_types={t: n for t, n in types},
                last_time=from_us(last) if last is not None else None,
            )

        return await self._db.read(read)

    async def status(self) -> StoreStatus:
        await self._db.read(lambda c: c.execute("SELECT 1").fetchone())
        return StoreStatus(store="embedded", ready=True)


def _query_rows(
    conn: sqlite3.Connection, query: MemoryQuery, *, walk: bool
) -> list[tuple[Any, ...]]:
    """The ``_COLS`` rows answering ``query``: a short walk for a needle first (unless
    ``walk`` is False: it was tried already), then the needle's plan or the filters."""
    direction = "DESC" if query.order == "desc" else "ASC"
    if walk:
        walked = _walk_for_needle(conn, query, direction)
        if walked is not None:
            return walked
    if drive_by_hits(conn, query.content_contains, query.limit + query.offset):
        return _page_from_candidates(conn, query, direction)
    sql, params = _ordered(query, direction)
    return conn.execute(f"{sql} LIMIT ? OFFSET ?", [*params, query.limit, query.offset]).fetchall()


def _ordered(query: MemoryQuery, direction: str) -> tuple[str, list[Any]]:
    """``SELECT _COLS`` of the rows ``query`` filters, in order, without a limit."""
    source, where, params = build_filter(query)
    order_col = "t.memory_id" if query.tags else "m.memory_id"
    return f"SELECT {_COLS} FROM {source} WHERE {where} ORDER BY {order_col} {direction}", params


def _walk_for_needle(
    conn: sqlite3.Connection, query: MemoryQuery, direction: str
) -> list[tuple[Any, ...]] | None:
    """The page for a substring query, read by walking the other filters' rows in
    order and testing each content, or None if the needle looks too rare for that.

    A common needle (say one memory in four) fills a page within a few dozen rows,
    where evaluating it in the trigram index costs a pass over long doclists that
    grows with the store. So the walk goes first, up to ``_WALK_ROWS_PER_HIT`` rows
    per wanted row; a needle that has not filled the page by then is answered from
    the index. The test is the index's own rule: ``str.lower`` on both sides.
    """
    assert query.content_contains is not None
    needle = fold(query.content_contains)
    wanted = query.offset + query.limit
    budget = _walk_budget(query)
    sql, params = _ordered(query.model_copy(update={"content_contains": None}), direction)
    cursor = conn.execute(f"{sql} LIMIT ?", [*params, budget])
    try:
        found: list[tuple[Any, ...]] = []
        walked = 0
        for row in cursor:
            walked += 1
            if needle in fold(row[7]):
                found.append(row)
                if len(found) == wanted:
                    return found[query.offset :]
    finally:
        cursor.close()
    # Fewer rows than the budget: the walk saw every candidate, so it is complete.
    return found[query.offset :] if walked < budget else None


def _walk_budget(query: MemoryQuery) -> int:
    """Most rows ``_walk_for_needle`` reads before leaving the needle to the index."""
    return _WALK_ROWS_PER_HIT * (query.offset + query.limit) + _WALK_ROWS_SPARE


# Bound parameters per dedup lookup, well under SQLite's limit (32766 since 3.32).
_KEYS_PER_LOOKUP = 500
_INSERT_MEMORY = (
    "INSERT INTO memories(memory_id, org_id, time_us, agent_id, session_id, memory_type,"
    " event_type, content, metadata, tags, importance, dedup_key, parent_id) VALUES "
)
_INSERT_TAG = "INSERT OR IGNORE INTO memory_tags(org_id, tag, memory_id) VALUES "
Insert = tuple[Sequence[NewMemory], int | None]  # (records, dedup window start)


def _insert_calls(
    conn: sqlite3.Connection, calls: list[Insert]
) -> list[list[NewMemory | Duplicate]]:
    """Store the records of every call, in order, skipping each whose dedup key is
    held at or after its call's window start, by a stored memory or by a record
    stored before it here (so concurrent identical requests store exactly one)."""
    everything = [rec for records, _ in calls for rec in records]
    starts = [since for _, since in calls if since is not None]
    held = _held_keys(conn, everything, min(starts)) if starts else {}
    rows: list[tuple[Any, ...]] = []
    tag_rows: list[tuple[str, str, str]] = []
    results: list[list[NewMemory | Duplicate]] = []
    for records, since in calls:
        outcomes: list[NewMemory | Duplicate] = []
        for rec in records:
            holder = held.get((rec.org_id, rec.dedup_key))
            if since is not None and holder is not None and holder[0] >= since:
                outcomes.append(Duplicate(memory_id=holder[1], dedup_key=rec.dedup_key))
                continue
            held[(rec.org_id, rec.dedup_key)] = (rec.time_us, rec.memory_id)
            rows.append(
                (
                    rec.memory_id, rec.org_id, rec.time_us, rec.agent_id, rec.session_id,
                    rec.memory_type, rec.event_type, rec.content, rec.metadata_json,
                    json.dumps(list(rec.tags)) if rec.tags else "[]", rec.importance,
                    rec.dedup_key, rec.parent_id,
                )
            )  # fmt: skip
            tag_rows += [(rec.org_id, tag, rec.memory_id) for tag in dict.fromkeys(rec.tags)]
            outcomes.append(rec)
        results.append(outcomes)
    insert_rows(conn, _INSERT_MEMORY, 13, rows)
    insert_rows(conn, _INSERT_TAG, 3, tag_rows)
    return results


def _held_keys(
    conn: sqlite3.Connection, records: Sequence[NewMemory], since_us: int
) -> dict[tuple[str, str], tuple[int, str]]:
    """(time, id) of the newest memory at or after ``since_us`` holding each of the
    records' dedup keys: one indexed IN query per few hundred keys, not one query
    per record."""
    wanted: dict[str, dict[str, None]] = {}
    for rec in records:
        wanted.setdefault(rec.org_id, {})[rec.dedup_key] = None
    held: dict[tuple[str, str], tuple[int, str]] = {}
    for org_id, keys in wanted.items():
        key_list = list(keys)
        for start in range(0, len(key_list), _KEYS_PER_LOOKUP):
            chunk = key_list[start : start + _KEYS_PER_LOOKUP]
            newest: dict[str, tuple[int, str]] = {}
            for key, memory_id, time_us in conn.execute(
                "SELECT dedup_key, memory_id, time_us FROM memories WHERE org_id = ?"
                f" AND dedup_key IN ({','.join('?' * len(chunk))}) AND time_us >= ?",
                (org_id, *chunk, since_us),
            ):
                if key not in newest or time_us > newest[key][0]:
                    newest[key] = (time_us, memory_id)
            for key, found in newest.items():
                held[(org_id, key)] = found
    return held
