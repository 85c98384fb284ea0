"""One SQLite file in WAL mode: one writer thread that group-commits, many readers.

Writes are jobs: a function run against the writer connection inside a transaction.
The writer thread takes every job queued at that moment (up to ``group_max``), runs
each under its own savepoint (so one failing job does not undo the others; a group
that is one job, or one merged run, needs none: undoing it is a rollback), commits
once with ``synchronous=FULL`` and only then resolves the callers' futures. A caller
that got its answer is therefore durable, and a burst of N writers costs one fsync,
not N. Jobs of a kind that merges (``write_merged``, e.g. inserting memories) run
as one call per group, under one savepoint.

Several processes may share the file (Claude Desktop and Claude Code each run a
stdio server): every write transaction is ``BEGIN IMMEDIATE``, so check-then-insert
jobs (dedup, bootstrap) are serialised across processes, and a lock held by another
process is waited for, never reported to a client.

Reads run on per-thread read connections in a worker thread; tiny point lookups on
the hot path (API key checks) may run inline on the event loop's own connection.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import os
import queue
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import anyio
import anyio.to_thread

from ...errors import MemtraceError, UnavailableError
from .keystamp import KeyStamp
from .schema import migrate

T = TypeVar("T")
A = TypeVar("A")
log = logging.getLogger(__name__)

_BUSY_TIMEOUT_MS = 5_000
_LOCK_DEADLINE_S = 60.0
_WAL_LIMIT_BYTES = 64 * 1024 * 1024
# Deferred work (idle tasks) waits for a quiet moment after a write: running it the
# moment the queue empties cost every lone write a second transaction right behind
# it (an MCP client storing one memory at a time paid for both), and a chunk started
# in the millisecond between group commits made the next writers wait for it.
# Deferred a little, one run covers many writes. Under a steady stream of writes it
# still gets a turn ``_IDLE_TURN_S`` after the first write since its last one, so
# the index keeps pace.
_IDLE_AFTER_S = 0.05
_IDLE_TURN_S = 0.05


@dataclass(slots=True)
class _Job:
    fn: Callable[[sqlite3.Connection], Any] | None
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future[Any]
    result: Any = None
    error: BaseException | None = None
    # A job of a kind that merges (write_merged): many(conn, [arg, ...]).
    many: Callable[[sqlite3.Connection, list[Any]], list[Any]] | None = None
    arg: Any = None


@dataclass(slots=True)
class _Stop:
    done: threading.Event = field(default_factory=threading.Event)


@contextmanager
def map_sqlite_errors() -> Iterator[None]:
    """Translate SQLite failures that are not our own errors into a safe 503."""
    try:
        yield
    except MemtraceError:
        raise
    except sqlite3.Error as exc:
        log.error("sqlite error: %s", exc)
        raise UnavailableError("the embedded store cannot serve this request right now") from exc


def _connect(path: Path, *, readonly: bool) -> sqlite3.Connection:
    conn = sqlite3.connect(
        path,
        isolation_level=None,
        check_same_thread=False,
        timeout=_BUSY_TIMEOUT_MS / 1000,
        # Room for the writer's multi-row INSERTs of each size (insert_rows) besides
        # every query shape.
        cached_statements=256,
    )
    conn.execute(f"PRAGMA busy_timeout = {_BUSY_TIMEOUT_MS}")
    conn.execute("PRAGMA synchronous = FULL")
    conn.execute("PRAGMA temp_store = MEMORY")
    # Page cache and memory map are per connection (a writer, up to 8 readers and
    # one inline reader): kept modest so a server over a large store stays small.
    conn.execute("PRAGMA cache_size = -8000")
    conn.execute("PRAGMA mmap_size = 67108864")
    conn.create_function("mt_lower", 1, _lower, deterministic=True)
    if readonly:
        conn.execute("PRAGMA query_only = 1")
    return conn


def _lower(value: str | None) -> str | None:
    return value.lower() if value is not None else None


def _create_private_file(path: Path) -> None:
    """Create the database file readable by its owner only: it holds key hashes."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(path, os.O_CREAT | os.O_RDWR, 0o600)
    os.close(fd)


