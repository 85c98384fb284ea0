"""The embedded store's writer commits queued writes as a group, and runs writes of
a merging kind (``write_merged``: memory inserts) as one call per group. Merged or
not, each caller gets its own result or its own error, and nothing one caller's
failure undoes belongs to another."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import AsyncIterator
from pathlib import Path

import anyio
import pytest

from memtrace_mcp.stores.sqlite.db import Database

DEADLINE_S = 10.0


class Refused(Exception):
    pass


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = Database(tmp_path / "memtrace.db")
    await database.open()
    await database.write(lambda c: c.execute("CREATE TABLE t (v TEXT NOT NULL)"))
    try:
        yield database
    finally:
        await database.close()


class Recorder:
    """A merging write that inserts each argument and answers it upper-cased;
    it refuses any batch holding "bad"."""

    def __init__(self) -> None:
        self.calls: list[list[str]] = []

    def __call__(self, conn: sqlite3.Connection, args: list[str]) -> list[str]:
        self.calls.append(list(args))
        conn.executemany("INSERT INTO t VALUES (?)", [(a,) for a in args])
        if "bad" in args:
            raise Refused("bad is refused")
        return [a.upper() for a in args]


async def held_writer(db: Database) -> tuple[threading.Event, asyncio.Task[None]]:
    """Occupy the writer until the event is set, so what is queued meanwhile
    meets in one group."""
    release, entered = threading.Event(), threading.Event()

    def block(_conn: sqlite3.Connection) -> None:
        entered.set()
        if not release.wait(DEADLINE_S):
            raise TimeoutError("the test never released the writer")

    task = asyncio.create_task(db.write(block))
    await anyio.to_thread.run_sync(entered.wait, DEADLINE_S)
    assert entered.is_set()
    return release, task


async def stored(db: Database) -> list[str]:
    rows = await db.read(lambda c: c.execute("SELECT v FROM t ORDER BY rowid").fetchall())
    return [r[0] for r in rows]


async def test_writes_that_meet_in_a_group_run_as_one_call(db: Database) -> None:
    many = Recorder()
    release, blocker = await held_writer(db)
    args = [f"w{i}" for i in range(20)]
    answers = [asyncio.create_task(db.write_merged(many, a)) for a in args]
    await asyncio.sleep(0)  # let each task queue its write
    release.set()
    await blocker
    assert await asyncio.gather(*answers) == [a.upper() for a in args]
    assert many.calls == [args]
    assert await stored(db) == args


async def test_a_failing_merged_call_fails_only_the_caller_that_caused_it(db: Database) -> None:
    many = Recorder()
    release, blocker = await held_writer(db)
    args = ["a", "bad", "c"]
    answers = [asyncio.create_task(db.write_merged(many, a)) for a in args]
    await asyncio.sleep(0)
    release.set()
    await blocker
    results = await asyncio.gather(*answers, return_exceptions=True)
    assert results[0] == "A" and results[2] == "C"
    assert isinstance(results[1], Refused)
    # Merged, then each alone; the refused one left nothing behind.
    assert many.calls == [args, ["a"], ["bad"], ["c"]]
    assert await stored(db) == ["a", "c"]


async def test_a_failing_lone_write_leaves_nothing_and_the_next_write_works(
    db: Database,
) -> None:
    def half_then_fail(conn: sqlite3.Connection) -> None:
        conn.execute("INSERT INTO t VALUES ('half')")
        raise Refused("after half")

    with pytest.raises(Refused):
        await db.write(half_then_fail)
    assert await db.write_merged(Recorder(), "next") == "NEXT"
    assert await stored(db) == ["next"]


async def test_in_a_mixed_group_each_failure_stays_with_its_caller(db: Database) -> None:
    many = Recorder()

    def fail(conn: sqlite3.Connection) -> None:
        conn.execute("INSERT INTO t VALUES ('plain-bad')")
        raise Refused("plain write refused")

    def plain(conn: sqlite3.Connection) -> str:
        conn.execute("INSERT INTO t VALUES ('plain')")
        return "plain done"

    release, blocker = await held_writer(db)
    answers = [
        asyncio.create_task(db.write_merged(many, "m1")),
        asyncio.create_task(db.write(fail)),
        asyncio.create_task(db.write_merged(many, "m2")),
        asyncio.create_task(db.write_merged(many, "bad")),
        asyncio.create_task(db.write(plain)),
    ]
    await asyncio.sleep(0)
    release.set()
    await blocker
    results = await asyncio.gather(*answers, return_exceptions=True)
    assert results[0] == "M1" and results[4] == "plain done"
    assert isinstance(results[1], Refused) and isinstance(results[3], Refused)
    assert results[2] == "M2"
    assert await stored(db) == ["m1", "m2", "plain"]
