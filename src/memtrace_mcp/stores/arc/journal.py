"""The Arc store's local half, in the same SQLite file as the metadata.

Tables (migration "arc journal"):

- ``arc_journal``: every acknowledged memory until Arc serves it *and* Arc's path
  caches can no longer hide it. ``seq`` is the commit order (one writer, so a row
  with a lower seq can never commit later). Hence the invariant every read relies on:
  **every memory with ``seq < W`` (W = the lowest seq still in the journal) is served
  by Arc, from an hour directory old enough for Arc's caches, unless it was
  forgotten**. Reads take Arc's rows with ``seq < W`` and the journal's rows: two
  disjoint halves, whatever is in flight.
- ``arc_dedup``: dedup keys (check and insert in the write transaction that journals
  the memory, so concurrent identical writes store exactly one).
- ``arc_tombstones`` / ``arc_purges``: forgotten memories and purged agents, hidden
  from every read at once and kept until Arc's delete is verified and a grace period
  has passed (a write retried late could land after the delete).
- ``arc_spans``: first and last time of each agent's and session's memories, so an
  Arc query can be bounded to the hours that hold them.
- ``arc_hours`` / ``arc_state``: shipper bookkeeping (see ``ledger.py``).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from ...ids import memory_id_floor
from ...models import Memory, MemoryQuery
from ..base import Duplicate, NewMemory
from ..sqlite.db import Database, insert_rows
from .rows import JOURNAL_COLUMNS, Row, from_journal, hour_of

Span = tuple[int, int]  # (first_us, last_us)
# arc_state keys: the newest and oldest time (µs) of any row Arc may serve with
# seq < W, i.e. of every row retired (or found in Arc at adoption); ARC_HI is -1 (and
# ARC_LO absent) while there is none. Absent in a store older than the keys: then
# nothing is known and reads are not bounded by them.
ARC_HI = "arc_hi_us"
ARC_LO = "arc_lo_us"


@dataclass(frozen=True, slots=True)
class View:
    """What the local half says about one org, read in one transaction."""

    org_id: str
    watermark: int
    rows: list[Row] = field(default_factory=list)
    count: int = 0
    tombstones: frozenset[str] = frozenset()
    # Tombstones whose delete in Arc is not verified yet (a subset of ``tombstones``).
    pending: frozenset[str] = frozenset()
    purges: tuple[tuple[str, int], ...] = ()
    # (first_us, last_us) bound of the Arc rows the query can match; None: unbounded.
    span: Span | None = None
    # True when the spans prove Arc holds no row the query can match.
    arc_empty: bool = False
    # The newest time of Arc's half (``ARC_HI``), -1 if it is empty; None: unknown.
    arc_hi: int | None = None
    # The oldest time of Arc's half (``ARC_LO``); None: unknown or empty.
    arc_lo: int | None = None


def watermark(conn: sqlite3.Connection) -> int:
    """W: the lowest seq still journaled, or the next seq to be given."""
    low = conn.execute("SELECT min(seq) FROM arc_journal").fetchone()[0]
    if low is not None:
        return int(low)
    row = conn.execute("SELECT seq FROM sqlite_sequence WHERE name = 'arc_journal'").fetchone()
    return int(row[0]) + 1 if row else 1


def journal_filter(q: MemoryQuery) -> tuple[str, list[Any]]:
    """WHERE clause and parameters matching ``q`` over ``arc_journal``."""
    where = ["org_id = ?"]
    params: list[Any] = [q.org_id]
    if q.agent_id is not None:
        where.append("agent_id = ?")
        params.append(q.agent_id)
    if q.session_id is not None:
        where.append("session_id = ?")
        params.append(q.session_id)
    if q.memory_types:
        where.append(f"memory_type IN ({','.join('?' * len(q.memory_types))})")
        params += q.memory_types
    if q.event_types:
        where.append(f"event_type IN ({','.join('?' * len(q.event_types))})")
        params += q.event_types
    for tag in q.tags:
        where.append("EXISTS (SELECT 1 FROM json_each(arc_journal.tags) WHERE value = ?)")
        params.append(tag)
    if q.min_importance is not None:
        where.append("importance >= ?")
        params.append(q.min_importance)
    if q.since_us is not None:
        where.append("memory_id >= ?")
        params.append(memory_id_floor(q.since_us))
    if q.until_us is not None:
        where.append("memory_id < ?")
        params.append(memory_id_floor(q.until_us))
    if q.content_contains is not None:
        where.append("instr(mt_lower(content), ?) > 0")
        params.append(q.content_contains.lower())
    return " AND ".join(where), params


Hidden = tuple[frozenset[str], frozenset[str], tuple[tuple[str, int], ...]]


def _org_hidden(conn: sqlite3.Connection, org_id: str) -> Hidden:
    """(tombstoned ids, those not verified deleted yet, (agent, max seq) purges)."""
    stones = conn.execute(
        "SELECT memory_id, verified_us FROM arc_tombstones WHERE org_id = ?", (org_id,)
    ).fetchall()
    purges = conn.execute(
        "SELECT agent_id, max(max_seq) FROM arc_purges WHERE org_id = ? GROUP BY agent_id",
        (org_id,),
    ).fetchall()
    return (
        frozenset(r[0] for r in stones),
        frozenset(r[0] for r in stones if r[1] is None),
        tuple((r[0], int(r[1])) for r in purges),
    )


def _arc_bounds(conn: sqlite3.Connection) -> dict[str, int | None]:
    """``View``'s ``arc_hi`` and ``arc_lo`` as keyword arguments."""
    found = dict(
        conn.execute(
            "SELECT key, value FROM arc_state WHERE key IN (?, ?)", (ARC_HI, ARC_LO)
        ).fetchall()
    )
    hi, lo = found.get(ARC_HI), found.get(ARC_LO)
    return {
        "arc_hi": None if hi is None else int(hi),
        "arc_lo": None if lo is None else int(lo),
    }


