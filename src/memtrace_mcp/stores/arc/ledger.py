"""The shipper's and the forgetter's bookkeeping in SQLite (tables: see ``journal.py``).

A journal row goes through three steps:

1. **journaled** (``seq`` > the confirmed watermark C): acknowledged, not yet seen
   in Arc. These rows are the backlog ``status()`` reports.
2. **confirmed** (``seq <= C``): a query saw it in Arc. Confirmation happens in seq
   order, so C is a watermark. The row's hour is recorded in ``arc_hours`` with the
   moment it is *settled*: the cache horizon after Arc first showed that hour (or
   after a delete touched it). Before that, Arc's path caches may hide the hour from
   a time-bounded query.
3. **retired**: deleted from the journal once confirmed and settled, always as a
   prefix in seq order, so ``W = min(seq)`` keeps its meaning (``journal.py``).

Only one process ships at a time: a lease in ``arc_state`` (several stdio servers
may share a data dir).
"""

from __future__ import annotations

import os
import socket
import sqlite3
from collections.abc import Iterable, Sequence
from typing import Any

from ..sqlite.db import Database
from .journal import ARC_HI, ARC_LO
from .rows import JOURNAL_COLUMNS, row_bytes

Stone = tuple[str, str, int | None, int]  # org_id, memory_id, verified_us, attempts
Purge = tuple[str, str, int, int | None, int]  # org, agent, max_seq, verified_us, attempts


def lease_owner(token: str) -> str:
    """``host:pid:token``: enough to tell, on the same host, whether the holder lives."""
    return f"{socket.gethostname()}:{os.getpid()}:{token}"