class Database:
    def __init__(self, path: Path, *, group_max: int = 512) -> None:
        self.path = path
        self._group_max = group_max
        self._queue: queue.SimpleQueue[_Job | _Stop] = queue.SimpleQueue()
        self._writer: threading.Thread | None = None
        self._local = threading.local()
        self._readers: list[sqlite3.Connection] = []
        self._readers_lock = threading.Lock()
        self._inline: sqlite3.Connection | None = None
        self._limiter = anyio.CapacityLimiter(8)
        self._idle_tasks: list[Callable[[sqlite3.Connection], bool]] = []
        self.keystamp = KeyStamp(path)
        self._relaxed = False  # the writer connection is in synchronous=NORMAL

    def add_idle_task(self, task: Callable[[sqlite3.Connection], bool]) -> None:
        """Run ``task`` in its own transaction whenever writes pause, and at least
        every ``_IDLE_TURN_S`` under a steady stream of writes, so deferred work never
        starves; it does a bounded piece of work and returns whether more is pending.
        Its commits do not wait for fsync: the work must be redoable from what it
        leaves in the database (a crash may undo the last pieces, never half of one),
        as the search index's watermark is. Register before ``open``."""
        self._idle_tasks.append(task)

    # --- lifecycle --------------------------------------------------------------

    async def open(self) -> None:
        await anyio.to_thread.run_sync(self._open_sync)

    def _open_sync(self) -> None:
        _create_private_file(self.path)
        self.keystamp.open()
        conn = _connect(self.path, readonly=False)
        conn.execute("PRAGMA journal_mode = WAL")
        # A checkpoint rewinds the WAL but never shrinks the file: after a burst of
        # writes it stayed hundreds of MB. This truncates it back after each reset.
        conn.execute(f"PRAGMA journal_size_limit = {_WAL_LIMIT_BYTES}")
        self._begin(conn)
        try:
            migrate(conn)
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            conn.close()
            raise
        self._writer = threading.Thread(
            target=self._write_loop, args=(conn,), name="memtrace-sqlite-writer", daemon=True
        )
        self._writer.start()

    async def close(self) -> None:
        if self._writer is None:
            return
        stop = _Stop()
        self._queue.put(stop)
        await anyio.to_thread.run_sync(stop.done.wait)
        self._writer.join()
        self._writer = None
        with self._readers_lock:
            for conn in self._readers:
                conn.close()
            self._readers.clear()
        if self._inline is not None:
            self._inline.close()
            self._inline = None
        self.keystamp.close()

    # --- writes -----------------------------------------------------------------

    async def write(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``fn`` in a committed transaction; return once it is durable."""
        return await self._submit(fn)  # type: ignore[no-any-return]

    async def write_merged(
        self, many: Callable[[sqlite3.Connection, list[A]], list[T]], arg: A
    ) -> T:
        """Like ``write(lambda conn: many(conn, [arg])[0])``, but the calls of one
        ``many`` that meet in a group commit run as one ``many(conn, [arg, ...])``,
        which returns one result per argument, in order. Merged, a burst of small
        writes (one memory per request) costs a few statements instead of a few per
        request: every statement hands the GIL to the event loop and waits to get
        it back. If the merged call raises, each call runs alone, so an error
        reaches only the call that caused it."""
        return await self._submit(None, many, arg)  # type: ignore[no-any-return]

    async def _submit(
        self,
        fn: Callable[[sqlite3.Connection], Any] | None,
        many: Callable[[sqlite3.Connection, list[Any]], list[Any]] | None = None,
        arg: Any = None,
    ) -> Any:
        if self._writer is None:
            raise UnavailableError("the embedded store is not open")
        loop = asyncio.get_running_loop()
        job = _Job(fn, loop, loop.create_future(), many=many, arg=arg)
        self._queue.put(job)
        with map_sqlite_errors():
            return await job.future

    def _write_loop(self, conn: sqlite3.Connection) -> None:
        stop: _Stop | None = None
        idle_pending = bool(self._idle_tasks)  # a previous process may have left work
        wrote_since_idle = False
        idle_due = 0.0
        while stop is None:
            if idle_pending:
                try:
                    # Right after writes, wait for a quiet moment; while catching up
                    # (nothing written since the last run), go straight on; when
                    # overdue, take a turn whatever is waiting.
                    wait = min(_IDLE_AFTER_S, idle_due - time.monotonic())
                    if wait <= 0:
                        raise queue.Empty
                    if wrote_since_idle:
                        item = self._queue.get(timeout=wait)
                    else:
                        item = self._queue.get_nowait()
                except queue.Empty:
                    idle_pending = self._run_idle(conn)
                    idle_due = time.monotonic() + _IDLE_TURN_S
                    wrote_since_idle = False
                    continue
            else:
                item = self._queue.get()
            if isinstance(item, _Stop):
                stop = item
                break
            group = [item]
            while len(group) < self._group_max:
                try:
                    nxt = self._queue.get_nowait()
                except queue.Empty:
                    break
                if isinstance(nxt, _Stop):
                    stop = nxt
                    break
                group.append(nxt)
            if not wrote_since_idle:  # the first write since the last turn starts the clock
                idle_due = time.monotonic() + _IDLE_TURN_S
                wrote_since_idle = True
            self._commit_group(conn, group)
            idle_pending = bool(self._idle_tasks)
        conn.close()
        stop.done.set()

    def _run_idle(self, conn: sqlite3.Connection) -> bool:
        # Deferred work is derived data that a crash may lose and redo (the trigram
        # index and its watermark commit together), so its commits skip the fsync:
        # in WAL mode the next FULL commit syncs these frames too, in order. An fsync
        # per chunk used to take as long as the group commits it sat between.
        # The mode is switched only when it changes (each statement on this thread
        # hands the GIL over): runs of idle chunks stay in NORMAL, and the next
        # group commit puts FULL back first (_commit_group).
        if not self._relaxed:
            conn.execute("PRAGMA synchronous = NORMAL")
            self._relaxed = True
        return self._run_idle_tasks(conn)

    def _run_idle_tasks(self, conn: sqlite3.Connection) -> bool:
        pending = False
        for task in self._idle_tasks:
            try:
                self._begin(conn)
                pending = task(conn) or pending
                conn.execute("COMMIT")
            except sqlite3.Error as exc:
                # Deferred work is retried on the next idle turn; a write must never
                # wait on it, so a failure here is logged, not raised.
                log.warning("deferred store work failed: %s", exc)
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                return False
        return pending

    def _commit_group(self, conn: sqlite3.Connection, group: list[_Job]) -> None:
        try:
            if self._relaxed:  # a write is acknowledged only once it is on disk
                conn.execute("PRAGMA synchronous = FULL")
                self._relaxed = False
            self._begin(conn)
            runs = _runs(group)
            if len(runs) == 1:
                # The usual group (one job, or one merged run): no savepoint, since
                # undoing it is undoing the transaction. Each statement hands the
                # GIL over, and getting it back from a busy event loop is what a
                # small write waits for most.
                (run,) = runs
                error = self._run_together(conn, run, savepoint=False)
                if error is not None:
                    if conn.in_transaction:  # some SQLite errors roll back by themselves
                        conn.execute("ROLLBACK")
                    self._begin(conn)
                    if len(run) == 1:
                        run[0].error = error
                    else:
                        for job in run:
                            self._run_alone(conn, job)
            else:
                for run in runs:
                    if len(run) == 1 or self._run_together(conn, run, savepoint=True):
                        for job in run:
                            self._run_alone(conn, job)
            conn.execute("COMMIT")
        except sqlite3.Error as exc:
            log.error("sqlite commit failed: %s", exc)
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            failure = UnavailableError("the embedded store could not commit this write")
            for job in group:
                job.result, job.error = None, failure
        # One wake-up per event loop, not per job: each call_soon_threadsafe writes
        # to the loop's self-pipe, and each system call here hands the GIL over.
        by_loop: dict[asyncio.AbstractEventLoop, list[_Job]] = {}
        for job in group:
            by_loop.setdefault(job.loop, []).append(job)
        for loop, jobs in by_loop.items():
            loop.call_soon_threadsafe(_settle_all, jobs)

    @staticmethod
    def _run_alone(conn: sqlite3.Connection, job: _Job) -> None:
        conn.execute("SAVEPOINT job")
        try:
            if job.many is not None:
                (job.result,) = job.many(conn, [job.arg])
            else:
                assert job.fn is not None
                job.result = job.fn(conn)
        except BaseException as exc:  # noqa: BLE001 - handed to the caller
            conn.execute("ROLLBACK TO job")
            job.error = exc
        conn.execute("RELEASE job")

    @staticmethod
    def _run_together(
        conn: sqlite3.Connection, run: list[_Job], *, savepoint: bool
    ) -> BaseException | None:
        """Run one job, or a run of merging jobs as one call. What it raised, if it
        did (with the savepoint, undone): the caller undoes it and runs each alone."""
        if savepoint:
            conn.execute("SAVEPOINT together")
        try:
            head = run[0]
            if head.many is None:
                assert head.fn is not None and len(run) == 1
                results = [head.fn(conn)]
            else:
                results = head.many(conn, [job.arg for job in run])
            if len(results) != len(run):
                raise RuntimeError("a merged write returned the wrong number of results")
        except BaseException as exc:  # noqa: BLE001 - handed to the caller
            if savepoint:
                conn.execute("ROLLBACK TO together")
                conn.execute("RELEASE together")
            return exc
        if savepoint:
            conn.execute("RELEASE together")
        for job, result in zip(run, results, strict=True):
            job.result = result
        return None

    @staticmethod
    def _begin(conn: sqlite3.Connection) -> None:
        """BEGIN IMMEDIATE, waiting out other processes' write locks."""
        deadline = time.monotonic() + _LOCK_DEADLINE_S
        while True:
            try:
                conn.execute("BEGIN IMMEDIATE")
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) and "busy" not in str(exc):
                    raise
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.005)

    # --- reads ------------------------------------------------------------------

    async def read(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``fn`` on a read connection in a worker thread."""
        return await anyio.to_thread.run_sync(self._read_sync, fn, limiter=self._limiter)

    def read_now(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Run a point lookup inline: only for queries that touch a handful of rows."""
        if self._inline is None:
            self._inline = _connect(self.path, readonly=True)
        with map_sqlite_errors():
            return fn(self._inline)

    def _read_sync(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = _connect(self.path, readonly=True)
            self._local.conn = conn
            with self._readers_lock:
                self._readers.append(conn)
        with map_sqlite_errors():
            conn.execute("BEGIN")
            try:
                return fn(conn)
            finally:
                conn.execute("COMMIT")


# Rows per INSERT statement (insert_rows): at most this many (fewer if SQLite was
# built with a lower bound-parameter limit). Up to _EXACT_ROWS rows (a group commit
# of single creates) take one statement of their exact size; more take power-of-two
# sizes, so a bounded set of prepared statements serves every batch.
_ROWS_PER_INSERT = 256
_EXACT_ROWS = 32


def insert_rows(
    conn: sqlite3.Connection, head: str, width: int, rows: list[tuple[Any, ...]]
) -> None:
    """Insert ``rows`` (each ``width`` values) with ``head`` ("INSERT ... VALUES ")
    as multi-row statements: ``executemany`` steps once per row, and each step hands
    the GIL over and waits to get it back."""
    most = min(_ROWS_PER_INSERT, conn.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER) // width)
    start = 0
    while start < len(rows):
        left = len(rows) - start
        size = min(most, left if left <= _EXACT_ROWS else 1 << (left.bit_length() - 1))
        chunk = rows[start : start + size]
        conn.execute(_values_sql(head, width, size), [v for row in chunk for v in row])
        start += size


@functools.cache
def _values_sql(head: str, width: int, rows: int) -> str:
    one = "(" + ",".join("?" * width) + ")"
    return head + ",".join([one] * rows)


def _runs(group: list[_Job]) -> list[list[_Job]]:
    """The group cut into runs: each job alone, except consecutive jobs of one
    merging kind, which make one run."""
    runs: list[list[_Job]] = []
    for job in group:
        if runs and job.many is not None and runs[-1][0].many == job.many:
            runs[-1].append(job)
        else:
            runs.append([job])
    return runs


def _settle_all(jobs: list[_Job]) -> None:
    for job in jobs:
        _settle(job)


def _settle(job: _Job) -> None:
    if job.future.done():  # the caller went away (cancelled); the write still happened
        return
    if job.error is not None:
        job.future.set_exception(job.error)
    else:
        job.future.set_result(job.result)