def _span(conn: sqlite3.Connection, q: MemoryQuery) -> tuple[Span | None, bool]:
    """The time bound the spans give ``q`` on the Arc side, and whether it is empty."""
    adopted = conn.execute("SELECT value FROM arc_state WHERE key = 'adopted'").fetchone()
    if not adopted or (q.agent_id is None and q.session_id is None):
        return None, False
    first, last = 0, 2**62
    for kind, key in (("a", q.agent_id), ("s", q.session_id)):
        if key is None:
            continue
        row = conn.execute(
            "SELECT first_us, last_us FROM arc_spans WHERE org_id = ? AND kind = ? AND key = ?",
            (q.org_id, kind, key),
        ).fetchone()
        if row is None:
            return None, True
        first, last = max(first, row[0]), min(last, row[1])
    return (first, last), first > last


class Journal:
    def __init__(self, db: Database) -> None:
        self._db = db

    # --- writes -------------------------------------------------------------------

    async def insert(
        self, records: Sequence[NewMemory], dedup_since_us: int | None
    ) -> list[Memory | Duplicate]:
        """Journal ``records`` with their dedup check, in one durable transaction."""
        outcomes = await self._db.write_merged(_journal_calls, (records, dedup_since_us))
        # Built here, not in the job: the writer holds the write lock (see the
        # embedded store's insert_memories).
        return [o if isinstance(o, Duplicate) else o.as_memory() for o in outcomes]

    async def forget(
        self, org_id: str, memory_id: str, now_us: int, *, known: bool
    ) -> Literal["forgotten", "gone", "unknown"]:
        """Tombstone one memory and drop it from the journal and dedup keys.

        ``known=False`` tombstones only a memory the journal holds ("unknown" else);
        ``known=True`` tombstones it whatever the journal says."""

        def job(conn: sqlite3.Connection) -> Literal["forgotten", "gone", "unknown"]:
            if conn.execute(
                "SELECT 1 FROM arc_tombstones WHERE org_id = ? AND memory_id = ?",
                (org_id, memory_id),
            ).fetchone():
                return "gone"
            cur = conn.execute(
                "DELETE FROM arc_journal WHERE org_id = ? AND memory_id = ?", (org_id, memory_id)
            )
            if cur.rowcount == 0 and not known:
                return "unknown"
            conn.execute(
                "DELETE FROM arc_dedup WHERE org_id = ? AND memory_id = ?", (org_id, memory_id)
            )
            conn.execute(
                "INSERT INTO arc_tombstones(org_id, memory_id, created_us) VALUES (?,?,?)",
                (org_id, memory_id, now_us),
            )
            return "forgotten"

        return await self._db.write(job)

    async def purge(self, org_id: str, agent_id: str, now_us: int) -> int:
        """Drop an agent's journaled memories and dedup keys, and hide every Arc row of
        the agent committed so far (seq at most the current one) until the forgetter
        has deleted them."""

        def job(conn: sqlite3.Connection) -> int:
            row = conn.execute(
                "SELECT seq FROM sqlite_sequence WHERE name = 'arc_journal'"
            ).fetchone()
            cur = conn.execute(
                "DELETE FROM arc_journal WHERE org_id = ? AND agent_id = ?", (org_id, agent_id)
            )
            conn.execute(
                "DELETE FROM arc_dedup WHERE org_id = ? AND agent_id = ?", (org_id, agent_id)
            )
            if row is not None:
                conn.execute(
                    "INSERT OR IGNORE INTO arc_purges(org_id, agent_id, max_seq, created_us)"
                    " VALUES (?,?,?,?)",
                    (org_id, agent_id, int(row[0]), now_us),
                )
            return int(cur.rowcount)

        return await self._db.write(job)

    # --- reads --------------------------------------------------------------------

    async def view(self, q: MemoryQuery, *, rows: int = 0, count: bool = False) -> View:
        """W, the org's hidden ids, the span bound and, on request, the first ``rows``
        journaled matches in ``q.order`` and their count: one consistent snapshot."""
        where, params = journal_filter(q)
        direction = "DESC" if q.order == "desc" else "ASC"

        def read(conn: sqlite3.Connection) -> View:
            w = watermark(conn)
            stones, pending, purges = _org_hidden(conn, q.org_id)
            span, empty = _span(conn, q)
            found: list[Row] = []
            if rows > 0:
                found = [
                    from_journal(r)
                    for r in conn.execute(
                        f"SELECT {JOURNAL_COLUMNS} FROM arc_journal WHERE {where}"
                        f" ORDER BY memory_id {direction} LIMIT ?",
                        (*params, rows),
                    )
                ]
            n = 0
            if count:
                n = conn.execute(
                    f"SELECT count(*) FROM arc_journal WHERE {where}", params
                ).fetchone()[0]
            return View(
                q.org_id, w, found, int(n), stones, pending, purges, span, empty,
                **_arc_bounds(conn),
            )  # fmt: skip

        return await self._db.read(read)

    async def stats(self, q: MemoryQuery, since_us: int) -> tuple[View, dict[str, int], int, int]:
        """For ``q``'s agent, in one snapshot: the view, and the journaled memories per
        type, of them since ``since_us``, and errors since."""

        def read(conn: sqlite3.Connection) -> tuple[View, dict[str, int], int, int]:
            stones, pending, purges = _org_hidden(conn, q.org_id)
            span, empty = _span(conn, q)
            view = View(
                q.org_id, watermark(conn), [], 0, stones, pending, purges, span, empty,
                **_arc_bounds(conn),
            )  # fmt: skip
            rows = conn.execute(
                "SELECT memory_type, count(*), count(*) FILTER (WHERE time_us >= ?),"
                " count(*) FILTER (WHERE time_us >= ? AND event_type = 'error')"
                " FROM arc_journal WHERE org_id = ? AND agent_id = ? GROUP BY memory_type",
                (since_us, since_us, q.org_id, q.agent_id),
            ).fetchall()
            types = {r[0]: int(r[1]) for r in rows}
            return view, types, sum(int(r[2]) for r in rows), sum(int(r[3]) for r in rows)

        return await self._db.read(read)

    async def get(self, org_id: str, memory_id: str) -> tuple[Row | None, bool, View]:
        """(journaled row, tombstoned?, the org's view without rows) for one id: a
        point lookup, run inline on the event loop's connection."""

        def read(conn: sqlite3.Connection) -> tuple[Row | None, bool, View]:
            stones, pending, purges = _org_hidden(conn, org_id)
            row = conn.execute(
                f"SELECT {JOURNAL_COLUMNS} FROM arc_journal WHERE org_id = ? AND memory_id = ?",
                (org_id, memory_id),
            ).fetchone()
            view = View(
                org_id, watermark(conn), tombstones=stones, pending=pending, purges=purges,
                **_arc_bounds(conn),
            )  # fmt: skip
            return (from_journal(row) if row else None), memory_id in stones, view

        return self._db.read_now(read)

    async def short_ids(self, org_id: str, short_id: str) -> tuple[list[str], frozenset[str]]:
        """Journaled ids ending in ``short_id``, and the org's tombstoned ids."""

        def read(conn: sqlite3.Connection) -> tuple[list[str], frozenset[str]]:
            ids = conn.execute(
                "SELECT memory_id FROM arc_journal WHERE org_id = ? AND substr(memory_id, 25) = ?"
                " LIMIT 3",
                (org_id, short_id),
            ).fetchall()
            stones, _, _ = _org_hidden(conn, org_id)
            return [r[0] for r in ids], stones

        return await self._db.read(read)