def holder_alive(holder: str) -> bool:
    host, _, rest = holder.partition(":")
    pid_text, _, _ = rest.partition(":")
    if host != socket.gethostname() or not pid_text.isdigit():
        return True  # another machine's process: only the expiry tells
    try:
        os.kill(int(pid_text), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _get(conn: sqlite3.Connection, key: str, default: Any = None) -> Any:
    row = conn.execute("SELECT value FROM arc_state WHERE key = ?", (key,)).fetchone()
    return row[0] if row else default


def _set(conn: sqlite3.Connection, key: str, value: Any) -> None:
    conn.execute("INSERT OR REPLACE INTO arc_state(key, value) VALUES (?, ?)", (key, value))


def _unsettle(conn: sqlite3.Connection, hours: Iterable[int], settle_us: int) -> None:
    conn.executemany(
        "INSERT INTO arc_hours(hour, settle_us) VALUES (?, ?) ON CONFLICT(hour)"
        " DO UPDATE SET settle_us = max(settle_us, excluded.settle_us)",
        [(h, settle_us) for h in set(hours)],
    )


class Ledger:
    def __init__(self, db: Database, *, horizon_us: int) -> None:
        self._db = db
        self.horizon_us = horizon_us

    # --- lease ----------------------------------------------------------------------

    async def lease(self, owner: str, now_us: int, ttl_us: int) -> bool:
        """Take or renew the shipping lease; False while another live process holds it.
        A holder that died on this host (SIGKILL) loses it at once, not at expiry."""

        def job(conn: sqlite3.Connection) -> bool:
            holder, until = _get(conn, "lease_owner"), int(_get(conn, "lease_until", 0))
            if holder not in (None, owner) and until > now_us and holder_alive(holder):
                return False
            _set(conn, "lease_owner", owner)
            _set(conn, "lease_until", now_us + ttl_us)
            return True

        return await self._db.write(job)

    async def release(self, owner: str) -> None:
        def job(conn: sqlite3.Connection) -> None:
            if _get(conn, "lease_owner") == owner:
                _set(conn, "lease_until", 0)

        await self._db.write(job)

    # --- shipping -------------------------------------------------------------------

    async def unconfirmed(self, limit: int, max_bytes: int) -> list[tuple[Any, ...]]:
        """The oldest journal rows Arc has not been seen serving, in seq order: at
        most ``limit`` rows and about ``max_bytes`` of text (at least one row)."""

        def read(conn: sqlite3.Connection) -> list[tuple[Any, ...]]:
            confirmed = int(_get(conn, "confirmed_seq", 0))
            rows: list[tuple[Any, ...]] = []
            size = 0
            cursor = conn.execute(
                f"SELECT {JOURNAL_COLUMNS} FROM arc_journal WHERE seq > ? ORDER BY seq LIMIT ?",
                (confirmed, limit),
            )
            for row in cursor:
                size += row_bytes(row)
                if rows and size > max_bytes:
                    break
                rows.append(row)
            return rows

        return await self._db.read(read)

    async def max_seq(self) -> int:
        def read(conn: sqlite3.Connection) -> int:
            return int(conn.execute("SELECT coalesce(max(seq), 0) FROM arc_journal").fetchone()[0])

        return await self._db.read(read)

    async def confirm(self, upto_seq: int, hours: Iterable[int], now_us: int) -> None:
        """Every row up to ``upto_seq`` is served by Arc; record when its hour settles."""

        def job(conn: sqlite3.Connection) -> None:
            if upto_seq > int(_get(conn, "confirmed_seq", 0)):
                _set(conn, "confirmed_seq", upto_seq)
            conn.executemany(
                "INSERT OR IGNORE INTO arc_hours(hour, settle_us) VALUES (?, ?)",
                [(h, now_us + self.horizon_us) for h in set(hours)],
            )

        await self._db.write(job)

    async def retire(self, now_us: int) -> int:
        """Delete the confirmed, settled prefix of the journal; how many rows went."""

        def plan(conn: sqlite3.Connection) -> int | None:
            confirmed = int(_get(conn, "confirmed_seq", 0))
            low = conn.execute("SELECT min(seq) FROM arc_journal").fetchone()[0]
            if low is None or low > confirmed:
                return None
            blocked = conn.execute(
                "SELECT min(j.seq) FROM arc_hours h JOIN arc_journal j ON j.hour = h.hour"
                " WHERE h.settle_us > ? AND j.seq <= ?",
                (now_us, confirmed),
            ).fetchone()[0]
            upto = confirmed if blocked is None else int(blocked) - 1
            return upto if upto >= low else None

        upto = await self._db.read(plan)
        if upto is None:
            return 0

        def job(conn: sqlite3.Connection) -> int:
            newest = _get(conn, ARC_HI)
            if newest is not None:  # absent: a store from before the bounds, unbounded
                first, last = conn.execute(
                    "SELECT min(time_us), max(time_us) FROM arc_journal WHERE seq <= ?", (upto,)
                ).fetchone()
                if last is not None:
                    _set(conn, ARC_HI, max(int(newest), int(last)))
                    oldest = _get(conn, ARC_LO)
                    _set(conn, ARC_LO, int(first) if oldest is None else min(int(oldest), first))
            return int(conn.execute("DELETE FROM arc_journal WHERE seq <= ?", (upto,)).rowcount)

        return await self._db.write(job)

    async def backlog(self) -> dict[str, int]:
        """``backlog``: journal rows not yet confirmed in Arc; ``journal``: all journal
        rows; ``forgetting``: forgets and purges whose delete in Arc is unverified."""

        def read(conn: sqlite3.Connection) -> dict[str, int]:
            confirmed = int(_get(conn, "confirmed_seq", 0))
            count = "SELECT count(*) FROM "
            return {
                "backlog": conn.execute(
                    f"{count}arc_journal WHERE seq > ?", (confirmed,)
                ).fetchone()[0],
                "journal": conn.execute(f"{count}arc_journal").fetchone()[0],
                "forgetting": conn.execute(
                    f"{count}arc_tombstones WHERE verified_us IS NULL"
                ).fetchone()[0]
                + conn.execute(f"{count}arc_purges WHERE verified_us IS NULL").fetchone()[0],
            }

        return await self._db.read(read)

    # --- forgetting -----------------------------------------------------------------

    async def due_tombstones(self, now_us: int, grace_us: int, limit: int) -> list[Stone]:
        """Tombstones to act on: not yet verified, or verified long enough ago to
        check once more before they are dropped."""

        def read(conn: sqlite3.Connection) -> list[Stone]:
            rows = conn.execute(
                "SELECT org_id, memory_id, verified_us, attempts FROM arc_tombstones"
                " WHERE next_try_us <= ? AND (verified_us IS NULL OR verified_us <= ?)"
                " ORDER BY created_us LIMIT ?",
                (now_us, now_us - grace_us, limit),
            ).fetchall()
            return [(r[0], r[1], r[2], int(r[3])) for r in rows]

        return await self._db.read(read)

    async def settle_tombstones(
        self,
        verified: Sequence[tuple[str, str]],
        dropped: Sequence[tuple[str, str]],
        retry: Sequence[tuple[str, str, int]],
        now_us: int,
    ) -> None:
        def job(conn: sqlite3.Connection) -> None:
            conn.executemany(
                "UPDATE arc_tombstones SET verified_us = ?, attempts = 0"
                " WHERE org_id = ? AND memory_id = ?",
                [(now_us, o, m) for o, m in verified],
            )
            conn.executemany(
                "DELETE FROM arc_tombstones WHERE org_id = ? AND memory_id = ?", dropped
            )
            conn.executemany(
                "UPDATE arc_tombstones SET verified_us = NULL, attempts = attempts + 1,"
                " next_try_us = ? WHERE org_id = ? AND memory_id = ?",
                [(at, o, m) for o, m, at in retry],
            )

        await self._db.write(job)

    async def due_purges(self, now_us: int, grace_us: int, limit: int) -> list[Purge]:
        def read(conn: sqlite3.Connection) -> list[Purge]:
            rows = conn.execute(
                "SELECT org_id, agent_id, max_seq, verified_us, attempts FROM arc_purges"
                " WHERE next_try_us <= ? AND (verified_us IS NULL OR verified_us <= ?)"
                " ORDER BY created_us LIMIT ?",
                (now_us, now_us - grace_us, limit),
            ).fetchall()
            return [(r[0], r[1], int(r[2]), r[3], int(r[4])) for r in rows]

        return await self._db.read(read)

    async def settle_purge(self, purge: Purge, outcome: str, now_us: int, retry_at: int) -> None:
        """``outcome``: "verified", "dropped" or "retry"."""
        key = (purge[0], purge[1], purge[2])

        def job(conn: sqlite3.Connection) -> None:
            where = "WHERE org_id = ? AND agent_id = ? AND max_seq = ?"
            if outcome == "verified":
                conn.execute(
                    f"UPDATE arc_purges SET verified_us = ?, attempts = 0 {where}", (now_us, *key)
                )
            elif outcome == "dropped":
                conn.execute(f"DELETE FROM arc_purges {where}", key)
            else:
                conn.execute(
                    "UPDATE arc_purges SET verified_us = NULL, attempts = attempts + 1,"
                    f" next_try_us = ? {where}",
                    (retry_at, *key),
                )

        await self._db.write(job)

    async def unsettle(self, hours: Iterable[int], now_us: int) -> None:
        """A delete touched these hours: Arc may cache them as empty for a while."""
        listed = set(hours)
        if listed:
            await self._db.write(lambda conn: _unsettle(conn, listed, now_us + self.horizon_us))

    # --- adoption and upkeep ----------------------------------------------------------

    async def adopted(self) -> bool:
        return bool(await self._db.read(lambda conn: _get(conn, "adopted")))

    async def adopt(self, spans: Sequence[tuple[str, str, str, int, int]], max_seq: int) -> None:
        """Merge the spans of what Arc already holds and number new rows after its
        highest seq; from now on the spans bound Arc's rows (``journal._span``)."""

        def job(conn: sqlite3.Connection) -> None:
            conn.executemany(
                "INSERT INTO arc_spans VALUES (?,?,?,?,?) ON CONFLICT(org_id, kind, key)"
                " DO UPDATE SET first_us = min(first_us, excluded.first_us),"
                " last_us = max(last_us, excluded.last_us)",
                spans,
            )
            conn.execute(
                "UPDATE sqlite_sequence SET seq = max(seq, ?) WHERE name = 'arc_journal'",
                (max_seq,),
            )
            # Arc's newest row from now on is one we retire (or one it held): -1 says
            # it holds none yet, so reads need not ask it (``journal.View.arc_hi``).
            _set(conn, ARC_HI, max((s[4] for s in spans), default=-1))
            if spans:
                _set(conn, ARC_LO, min(s[3] for s in spans))
            _set(conn, "adopted", 1)

        await self._db.write(job)

    async def prune_dedup(self, before_us: int) -> int:
        return await self._db.write(
            lambda conn: (
                conn.execute("DELETE FROM arc_dedup WHERE time_us < ?", (before_us,)).rowcount
            )
        )
