"""Arc's checks on user SQL: the query validator and the delete ``where`` validator.

Both reproduce Arc v26.06.3 exactly, bugs included, because the client has to live
with them:
- the literal masker treats ``\\'`` as an escaped quote (DuckDB does not), so a
  literal ending in a backslash swallows the rest of the statement;
- the query limit counts UTF-8 bytes, and bare ``SET``/``COPY``/``CALL``/``LOAD``
  are refused anywhere outside quotes, even as aliases;
- the delete validator looks at the raw text, string literals included, and its
  ``xp_``/``sp_`` check never fires (lower-case patterns against upper-cased text).
"""

from __future__ import annotations

import re

MAX_SQL_BYTES = 10_000

_DANGEROUS = re.compile(
    r"(?ai)(?:\b(?:DROP\s+(?:TABLE|DATABASE|INDEX|VIEW)|DELETE\s+FROM|TRUNCATE\s+TABLE"
    r"|ALTER\s+TABLE|CREATE\s+(?:TABLE|DATABASE|INDEX)|INSERT\s+INTO|UPDATE\s+\w+\s+SET)\b"
    r"|\bATTACH\b|\bDETACH\b|\bCOPY\b|\bEXPORT\s+DATABASE\b|\bIMPORT\s+DATABASE\b|\bPRAGMA\b"
    r"|\bSET\b|\bRESET\b|\bLOAD\b|\bINSTALL\b|\bCALL\b"
    r"|\bCREATE\s+(?:OR\s+REPLACE\s+)?(?:PERSISTENT\s+|TEMPORARY\s+|TEMP\s+)?SECRET\b"
    r"|\bDROP\s+(?:PERSISTENT\s+|TEMPORARY\s+|TEMP\s+)?SECRET\b)"
)

IO_FUNCTIONS = (
    "read_parquet", "parquet_scan", "parquet_metadata", "parquet_schema", "parquet_file_metadata",
    "parquet_kv_metadata", "parquet_bloom_probe", "read_csv", "read_csv_auto", "sniff_csv",
    "read_json", "read_json_auto", "read_json_objects", "read_json_objects_auto", "read_ndjson",
    "read_ndjson_auto", "read_ndjson_objects", "read_text", "read_blob", "read_xlsx", "glob",
    "delta_scan", "iceberg_scan", "iceberg_metadata", "iceberg_snapshots", "arc_partition_agg",
)  # fmt: skip
_IO_CALL = re.compile(r"(?ai)\b(" + "|".join(IO_FUNCTIONS) + r")\s*\(")

# A quoted string where a table name belongs is a DuckDB replacement scan that reads files.
_LITERAL_TABLE = re.compile(r"(?ai)\b(?:FROM|JOIN)\s+(__STR_\d+__)")


def mask_literals(sql: str) -> tuple[str, list[tuple[str, str]]]:
    """Replace '…' and "…" with ``__STR_n__`` placeholders, the way Arc does.

    A doubled quote stays inside the literal. A quote right after a backslash is
    also taken as escaped: that is Arc's bug, kept on purpose. An unterminated
    literal runs to the end of the text.
    """
    if "'" not in sql and '"' not in sql:
        return sql, []
    out: list[str] = []
    masks: list[tuple[str, str]] = []
    i, n = 0, len(sql)
    while i < n:
        ch = sql[i]
        if ch not in "'\"":
            out.append(ch)
            i += 1
            continue
        start, i = i, i + 1
        while i < n:
            if sql[i] == ch:
                if i + 1 < n and sql[i + 1] == ch:
                    i += 2
                    continue
                if sql[i - 1] == "\\":
                    i += 1
                    continue
                break
            i += 1
        i = min(i + 1, n)
        placeholder = f"__STR_{len(masks)}__"
        masks.append((placeholder, sql[start:i]))
        out.append(placeholder)
    return "".join(out), masks


def unmask_literals(sql: str, masks: list[tuple[str, str]]) -> str:
    for placeholder, original in masks:
        sql = sql.replace(placeholder, original, 1)
    return sql


def strip_comments(sql: str) -> str:
    """Drop ``-- …`` (keeping the newline) and ``/* … */`` (leaving a space).
    Run it on masked text so comment markers inside literals survive."""
    if "--" not in sql and "/*" not in sql:
        return sql
    out: list[str] = []
    i, n = 0, len(sql)
    while i < n:
        if sql.startswith("--", i):
            end = sql.find("\n", i)
            if end < 0:
                break
            out.append("\n")
            i = end + 1
        elif sql.startswith("/*", i):
            end = sql.find("*/", i + 2)
            i = n if end < 0 else end + 2
            out.append(" ")
        else:
            out.append(sql[i])
            i += 1
    return "".join(out)


def normalise(sql: str) -> tuple[str, list[tuple[str, str]]]:
    """Literal-masked, comment-stripped text (and the masks): what Arc's scanners see."""
    masked, masks = mask_literals(sql.replace("`", '"'))
    return strip_comments(masked), masks


def validate_query(sql: str) -> str | None:
    """Arc's ValidateSQLRequest: the error message, or None when the SQL may run."""
    if not sql.strip():
        return "SQL query is required"
    if len(sql.encode("utf-8")) > MAX_SQL_BYTES:
        return f"SQL query exceeds maximum length ({MAX_SQL_BYTES} characters)"
    normalised, masks = normalise(sql)
    if ";" in normalised.rstrip(" \t\n\r;"):
        return "Multiple SQL statements are not allowed"
    if _DANGEROUS.search(normalised):
        return "Dangerous SQL operation not allowed"
    # Identifier quotes are stripped first: DuckDB runs "read_parquet"(...) too.
    io_check = strip_comments(mask_literals(sql.replace('"', "").replace("`", ""))[0])
    if match := _IO_CALL.search(io_check):
        return f"File I/O function not allowed in user SQL: {match.group(1)}()"
    originals = dict(masks)
    for match in _LITERAL_TABLE.finditer(normalised):
        if originals[match.group(1)].startswith("'"):
            return "String literal in table position not allowed in user SQL"
    return None


_WHERE_PATTERNS = (";", "--", "/*")
_WHERE_KEYWORDS = re.compile(
    r"(?ai)\b(DROP|DELETE|INSERT|UPDATE|EXECUTE|EXEC|UNION|SELECT|CREATE|ALTER|COPY|ATTACH"
    r"|DETACH|LOAD|INSTALL|PRAGMA|CALL|SET)\b"
)
_FULL_TABLE = {"1=1", "TRUE", "1"}


def validate_delete_where(where: str) -> str | None:
    """Arc's delete ``where`` checks, run on the raw text (string literals included)."""
    for pattern in _WHERE_PATTERNS:
        if pattern in where:
            return f"WHERE clause contains forbidden pattern: {pattern}"
    if match := _WHERE_KEYWORDS.search(where):
        return f"WHERE clause contains forbidden keyword: {match.group(1).upper()}"
    if match := _IO_CALL.search(where):
        return f"WHERE clause contains forbidden file I/O function: {match.group(1)}()"
    if where.count("'") % 2:
        return "WHERE clause has unmatched quotes"
    if where.count("(") != where.count(")"):
        return "WHERE clause has unmatched parentheses"
    return None


def is_full_table_delete(where: str) -> bool:
    return re.sub(r"\s+", "", where).upper() in _FULL_TABLE