_JOURNAL_INSERT = (
    "INSERT INTO arc_journal(memory_id, org_id, time_us, hour, agent_id, session_id,"
    " memory_type, event_type, content, metadata, tags, importance, dedup_key, parent_id)"
    " VALUES "
)
_DEDUP_INSERT = "INSERT INTO arc_dedup VALUES "
_KEYS_PER_LOOKUP = 500

Insert = tuple[Sequence[NewMemory], int | None]  # (records, dedup window start)


def _journal_calls(
    conn: sqlite3.Connection, calls: list[Insert]
) -> list[list[NewMemory | Duplicate]]:
    """Journal the records of every call, in order (``seq`` is commit order),
    skipping each whose dedup key is held at or after its call's window start, by a
    journaled memory or one journaled before it here."""
    starts = [since for _, since in calls if since is not None]
    held = (
        _held_keys(conn, [r for records, _ in calls for r in records], min(starts))
        if starts
        else {}
    )
    rows: list[tuple[Any, ...]] = []
    keys: list[tuple[str, str, str, str, int]] = []
    spans: dict[tuple[str, str, str], list[int]] = {}
    results: list[list[NewMemory | Duplicate]] = []
    for records, since in calls:
        outcomes: list[NewMemory | Duplicate] = []
        floor = None if since is None else memory_id_floor(since)
        for rec in records:
            if floor is not None:
                holder = held.get((rec.org_id, rec.dedup_key))
                if holder is not None and holder >= floor:
                    outcomes.append(Duplicate(memory_id=holder, dedup_key=rec.dedup_key))
                    continue
                held[(rec.org_id, rec.dedup_key)] = rec.memory_id
                keys.append((rec.org_id, rec.dedup_key, rec.memory_id, rec.agent_id, rec.time_us))
            rows.append(
                (
                    rec.memory_id, rec.org_id, rec.time_us, hour_of(rec.time_us),
                    rec.agent_id, rec.session_id, rec.memory_type, rec.event_type,
                    rec.content, rec.metadata_json, json.dumps(list(rec.tags)),
                    rec.importance, rec.dedup_key, rec.parent_id,
                )
            )  # fmt: skip
            for kind, key in (("a", rec.agent_id), ("s", rec.session_id)):
                if key is not None:
                    span = spans.setdefault((rec.org_id, kind, key), [rec.time_us] * 2)
                    span[0], span[1] = min(span[0], rec.time_us), max(span[1], rec.time_us)
            outcomes.append(rec)
        results.append(outcomes)
    insert_rows(conn, _JOURNAL_INSERT, 14, rows)
    insert_rows(conn, _DEDUP_INSERT, 5, keys)
    conn.executemany(
        "INSERT INTO arc_spans VALUES (?,?,?,?,?) ON CONFLICT(org_id, kind, key)"
        " DO UPDATE SET first_us = min(first_us, excluded.first_us),"
        " last_us = max(last_us, excluded.last_us)",
        [(*k, v[0], v[1]) for k, v in spans.items()],
    )
    return results


def _held_keys(
    conn: sqlite3.Connection, records: list[NewMemory], since_us: int
) -> dict[tuple[str, str], str]:
    """The newest memory id at or after ``since_us`` holding each of the records'
    dedup keys (ids sort by time): one indexed IN query per few hundred keys."""
    wanted: dict[str, dict[str, None]] = {}
    for rec in records:
        wanted.setdefault(rec.org_id, {})[rec.dedup_key] = None
    floor = memory_id_floor(since_us)
    held: dict[tuple[str, str], str] = {}
    for org_id, keys in wanted.items():
        key_list = list(keys)
        for start in range(0, len(key_list), _KEYS_PER_LOOKUP):
            chunk = key_list[start : start + _KEYS_PER_LOOKUP]
            for key, newest in conn.execute(
                "SELECT dedup_key, max(memory_id) FROM arc_dedup WHERE org_id = ?"
                f" AND dedup_key IN ({','.join('?' * len(chunk))}) AND memory_id >= ?"
                " GROUP BY dedup_key",
                (org_id, *chunk, floor),
            ):
                held[(org_id, key)] = newest
    return held
