"""Arc's SQL rewriting: table names become ``read_parquet(...)`` over the Parquet files.

This copies Arc v26.06.3's regex-based rewriter closely, because its quirks reach
the client:
- ``memories a JOIN memories b`` loses the space before JOIN (``aJOIN``) -> 500;
- with ``x-arc-database`` set, ``FROM range(10)`` is taken for a table -> 500;
- ``DESCRIBE memories`` is not rewritten -> 500 Catalog Error;
- a literal ending in a backslash before FROM hides the table from the rewriter;
- any text ``read_parquet`` (even inside a literal) switches rewriting off;
- ``date_trunc``/``time_bucket`` become Arc's epoch arithmetic (see ``_epoch_bucket``).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime

from .sql_validator import mask_literals, strip_comments, unmask_literals

_A = re.ASCII | re.IGNORECASE
_DB_TABLE = re.compile(r"\bFROM\s+([a-zA-Z0-9_]+)\.([a-zA-Z0-9_]+)\b", _A)
_SIMPLE_TABLE = re.compile(r"\bFROM\s+([a-zA-Z_][a-zA-Z0-9_]*)\b", _A)
_JOIN_PREFIX = (
    r"\b(?:(?:LEFT|RIGHT|INNER|OUTER|CROSS|NATURAL)?\s*)?(?:LATERAL\s+)?JOIN\s+(?:LATERAL\s+)?"
)
_JOIN_DB_TABLE = re.compile(_JOIN_PREFIX + r"([a-zA-Z0-9_]+)\.([a-zA-Z0-9_]+)\b", _A)
_JOIN_SIMPLE_TABLE = re.compile(_JOIN_PREFIX + r"([a-zA-Z_][a-zA-Z0-9_]*)\b", _A)
_CTE_NAMES = re.compile(r"\bWITH\s+(?:RECURSIVE\s+)?(\w+)\s+AS\s*\(|,\s*(\w+)\s+AS\s*\(", _A)
_SKIP_PREFIXES = ("read_parquet", "information_schema", "pg_", "duckdb_")

_INTERVAL_UNITS = r"(second|seconds|minute|minutes|hour|hours|day|days|week|weeks|month|months)"
_TIME_BUCKET_3 = re.compile(
    rf"\btime_bucket\s*\(\s*(?:INTERVAL\s*)?'(\d+)\s*{_INTERVAL_UNITS}'\s*,\s*([^,]+)\s*,"
    r"\s*(?:TIMESTAMP\s*)?'([^']+)'\s*\)",
    _A,
)
_TIME_BUCKET_2 = re.compile(
    rf"\btime_bucket\s*\(\s*(?:INTERVAL\s*)?'(\d+)\s*{_INTERVAL_UNITS}'\s*,\s*([^,)]+)\)", _A
)
_DATE_TRUNC = re.compile(
    r"\bdate_trunc\s*\(\s*'(second|minute|hour|day|week|month)'\s*,\s*([^)]+)\)", _A
)
_SECONDS = {"second": 1, "minute": 60, "hour": 3600, "day": 86400, "week": 604800}

SHOW_DATABASES = re.compile(r"^\s*SHOW\s+DATABASES\s*;?\s*$", _A)
SHOW_TABLES = re.compile(r"^\s*SHOW\s+(?:TABLES|MEASUREMENTS)(?:\s+FROM\s+([\w-]+))?\s*;?\s*$", _A)


def has_cross_database_syntax(sql: str) -> bool:
    """``FROM x.y`` or ``JOIN x.y`` anywhere, literals included (Arc does not mask here)."""
    lower = sql.lower()
    for keyword in ("from ", "join "):
        for found in re.finditer(re.escape(keyword), lower):
            i = found.end()
            while i < len(sql) and sql[i] in " \t\n":
                i += 1
            start = i
            while i < len(sql) and (sql[i].isascii() and (sql[i].isalnum() or sql[i] == "_")):
                i += 1
            if i > start and i + 1 < len(sql) and sql[i] == "." and _ident_char(sql[i + 1]):
                return True
    return False


def _ident_char(ch: str) -> bool:
    return ch.isascii() and (ch.isalnum() or ch == "_")


def _is_single_table(lower: str) -> bool:
    if lower.count("from ") != 1 or " join " in lower:
        return False
    rest = lower[lower.index("from ") + 5 :].lstrip(" \t\n")
    return not rest.startswith("(")


def _seconds(amount: str, unit: str) -> int:
    """0 for months: Arc leaves variable-length buckets alone."""
    return int(amount) * _SECONDS.get(unit.lower().removesuffix("s"), 0)


def _epoch_bucket(column: str, seconds: int, origin: int | None = None) -> str:
    """Arc's replacement text, verbatim. DuckDB's ``/`` on BIGINT is float division, so
    it does not truncate (taken from Arc's source, not recorded; see the README)."""
    epoch = f"epoch({column.strip()})::BIGINT"
    if origin is None:
        return f"to_timestamp(({epoch} / {seconds}) * {seconds})"
    return f"to_timestamp({origin} + (({epoch} - {origin}) / {seconds}) * {seconds})"


def rewrite_time_functions(sql: str) -> str:
    """Arc's rewrite of time_bucket() and date_trunc() into epoch arithmetic."""
    lower = sql.lower()
    if "time_bucket" in lower:

        def bucket3(m: re.Match[str]) -> str:
            seconds, origin = _seconds(m.group(1), m.group(2)), _parse_origin(m.group(4))
            if not seconds or origin is None:
                return m.group(0)
            return _epoch_bucket(m.group(3), seconds, origin)

        def bucket2(m: re.Match[str]) -> str:
            seconds = _seconds(m.group(1), m.group(2))
            return _epoch_bucket(m.group(3), seconds) if seconds else m.group(0)

        sql = _TIME_BUCKET_2.sub(bucket2, _TIME_BUCKET_3.sub(bucket3, sql))
    if "date_trunc" in lower:

        def trunc(m: re.Match[str]) -> str:
            seconds = _seconds("1", m.group(1))
            return _epoch_bucket(m.group(2), seconds) if seconds else m.group(0)

        sql = _DATE_TRUNC.sub(trunc, sql)
    return sql


_ORIGIN_LAYOUTS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d")


def _parse_origin(text: str) -> int | None:
    text = text.removesuffix("Z")  # Arc also accepts these layouts with a trailing Z
    for layout in _ORIGIN_LAYOUTS:
        try:
            return int(datetime.strptime(text, layout).replace(tzinfo=UTC).timestamp())
        except ValueError:
            continue
    return None


class TableRewriter:
    """Turns table names into read_parquet over ``<root>/<db>/<table>/**/*.parquet``.

    ``locate(db, table, sql)`` returns the path or pruned path list for one table
    (the partition pruner plugs in there).
    """

    def __init__(self, locate: Callable[[str, str, str], str | list[str]]) -> None:
        self._locate = locate

    def rewrite(self, sql: str, header_db: str) -> str:
        lower = sql.lower()
        if "read_parquet" in lower or ("from" not in lower and "join" not in lower):
            return sql
        if header_db:
            return self._with_header_db(sql, header_db)
        return self._without_header_db(sql)

    def _read_parquet(self, keyword: str, db: str, table: str, original_sql: str) -> str:
        located = self._locate(db, table, original_sql)
        paths = located if isinstance(located, list) else [located]
        quoted = ", ".join("'" + p.replace("'", "''") + "'" for p in paths)
        target = f"[{quoted}]" if isinstance(located, list) else quoted
        return f"{keyword} read_parquet({target}, union_by_name=true)"

    def _with_header_db(self, sql: str, db: str) -> str:
        original, lower = sql, sql.lower()
        if _is_single_table(lower) and "with " not in lower and not _has_quotes_or_comments(sql):
            return self._single_table(rewrite_time_functions(sql), db)
        sql = rewrite_time_functions(sql)
        masked, masks = mask_literals(sql)
        masked = strip_comments(masked)
        ctes = _cte_names(masked) if "with " in masked.lower() else set()
        masked = self._replace_simple(_SIMPLE_TABLE, "FROM", masked, db, ctes, original)
        masked = self._replace_simple(_JOIN_SIMPLE_TABLE, "JOIN", masked, db, ctes, original)
        return unmask_literals(masked, masks)

    def _without_header_db(self, sql: str) -> str:
        original = sql
        sql = rewrite_time_functions(sql)
        masked, masks = mask_literals(sql)
        masked = strip_comments(masked)
        ctes = _cte_names(masked)
        for pattern, keyword in ((_DB_TABLE, "FROM"), (_JOIN_DB_TABLE, "JOIN")):
            masked = pattern.sub(
                lambda m, kw=keyword: self._read_parquet(kw, m.group(1), m.group(2), original),
                masked,
            )
        # Unqualified names mean database "default" when the header is absent.
        masked = self._replace_simple(_SIMPLE_TABLE, "FROM", masked, "default", ctes, original)
        masked = self._replace_simple(_JOIN_SIMPLE_TABLE, "JOIN", masked, "default", ctes, original)
        return unmask_literals(masked, masks)

    def _replace_simple(
        self,
        pattern: re.Pattern[str],
        keyword: str,
        sql: str,
        db: str,
        ctes: set[str],
        original: str,
    ) -> str:
        lower = sql.lower()

        def replace(m: re.Match[str]) -> str:
            table = m.group(1)
            if table.lower() in ctes or table.lower().startswith(_SKIP_PREFIXES):
                return m.group(0)
            # Arc looks up the first occurrence of the matched text, not this one.
            at = lower.find(m.group(0).lower())
            if at >= 0:
                after = sql[at + len(m.group(0)) :].lstrip(" \t")
                if after[:1] in (".", "("):
                    return m.group(0)
            return self._read_parquet(keyword, db, table, original)

        return pattern.sub(replace, sql)

    def _single_table(self, sql: str, db: str) -> str:
        """Arc's fast path: the first ``from `` and the identifier after it, no checks."""
        lower = sql.lower()
        at = lower.find("from ")
        start = at + 5
        while start < len(sql) and sql[start] in " \t\n":
            start += 1
        end = start
        while end < len(sql) and _ident_char(sql[end]):
            end += 1
        table = sql[start:end]
        if not table or table.lower().startswith(_SKIP_PREFIXES):
            return sql
        return sql[:at] + self._read_parquet("FROM", db, table, sql) + sql[end:]


def _has_quotes_or_comments(sql: str) -> bool:
    return "'" in sql or '"' in sql or "--" in sql or "/*" in sql


def _cte_names(sql: str) -> set[str]:
    return {(a or b).lower() for a, b in _CTE_NAMES.findall(sql)}
