"""Memories in SQLite.

Memory ids are UUIDv7 carrying their own microsecond timestamp, so ordering by id
*is* ordering by (time, id): every index ends in ``memory_id`` and serves "newest N
matching X" by walking the index backwards and stopping after N rows. Exact tag
matching uses ``memory_tags`` (one row per tag), which drives the scan.

Case-insensitive substring search uses an FTS5 trigram index over the content as
Python's ``str.lower`` folds it (a contentless, case-sensitive index), so indexed
rows, the unindexed tail and short needles all fold case by the same rule; SQLite's
own folding tables are older than Python's. Indexing a memory
costs more than storing it, so it is not done on the write path: the writer thread
indexes in small chunks whenever no write is waiting (``index_pending``), and
``fts_state.watermark`` says how far it got. A search reads the index up to the
watermark and scans the short unindexed tail, so a memory is searchable the moment
it is acknowledged. Needles shorter than a trigram are scanned.

All values are bound parameters; the SQL text is built from fixed fragments only.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from typing import Any

from ...ids import memory_id_floor
from ...models import Memory, MemoryQuery, MemoryStats
from ...timeexpr import from_us
from ..base import Duplicate, NewMemory, StoreStatus
from .db import Database

_COLS = (
    "m.memory_id, m.org_id, m.time_us, m.agent_id, m.session_id, m.memory_type, m.event_type,"
    " m.content, m.metadata, m.tags, m.importance, m.dedup_key, m.parent_id"
)
_TRIGRAM = 3
# A needle with fewer index hits than this is answered from its hits (then sorted);
# a more common one by walking the time-ordered index until the page is full.
_FEW_HITS = 5_000
# A chunk holds the writer: small enough that a write arriving meanwhile waits a
# few milliseconds at most, large enough (at one chunk per 25 ms under constant
# writes, see db.py) to index faster than memories arrive.
_INDEX_CHUNK_ROWS = 128
_INDEX_CHUNK_BYTES = 128 * 1024

_HITS = (
    "SELECT rowid FROM memories_fts WHERE memories_fts MATCH ?"
    " UNION ALL SELECT rid FROM memories WHERE rid > (SELECT watermark FROM fts_state)"
    " AND instr(mt_lower(content), ?) > 0"
)


def _memory(row: tuple[Any, ...]) -> Memory:
    return Memory.model_construct(
        memory_id=row[0],
        org_id=row[1],
        time=from_us(row[2]),
        agent_id=row[3],
        session_id=row[4],
        memory_type=row[5],
        event_type=row[6],
        content=row[7],
        metadata=json.loads(row[8]),
        tags=json.loads(row[9]),
        importance=row[10],
        dedup_key=row[11],
        parent_id=row[12],
    )


def _from_record(rec: NewMemory) -> Memory:
    return Memory.model_construct(
        memory_id=rec.memory_id,
        org_id=rec.org_id,
        time=from_us(rec.time_us),
        agent_id=rec.agent_id,
        session_id=rec.session_id,
        memory_type=rec.memory_type,
        event_type=rec.event_type,
        content=rec.content,
        metadata=json.loads(rec.metadata_json),
        tags=list(rec.tags),
        importance=rec.importance,
        dedup_key=rec.dedup_key,
        parent_id=rec.parent_id,
    )


def fts_phrase(needle: str) -> str:
    """An FTS5 phrase matching ``needle`` case-insensitively and literally (the index
    holds lowered text; quotes are doubled, nothing else is special)."""
    return '"' + needle.lower().replace('"', '""') + '"'


def index_pending(conn: sqlite3.Connection) -> bool:
    """Add the next chunk of unindexed memories to the trigram index; True if more wait."""
    (watermark,) = conn.execute("SELECT watermark FROM fts_state").fetchone()
    rows = conn.execute(
        "SELECT rid, content FROM memories WHERE rid > ? ORDER BY rid LIMIT ?",
        (watermark, _INDEX_CHUNK_ROWS),
    ).fetchall()
    if not rows:
        return False
    chunk, size = [], 0
    for row in rows:
        chunk.append(row)
        size += len(row[1])
        if size >= _INDEX_CHUNK_BYTES:
            break
    conn.executemany(
        "INSERT INTO memories_fts(rowid, folded) VALUES (?, ?)",
        [(rid, content.lower()) for rid, content in chunk],
    )
    conn.execute("UPDATE fts_state SET watermark = ?", (chunk[-1][0],))
    return len(chunk) < len(rows) or len(rows) == _INDEX_CHUNK_ROWS


def build_filter(q: MemoryQuery, *, hits_first: bool = False) -> tuple[str, str, list[Any]]:
    """(FROM clause, WHERE clause, params) for a query. The first tag drives the scan
    (CROSS JOIN fixes the loop order: without statistics SQLite may otherwise walk
    the whole org and probe the tags); with ``hits_first`` the substring matches do."""
    params: list[Any] = []
    if hits_first:
        assert q.content_contains is not None
        source = f"({_HITS}) h CROSS JOIN memories m ON m.rid = h.rowid"
        params += [fts_phrase(q.content_contains), q.content_contains.lower()]
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
    if q.content_contains is not None and not hits_first:
        if len(q.content_contains) >= _TRIGRAM:
            where.append(f"m.rid IN ({_HITS})")
            params += [fts_phrase(q.content_contains), q.content_contains.lower()]
        else:
            where.append("instr(mt_lower(m.content), ?) > 0")
            params.append(q.content_contains.lower())
    return source, " AND ".join(where), params


class SqliteMemoryStore:
    def __init__(self, db: Database, *, background_index: bool = True) -> None:
        self._db = db
        if background_index:  # tests that drive index_pending themselves turn it off
            db.add_idle_task(index_pending)

    async def insert_memories(
        self, records: Sequence[NewMemory], *, dedup_since_us: int | None
    ) -> list[Memory | Duplicate]:
        def job(conn: sqlite3.Connection) -> list[NewMemory | Duplicate]:
            outcomes: list[NewMemory | Duplicate] = []
            # (org, key) → the memory holding it: stored ones first, then this batch's.
            held: dict[tuple[str, str], str] = (
                {} if dedup_since_us is None else _held_keys(conn, records, dedup_since_us)
            )
            rows: list[tuple[Any, ...]] = []
            tag_rows: list[tuple[str, str, str]] = []
            for rec in records:
                if dedup_since_us is not None:
                    holder = held.get((rec.org_id, rec.dedup_key))
                    if holder is not None:
                        outcomes.append(Duplicate(memory_id=holder, dedup_key=rec.dedup_key))
                        continue
                    held[(rec.org_id, rec.dedup_key)] = rec.memory_id
                rows.append(
                    (
                        rec.memory_id,
                        rec.org_id,
                        rec.time_us,
                        rec.agent_id,
                        rec.session_id,
                        rec.memory_type,
                        rec.event_type,
                        rec.content,
                        rec.metadata_json,
                        json.dumps(list(rec.tags)) if rec.tags else "[]",
                        rec.importance,
                        rec.dedup_key,
                        rec.parent_id,
                    )
                )
                tag_rows += [(rec.org_id, tag, rec.memory_id) for tag in dict.fromkeys(rec.tags)]
                outcomes.append(rec)
            conn.executemany(
                "INSERT INTO memories(memory_id, org_id, time_us, agent_id, session_id,"
                " memory_type, event_type, content, metadata, tags, importance, dedup_key,"
                " parent_id) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
                rows,
            )
            if tag_rows:
                conn.executemany(
                    "INSERT OR IGNORE INTO memory_tags(org_id, tag, memory_id) VALUES (?,?,?)",
                    tag_rows,
                )
            return outcomes

        # The stored memories are built here, on the caller's thread, not in the
        # job: the writer thread holds the write lock and, more often than not on a
        # two-core machine, the GIL the event loop is waiting for.
        outcomes = await self._db.write(job)
        return [o if isinstance(o, Duplicate) else _from_record(o) for o in outcomes]

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

        def read(conn: sqlite3.Connection) -> list[Memory]:
            hits_first = _few_hits(conn, query)
            source, where, params = build_filter(query, hits_first=hits_first)
            order_col = "t.memory_id" if query.tags and not hits_first else "m.memory_id"
            sql = (
                f"SELECT {_COLS} FROM {source} WHERE {where}"
                f" ORDER BY {order_col} {direction} LIMIT ? OFFSET ?"
            )
            rows = conn.execute(sql, [*params, query.limit, query.offset]).fetchall()
            return [_memory(r) for r in rows]

        return await self._db.read(read)

    async def count_memories(self, query: MemoryQuery) -> int:
        def read(conn: sqlite3.Connection) -> int:
            source, where, params = build_filter(query, hits_first=_few_hits(conn, query))
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


# Bound parameters per dedup lookup, well under SQLite's limit (32766 since 3.32).
_KEYS_PER_LOOKUP = 500


def _held_keys(
    conn: sqlite3.Connection, records: Sequence[NewMemory], since_us: int
) -> dict[tuple[str, str], str]:
    """The newest memory at or after ``since_us`` holding each of the records' dedup
    keys: one indexed IN query per few hundred keys, not one query per record."""
    wanted: dict[str, dict[str, None]] = {}
    for rec in records:
        wanted.setdefault(rec.org_id, {})[rec.dedup_key] = None
    held: dict[tuple[str, str], str] = {}
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
            for key, (_, memory_id) in newest.items():
                held[(org_id, key)] = memory_id
    return held


def _few_hits(conn: sqlite3.Connection, query: MemoryQuery) -> bool:
    """Whether the substring needle is rare enough to drive the query from its hits."""
    needle = query.content_contains
    if needle is None or len(needle) < _TRIGRAM:
        return False
    (hits,) = conn.execute(
        f"SELECT count(*) FROM (SELECT 1 FROM memories_fts WHERE memories_fts MATCH ? LIMIT {_FEW_HITS})",
        (fts_phrase(needle),),
    ).fetchone()
    return int(hits) < _FEW_HITS
