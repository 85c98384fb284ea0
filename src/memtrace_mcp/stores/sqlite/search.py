"""Case-insensitive substring search in the embedded store.

The index is an FTS5 trigram table over each memory's content as Python's
``str.lower`` folds it: contentless (the text lives in ``memories``) and without
positions (``detail=none``), which makes it about five times smaller and twice as
fast to fill as a positional one. It cannot answer a phrase, so it answers a
superset: the rows holding every trigram of the needle. Each candidate is then
checked against the real content with the same folding (``mt_lower``), so the index
only ever narrows and the answer is exact.

Indexing costs more than storing, so it is not done on the write path: the writer
thread indexes in small chunks (``index_pending``) and ``fts_state.watermark`` says
how far it got. A search reads the index up to the watermark plus every row of the
unindexed tail, so a memory is searchable the moment it is acknowledged.

When the short walk of the newest rows (memories.py) has not filled the page, two
plans remain, chosen per query by counting candidates (``drive_by_hits``):
- a rare needle drives the query from its candidates, then sorts the few that pass;
- a common one walks the time-ordered index newest first and checks each row until
  the page is full, which for a needle in every hundredth row is a few thousand rows.
The switch sits where both plans cost about the same: ``sqrt(rows * wanted)``
candidates, so neither plan ever touches more than that many rows.
"""

from __future__ import annotations

import sqlite3
from math import isqrt

TRIGRAM = 3
# A dozen trigrams spread along the needle are as selective as all of them in
# practice, and each extra term is another posting list to intersect.
_MAX_TERMS = 12
_MIN_SWITCH = 1_000
# A chunk holds the writer: small enough that a write arriving meanwhile waits a
# few milliseconds at most, large enough (one chunk per 50 ms under constant writes,
# see db.py) to index faster than single creates arrive.
_INDEX_CHUNK_ROWS = 128
_INDEX_CHUNK_BYTES = 128 * 1024

CANDIDATES = (
    "SELECT rowid AS rid FROM memories_fts WHERE memories_fts MATCH ?"
    " UNION ALL SELECT rid FROM memories WHERE rid > (SELECT watermark FROM fts_state)"
)
# The exact check, applied to every candidate and every scanned row.
CONTAINS = "instr(mt_lower(m.content), ?) > 0"


def fold(needle: str) -> str:
    return needle.lower()


def fts_terms(needle: str) -> str:
    """An FTS5 query for the rows holding every (sampled) trigram of ``needle``;
    ``needle`` must be at least a trigram long. Each term is a quoted string, so
    nothing in it is FTS5 syntax."""
    folded = fold(needle)
    grams = list(dict.fromkeys(folded[i : i + TRIGRAM] for i in range(len(folded) - TRIGRAM + 1)))
    if len(grams) > _MAX_TERMS:
        step = (len(grams) - 1) / (_MAX_TERMS - 1)
        grams = [grams[round(i * step)] for i in range(_MAX_TERMS)]
    return " AND ".join('"' + g.replace('"', '""') + '"' for g in grams)


def indexable(needle: str | None) -> bool:
    """Whether the index can narrow a search for ``needle`` (a trigram or longer)."""
    return needle is not None and len(needle) >= TRIGRAM


def drive_by_hits(conn: sqlite3.Connection, needle: str | None, wanted: int) -> bool:
    """Whether ``needle`` is rare enough that its candidates should drive a query
    that needs ``wanted`` rows (limit + offset)."""
    if not indexable(needle):
        return False
    (rows,) = conn.execute("SELECT coalesce(max(rid), 0) FROM memories").fetchone()
    switch = max(_MIN_SWITCH, isqrt(max(wanted, 1) * rows))
    (hits,) = conn.execute(
        "SELECT count(*) FROM (SELECT 1 FROM memories_fts WHERE memories_fts MATCH ? LIMIT ?)",
        (fts_terms(needle), switch),
    ).fetchone()
    return int(hits) < switch


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
        [(rid, fold(content)) for rid, content in chunk],
    )
    conn.execute("UPDATE fts_state SET watermark = ?", (chunk[-1][0],))
    return len(chunk) < len(rows) or len(rows) == _INDEX_CHUNK_ROWS
