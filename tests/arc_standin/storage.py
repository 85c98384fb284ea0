"""Arc's on-disk layout: ``<root>/<db>/<measurement>/YYYY/MM/DD/HH/<m>_<ts>.parquet``.

One Parquet file per hour of data time per flush, ``time`` stored as a UTC
TIMESTAMP WITH TIME ZONE, columns in a shuffled order (Arc writes Go map order, so
``SELECT *`` column order is not stable there either). A database directory holds
a hidden marker file: Arc counts one extra file when dropping a database and
answers 404 for a dropped one while its directories stay behind.
"""

from __future__ import annotations

import os
import random
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import duckdb

MARKER = ".arc-database"
HOUR_US = 3_600_000_000


@dataclass
class Batch:
    """One decoded columnar write, already typed by Arc's rules."""

    measurement: str
    times_us: list[int]
    # name -> (DuckDB type, values). All-null columns are left out, as Arc v26.06.3 does.
    columns: dict[str, tuple[str, list[object]]] = field(default_factory=dict)
    # Why a flush will fail on this batch (Arc accepts it with 204 first).
    poison: str | None = None
    panics: bool = False

    @property
    def rows(self) -> int:
        return len(self.times_us)

    @property
    def signature(self) -> tuple[tuple[str, str], ...]:
        return tuple(sorted((name, kind) for name, (kind, _) in self.columns.items()))


def quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def sql_literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


class Storage:
    def __init__(self, root: Path, column_order_seed: int) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)
        self._shuffle = random.Random(column_order_seed)
        self._name_lock = threading.Lock()

    # ---------------- paths and listings ----------------
    def table_dir(self, db: str, table: str) -> str:
        return f"{self.root}/{db}/{table}"

    def table_glob(self, db: str, table: str) -> str:
        return f"{self.table_dir(db, table)}/**/*.parquet"

    def databases(self) -> list[str]:
        return sorted(p.name for p in _visible_dirs(self.root))

    def measurements(self, db: str) -> list[str]:
        return sorted(p.name for p in _visible_dirs(self.root / db))

    def has_database_dir(self, db: str) -> bool:
        return (self.root / db).is_dir()

    def has_database(self, db: str) -> bool:
        """A dropped database keeps its directories but answers 404: look at the marker."""
        return (self.root / db / MARKER).exists()

    def parquet_files(self, db: str, table: str) -> list[Path]:
        return sorted((self.root / db / table).rglob("*.parquet"))

    def table_stats(self, db: str, table: str) -> tuple[int, int]:
        files = self.parquet_files(db, table)
        return len(files), sum(f.stat().st_size for f in files)

    def measurement_count(self, db: str) -> int:
        return sum(1 for table in self.measurements(db) if self.parquet_files(db, table))

    # ---------------- database lifecycle ----------------
    def create_database(self, db: str) -> None:
        (self.root / db).mkdir(parents=True, exist_ok=True)
        (self.root / db / MARKER).touch()

    def drop_database(self, db: str) -> int:
        """Remove every file under the database, leave the directories (as Arc does)."""
        removed = 0
        for directory, _dirs, files in os.walk(self.root / db):
            for name in files:
                os.remove(os.path.join(directory, name))
                removed += 1
        return removed

    # ---------------- writing ----------------
    def write(self, cursor: duckdb.DuckDBPyConnection, db: str, batches: list[Batch]) -> None:
        """Write same-schema batches of one measurement: one file per data hour."""
        measurement = batches[0].measurement
        times = [t for b in batches for t in b.times_us]
        names = [name for name, _ in batches[0].signature]
        kinds = dict(batches[0].signature)
        values = {name: [v for b in batches for v in b.columns[name][1]] for name in names}
        by_hour: dict[int, list[int]] = defaultdict(list)
        for row, t in enumerate(times):
            by_hour[t // HOUR_US].append(row)
        self.create_database(db)
        for hour, rows in sorted(by_hour.items()):
            hour_start = datetime.fromtimestamp(hour * 3600, UTC)
            directory = self.root / db / measurement / hour_start.strftime("%Y/%m/%d/%H")
            directory.mkdir(parents=True, exist_ok=True)
            target = self._new_file(directory, measurement)
            self._copy(
                cursor,
                target,
                [times[r] for r in rows],
                {n: (kinds[n], [values[n][r] for r in rows]) for n in names},
            )

    def _copy(
        self,
        cursor: duckdb.DuckDBPyConnection,
        target: Path,
        times: list[int],
        columns: dict[str, tuple[str, list[object]]],
    ) -> None:
        select = ['make_timestamp(unnest($1::BIGINT[]))::TIMESTAMPTZ AS "time"']
        params: list[object] = [times]
        for name, (kind, column_values) in columns.items():
            params.append(column_values)
            select.append(f"unnest(${len(params)}::{kind}[]) AS {quote_ident(name)}")
        self._shuffle.shuffle(select)
        partial = target.with_name(f".{target.name}.tmp")
        cursor.execute(
            f"COPY (SELECT {', '.join(select)}) TO {sql_literal(str(partial))} (FORMAT parquet)",
            params,
        )
        os.replace(partial, target)  # readers never see a half-written file

    def _new_file(self, directory: Path, measurement: str) -> Path:
        """``<m>_YYYYMMDD_HHMMSS_<ns>.parquet`` from the wall clock, like Arc's names."""
        with self._name_lock:
            while True:
                ns = time.time_ns()
                stamp = datetime.fromtimestamp(ns // 1_000_000_000, UTC).strftime("%Y%m%d_%H%M%S")
                path = directory / f"{measurement}_{stamp}_{ns % 1_000_000_000:09d}.parquet"
                if not path.exists():
                    return path


def _visible_dirs(path: Path) -> list[Path]:
    if not path.is_dir():
        return []
    return [p for p in path.iterdir() if p.is_dir() and not p.name.startswith((".", "_"))]
