"""``POST /api/v1/query``: Arc's validation, SHOW commands, rewriting and DuckDB run."""

from __future__ import annotations

import logging
import re
import threading
from dataclasses import dataclass, field

import duckdb

from .render import Kind, classify
from .rewrite import SHOW_DATABASES, SHOW_TABLES, TableRewriter, has_cross_database_syntax
from .sql_validator import validate_query
from .storage import Storage

log = logging.getLogger("arc_standin.query")
_HEADER_DB = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_-]*$")
CROSS_DATABASE = (
    "Cross-database queries (db.table syntax) not allowed when x-arc-database header is set"
)
_TEXT, _INT, _FLOAT = Kind("text", "utf8"), Kind("int", "int64"), Kind("float", "float64")


@dataclass
class QueryAnswer:
    status: int = 200
    error: str | None = None
    columns: list[str] = field(default_factory=list)
    kinds: list[Kind] = field(default_factory=list)
    rows: list[tuple[object, ...]] = field(default_factory=list)


class Engine:
    """One in-memory DuckDB database; each query runs on its own cursor."""

    def __init__(self, threads: int = 2, memory_limit: str = "1GB") -> None:
        self._db = duckdb.connect(config={"threads": threads, "memory_limit": memory_limit})
        # Arc's DuckDB session runs in Etc/UTC (golden case q_timezone_setting).
        self._db.execute("SET GLOBAL TimeZone = 'Etc/UTC'")
        self._db.execute("SET GLOBAL autoinstall_known_extensions = false")

    def cursor(self) -> duckdb.DuckDBPyConnection:
        return self._db.cursor()

    def close(self) -> None:
        self._db.close()

    def run(
        self, sql: str, timeout_s: float
    ) -> tuple[list[str], list[Kind], list[tuple[object, ...]]]:
        """Execute and fetch; TimeoutError when DuckDB had to be interrupted."""
        cursor = self._db.cursor()
        timed_out = threading.Event()

        def interrupt() -> None:
            timed_out.set()
            cursor.interrupt()

        timer = threading.Timer(timeout_s, interrupt)
        timer.start()
        try:
            relation = cursor.sql(sql)
            if relation is None:
                return [], [], []
            columns = list(relation.columns)
            kinds = [classify(t.id, str(t)) for t in relation.types]
            if any(k.projection != "{col}" for k in kinds):
                # Timestamps, intervals and nested values are converted inside DuckDB.
                relation = relation.project(
                    ", ".join(k.projection.format(col=f"#{i + 1}") for i, k in enumerate(kinds))
                )
            return columns, kinds, relation.fetchall()
        except duckdb.InterruptException:
            if timed_out.is_set():
                raise TimeoutError from None
            raise
        finally:
            timer.cancel()
            cursor.close()


class QueryService:
    def __init__(
        self, engine: Engine, storage: Storage, rewriter: TableRewriter, timeout_s: float
    ) -> None:
        self._engine, self._storage, self._rewriter = engine, storage, rewriter
        self._timeout_s = timeout_s

    def run(self, sql: str, header_db: str) -> QueryAnswer:
        if message := validate_query(sql):
            return QueryAnswer(400, message)
        if header_db and (message := _header_db_error(header_db)):
            return QueryAnswer(400, f"invalid x-arc-database header: {message}")
        if header_db and has_cross_database_syntax(sql):
            return QueryAnswer(400, CROSS_DATABASE)
        if SHOW_DATABASES.match(sql):
            return QueryAnswer(
                columns=["database"],
                kinds=[_TEXT],
                rows=[(db,) for db in self._storage.databases()],
            )
        if match := SHOW_TABLES.match(sql):
            return self._show_tables(match.group(1) or header_db or "default")
        try:
            columns, kinds, rows = self._engine.run(
                self._rewriter.rewrite(sql, header_db), self._timeout_s
            )
        except TimeoutError:
            return QueryAnswer(504, "Query timed out")
        except duckdb.Error as exc:
            if "No files found that match the pattern" in str(exc):
                # Arc answers "no Parquet files" as an empty success with columns [].
                return QueryAnswer()
            return QueryAnswer(500, f"arrow query failed: {exc}")
        except Exception as exc:  # a stand-in bug must still look like an Arc 500, not a crash
            log.exception("query failed inside the stand-in: %s", sql)
            return QueryAnswer(500, f"arrow query failed: stand-in error: {exc!r}")
        return QueryAnswer(columns=columns, kinds=kinds, rows=rows)

    def _show_tables(self, db: str) -> QueryAnswer:
        rows = []
        for table in self._storage.measurements(db):
            count, size = self._storage.table_stats(db, table)
            rows.append(
                (db, table, self._storage.table_glob(db, table), count, size / (1024 * 1024))
            )
        columns = ["database", "table_name", "storage_path", "file_count", "total_size_mb"]
        return QueryAnswer(columns=columns, kinds=[_TEXT, _TEXT, _TEXT, _INT, _FLOAT], rows=rows)


def _header_db_error(name: str) -> str | None:
    if len(name) > 128:
        return "name too long (max 128 characters)"
    if not _HEADER_DB.match(name):
        return "name contains invalid characters (allowed: alphanumeric, underscore, hyphen)"
    return None
