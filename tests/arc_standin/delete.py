"""``POST /api/v1/delete``: Arc's rewrite-based delete over flushed Parquet files only.

Each file with matches is rewritten as ``SELECT * … WHERE NOT (<where>)``, which is
why rows where the predicate is NULL disappear too (the NULL trap), and why rows
still in the ingest buffer survive and come back at the next flush. A predicate
that DuckDB cannot evaluate counts as matching nothing: 200 with deleted_count 0.
"""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

import duckdb

from .sql_validator import is_full_table_delete, validate_delete_where
from .storage import Storage, sql_literal

MAX_ROWS_PER_DELETE = 1_000_000
CONFIRMATION_THRESHOLD = 10_000
DISABLED = "Delete operations are disabled. Set delete.enabled=true in arc.toml to enable."
_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_-]*$")


def delete_config(enabled: bool) -> dict[str, object]:
    return {
        "enabled": enabled,
        "confirmation_threshold": CONFIRMATION_THRESHOLD,
        "max_rows_per_delete": MAX_ROWS_PER_DELETE,
        "implementation": "rewrite-based",
        "performance_impact": {
            "deletes": "expensive (file rewrites)",
            "queries": "zero overhead",
            "writes": "zero overhead",
        },
    }


def response(started: float, error: str | None = None, **fields: object) -> dict[str, object]:
    """Arc's DeleteResponse, keys in Arc's order; errors carry files_processed null."""
    body: dict[str, object] = {
        "success": error is None,
        "deleted_count": fields.get("deleted_count", 0),
        "affected_files": fields.get("affected_files", 0),
        "rewritten_files": fields.get("rewritten_files", 0),
        "execution_time_ms": int((time.monotonic() - started) * 1000),
        "dry_run": fields.get("dry_run", False),
        "files_processed": fields.get("files_processed"),
    }
    if fields.get("failed_files"):
        body["failed_files"] = fields["failed_files"]
    if error is not None:
        body["error"] = error
    return body


def run_delete(
    request: dict[str, object], storage: Storage, cursor: duckdb.DuckDBPyConnection
) -> tuple[int, dict[str, object]]:
    started = time.monotonic()
    db, measurement = str(request.get("database") or ""), str(request.get("measurement") or "")
    where = str(request.get("where") or "")
    dry_run, confirm = request.get("dry_run") is True, request.get("confirm") is True
    problem = _check(db, measurement, where, dry_run, confirm)
    if problem:
        return 400, response(started, problem)

    matches: dict[Path, int] = {}
    for path in storage.parquet_files(db, measurement):
        try:
            found = cursor.execute(
                f"SELECT count(*) FROM read_parquet({sql_literal(str(path))}) WHERE {where}"
            )
            count = found.fetchone()[0]  # type: ignore[index]
        except duckdb.Error:
            count = 0  # Arc's per-file fallback swallows the error
        if count:
            matches[path] = count
    total = sum(matches.values())
    if total > MAX_ROWS_PER_DELETE:
        return 400, response(
            started,
            f"Delete would affect {total} rows, exceeding max_rows_per_delete "
            f"({MAX_ROWS_PER_DELETE})",
        )
    names = [path.name for path in matches]
    if dry_run:
        return 200, response(
            started,
            deleted_count=total,
            affected_files=len(matches),
            dry_run=True,
            files_processed=names,
        )

    deleted, rewritten, failed = 0, 0, []
    for path in matches:
        try:
            deleted += _rewrite(cursor, path, where)
            rewritten += 1
        except (duckdb.Error, OSError):
            failed.append(path.name)
    fields = dict(
        deleted_count=deleted,
        affected_files=len(matches),
        rewritten_files=rewritten,
        files_processed=names,
        failed_files=failed,
    )
    return (207 if failed else 200), response(started, **fields)


def _check(db: str, measurement: str, where: str, dry_run: bool, confirm: bool) -> str | None:
    if not db:
        return "database is required"
    if not measurement:
        return "measurement is required"
    if not where.strip():
        return (
            "WHERE clause is required. To delete all data, use WHERE clause '1=1' with confirm=true"
        )
    if not _NAME.match(db):
        return "database name contains invalid characters"
    if not _NAME.match(measurement):
        return "measurement name contains invalid characters"
    if problem := validate_delete_where(where):
        return problem
    if is_full_table_delete(where) and not confirm:
        return "Full table delete detected (WHERE 1=1). Set confirm=true to proceed."
    if not dry_run and not confirm:
        return (
            "Confirmation required for delete operation. "
            "Set confirm=true or use dry_run=true to preview."
        )
    return None


def _rewrite(cursor: duckdb.DuckDBPyConnection, path: Path, where: str) -> int:
    """Keep the rows where NOT (<where>) is true; remove the file when none remain."""
    partial = path.with_name(f".{path.name}.tmp")
    source = f"read_parquet({sql_literal(str(path))})"
    before = cursor.execute(f"SELECT count(*) FROM {source}").fetchone()[0]  # type: ignore[index]
    keep = f"SELECT * FROM {source} WHERE NOT ({where})"
    cursor.execute(f"COPY ({keep}) TO {sql_literal(str(partial))} (FORMAT parquet)")
    after = cursor.execute(
        f"SELECT count(*) FROM read_parquet({sql_literal(str(partial))})"
    ).fetchone()[0]  # type: ignore[index]
    if after:
        os.replace(partial, path)
    else:
        os.remove(partial)
        os.remove(path)
    return before - after
