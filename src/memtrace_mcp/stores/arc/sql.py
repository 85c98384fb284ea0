"""Every piece of SQL text that reaches Arc is built here; nothing else formats SQL.

Why a module of its own: Arc has no bound parameters (one ``sql`` string per request),
so every value is inlined, and three parsers read that text: Arc's validator and its
literal masker, Arc's table rewriter, and DuckDB. They disagree in one place: Arc's
masker takes ``\\'`` as an escaped quote, DuckDB reads a backslash literally and ends
the string there (golden ``q_backslash_end_literal_before_from``). The rules below keep
all three readers in step for ANY text, so no user text is ever refused for its words:

- a string literal holds no backslash: each one is spliced in as ``chr(92)``
  (golden ``q_chr92_concat``);
- it holds no ``--``, ``/*`` or ``*/`` either (split across ``||``), so a comment
  stripper that runs before the masker cannot swallow the closing quote;
- ``'`` is doubled (golden ``q_ilike_doubled_quote``); keywords, ``;`` and function
  names inside a literal are fine for the query validator (golden ``q_*_in_literal``);
- NUL and lone surrogates are refused: DuckDB parses a C string, UTF-8 only;
- numbers render so DuckDB types them right (``0.5e0`` is DOUBLE, ``0.5`` would be
  DECIMAL) and negatives are parenthesised so ``-`` never glues into ``--``;
- identifiers are pattern-checked and never quoted; reserved words are refused (an
  unquoted ``set`` alias is a 400, golden ``q_set_unquoted_alias``).

The delete endpoint is stricter: it scans its ``where`` raw, literals included, so
:func:`check_delete_where` refuses what Arc would refuse or silently ignore.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta

from ...errors import InvalidInputError

MAX_SQL_BYTES = 10_000  # counted in UTF-8 bytes (golden q_sql_multibyte_over_limit)
LIKE_ESCAPE = "!"

_IDENT = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,127}")
_DATABASE = re.compile(r"[A-Za-z][A-Za-z0-9_-]{0,63}")
_OPAQUE_ID = re.compile(r"[A-Za-z0-9_-]{1,128}")
_COMMENT_PAIRS = frozenset({("-", "-"), ("/", "*"), ("*", "/")})
_TIME_OPS = frozenset({"<", "<=", ">", ">=", "="})
_MAX_TIME_US = 253_402_300_799_999_999  # 9999-12-31T23:59:59.999999Z
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

RESERVED_DATABASES = frozenset({"system", "internal", "_internal"})
# DuckDB's reserved keywords, plus every bare word Arc's query validator refuses.
_RESERVED_TEXT = """
    all analyse analyze and any array as asc asymmetric both case cast check collate
    column constraint create default deferrable desc describe distinct do else end
    except false fetch for foreign from group having in initially intersect into
    lambda lateral leading limit not null offset on only or order pivot pivot_longer
    pivot_wider placing primary qualify references returning select show some
    summarize symmetric table then to trailing true union unique unpivot using
    variadic when where window with attach detach copy export import pragma set
    reset load install call drop delete truncate alter insert update exec execute
    secret
"""
RESERVED_WORDS = frozenset(_RESERVED_TEXT.split())
# Words Arc's delete validator refuses anywhere in ``where``, even inside literals
# (golden del_select_in_literal); ``xp_``/``sp_`` are not checked (del_*_accepted).
_DELETE_WORDS = re.compile(
    r"(?<![A-Za-z0-9])(DROP|DELETE|INSERT|UPDATE|EXEC|EXECUTE|UNION|SELECT|CREATE|ALTER|"
    r"COPY|ATTACH|DETACH|LOAD|INSTALL|PRAGMA|CALL|SET|TRUNCATE)(?![A-Za-z0-9])",
    re.IGNORECASE,
)
_IO_CALL = re.compile(r"\b(read_\w+|parquet_\w+|glob|delta_scan|iceberg_scan)\s*\(", re.IGNORECASE)
_FULL_TABLE = re.compile(r"\(*\s*(1\s*=\s*1|true|1)\s*\)*", re.IGNORECASE)


class SqlTooLargeError(InvalidInputError):
    """A statement would exceed Arc's 10,000-byte limit; the caller may narrow it."""


class Fragment(str):
    """SQL text made by this module, or a constant written in code. Never build one
    from caller text: free text enters SQL only through the literal functions."""

    __slots__ = ()


# --- identifiers -------------------------------------------------------------------


def identifier(name: str, *, field: str = "identifier") -> Fragment:
    """A measurement, column or alias name, safe to place unquoted."""
    if not isinstance(name, str) or not _IDENT.fullmatch(name):
        raise InvalidInputError(
            f"{field} must start with a letter and hold only letters, digits and '_' (at most 128)",
            field=field,
        )
    if name.lower() in RESERVED_WORDS:
        raise InvalidInputError(f"{field} must not be the SQL word {name!r}", field=field)
    return Fragment(name)


def database_name(name: str, *, field: str = "database") -> str:
    """A name for the ``x-arc-database`` header (it never appears in SQL text)."""
    if not isinstance(name, str) or not _DATABASE.fullmatch(name):
        raise InvalidInputError(
            f"{field} must start with a letter and hold only letters, digits, '_' or '-' "
            "(at most 64)",
            field=field,
        )
    if name.lower() in RESERVED_DATABASES:
        raise InvalidInputError(f"{field} {name!r} is reserved by Arc", field=field)
    return name


def opaque_id(value: str, *, field: str) -> Fragment:
    """A key such as a memory id, as a literal that even the delete validator takes."""
    if not isinstance(value, str) or not _OPAQUE_ID.fullmatch(value) or "--" in value:
        raise InvalidInputError(f"{field} must be an opaque id ([A-Za-z0-9_-])", field=field)
    if _DELETE_WORDS.search(value):
        raise InvalidInputError(f"{field} must not contain an SQL keyword", field=field)
    return string_literal(value, field=field)


# --- literals ----------------------------------------------------------------------


def _check_text(value: object, field: str) -> str:
    if not isinstance(value, str):
        raise InvalidInputError(f"{field} must be text", field=field)
    if "\x00" in value:
        raise InvalidInputError(f"{field} must not contain the NUL character", field=field)
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidInputError(f"{field} must be valid Unicode text", field=field) from None
    return value


def _quoted_pieces(text: str) -> list[str]:
    """Quote ``text`` (no backslash in it), cut so no comment marker spans a piece."""
    pieces: list[str] = []
    start = 0
    for i in range(1, len(text)):
        if (text[i - 1], text[i]) in _COMMENT_PAIRS:
            pieces.append(text[start:i])
            start = i
    pieces.append(text[start:])
    return ["'" + piece.replace("'", "''") + "'" for piece in pieces]


def string_literal(value: str, *, field: str) -> Fragment:
    """A VARCHAR expression equal to ``value`` in DuckDB and opaque to Arc's masker."""
    _check_text(value, field)
    parts: list[str] = []
    for i, chunk in enumerate(value.split("\\")):
        if i:
            parts.append("chr(92)")
        if chunk:
            parts.extend(_quoted_pieces(chunk))
    if not parts:
        return Fragment("''")
    if len(parts) == 1:
        return Fragment(parts[0])
    return Fragment("(" + " || ".join(parts) + ")")


def int_literal(value: int, *, field: str) -> Fragment:
    """A BIGINT; refused beyond int64, where Arc and DuckDB change type."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInputError(f"{field} must be an integer", field=field)
    if not -(2**63) <= value < 2**63:
        raise InvalidInputError(f"{field} is out of the 64-bit integer range", field=field)
    return Fragment(f"({value})" if value < 0 else str(value))


def float_literal(value: float, *, field: str) -> Fragment:
    """A DOUBLE: always an exponent, because ``0.7`` is DECIMAL(2,1) to DuckDB
    (golden wq_type_drift_numeric_compare_fails) and ``0.7e0`` is DOUBLE."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidInputError(f"{field} must be a number", field=field)
    number = float(value)
    if not math.isfinite(number):
        raise InvalidInputError(f"{field} must be a finite number", field=field)
    text = repr(number)
    if "e" not in text:
        text += "e0"
    return Fragment(f"({text})" if text.startswith("-") else text)


def bool_literal(value: bool, *, field: str) -> Fragment:
    if not isinstance(value, bool):
        raise InvalidInputError(f"{field} must be true or false", field=field)
    return Fragment("true" if value else "false")


def literal(value: str | int | float | bool, *, field: str) -> Fragment:
    """Dispatch on the Python type; ``bool`` is checked before ``int`` on purpose."""
    if isinstance(value, bool):
        return bool_literal(value, field=field)
    if isinstance(value, int):
        return int_literal(value, field=field)
    if isinstance(value, float):
        return float_literal(value, field=field)
    return string_literal(value, field=field)


def _check_time_us(time_us: int, field: str) -> int:
    if isinstance(time_us, bool) or not isinstance(time_us, int):
        raise InvalidInputError(f"{field} must be integer microseconds", field=field)
    if not 0 <= time_us <= _MAX_TIME_US:
        raise InvalidInputError(f"{field} is outside 1970..9999", field=field)
    return time_us


def timestamp_literal(time_us: int, *, field: str = "time") -> Fragment:
    """An RFC 3339 UTC string DuckDB casts to TIMESTAMPTZ (golden q_time_string_literal)."""
    dt = _EPOCH + timedelta(microseconds=_check_time_us(time_us, field))
    text = (
        f"{dt.year:04d}-{dt.month:02d}-{dt.day:02d}T{dt.hour:02d}:{dt.minute:02d}:{dt.second:02d}"
    )
    if dt.microsecond:
        text += f".{dt.microsecond:06d}"
    return Fragment(f"'{text}Z'")


def time_compare(
    op: str, time_us: int, *, column: str = "time", prunable: bool = False, field: str = "time"
) -> Fragment:
    """Compare Arc's ``time`` column with integer microseconds.

    Default ``epoch_us(time) >= N``: Arc's partition pruner does not parse it, so it
    scans every file and is always fresh (golden cache_epoch_predicate_fresh,
    q_time_epoch_us). ``prunable=True`` renders ``time >= '…Z'``, which Arc prunes by
    hour directory but answers from a 30-60 s path cache: it misses new hours
    (cache_time_query_*) and returns NO rows after a delete empties a cached hour
    (cache_del_time_query_*). Use it only where a stale answer is acceptable.
    """
    if op not in _TIME_OPS:
        raise ValueError(f"unsupported time operator {op!r}")
    col = identifier(column, field="column")
    if prunable:
        return Fragment(f"{col} {op} {timestamp_literal(time_us, field=field)}")
    return Fragment(f"epoch_us({col}) {op} {_check_time_us(time_us, field)}")


# --- predicates --------------------------------------------------------------------


def eq(column: str, value: str | int | float | bool, *, field: str) -> Fragment:
    return Fragment(f"{identifier(column, field='column')} = {literal(value, field=field)}")


def null_safe(predicate: Fragment) -> Fragment:
    """``coalesce((p), false)``: NULL counts as false. Arc's delete keeps ``NOT (p)``,
    so a bare ``user_id = 'u1'`` also drops every row whose user_id is NULL
    (golden del_null_trap); the wrapped form does not (del_null_safe)."""
    return Fragment(f"coalesce(({predicate}), false)")


def in_list(column: str, values: Iterable[str | int], *, field: str) -> Fragment:
    """``column IN (…)`` in one piece; see :func:`chunk_in_list` for long lists."""
    rendered = list(dict.fromkeys(literal(v, field=field) for v in values))
    if not rendered:
        raise InvalidInputError(f"{field} must not be empty", field=field)
    return Fragment(f"{identifier(column, field='column')} IN ({', '.join(rendered)})")


def chunk_in_list(
    values: Iterable[str | int],
    build: Callable[[Fragment], str],
    *,
    field: str,
    max_bytes: int = MAX_SQL_BYTES,
) -> list[str]:
    """Split ``values`` so each ``build(list_body)`` stays within ``max_bytes``.

    ``build`` receives the comma-separated literals and must embed them exactly once,
    e.g. ``lambda body: f"SELECT … WHERE memory_id IN ({body}) ORDER BY time"``.
    Duplicates are dropped; no values gives no statements (``IN ()`` is a syntax error).
    """
    rendered = list(dict.fromkeys(literal(v, field=field) for v in values))
    if not rendered:
        return []
    base = _nbytes(build(Fragment("")))
    statements: list[str] = []
    current: list[str] = []
    size = base
    for lit in rendered:
        cost = _nbytes(lit) + (2 if current else 0)
        if current and size + cost > max_bytes:
            statements.append(build(Fragment(", ".join(current))))
            current, size, cost = [], base, _nbytes(lit)
        if base + _nbytes(lit) > max_bytes:
            raise SqlTooLargeError(f"a {field} value is too long for one query", field=field)
        current.append(lit)
        size += cost
    statements.append(build(Fragment(", ".join(current))))
    for sql in statements:
        if _nbytes(sql) > max_bytes:
            raise ValueError("build() must embed the list exactly once")
    return statements


def like_contains_pattern(text: str) -> str:
    """A LIKE pattern matching ``text`` anywhere, with ``!`` as the escape character.

    Not ``\\``: the literal ``'\\'`` puts a backslash before a quote, which
    desynchronises Arc's masker for everything after it.
    """
    escaped = text.replace("!", "!!").replace("%", "!%").replace("_", "!_")
    return f"%{escaped}%"


def ilike_contains(column: str, text: str, *, field: str) -> Fragment:
    """Case-insensitive substring by ILIKE. Prefer :func:`contains_ci`, the form the
    recordings prove through Arc; this one's ``ESCAPE '!'`` is not recorded."""
    pattern = string_literal(like_contains_pattern(_check_text(text, field)), field=field)
    return Fragment(f"{identifier(column, field='column')} ILIKE {pattern} ESCAPE '!'")


def contains_ci(column: str, text: str, *, field: str) -> Fragment:
    """Case-insensitive substring with no wildcard characters at all:
    ``strpos(lower(col), lower('…')) > 0`` (golden q_strpos). DuckDB's ``lower`` folds
    Unicode one character at a time (É→é, not ß→ss), the same on both sides."""
    col = identifier(column, field="column")
    return Fragment(f"strpos(lower({col}), lower({string_literal(text, field=field)})) > 0")


# --- statements --------------------------------------------------------------------


def _nbytes(sql: str) -> int:
    return len(sql.encode("utf-8"))


def ensure_fits(sql: str, *, field: str = "query") -> str:
    """Refuse a statement Arc would refuse for length (400, q_sql_10001_chars)."""
    if not sql.strip():
        raise ValueError("empty SQL")
    if _nbytes(sql) > MAX_SQL_BYTES:
        raise SqlTooLargeError(f"{field} is too large for one Arc query", field=field)
    return sql


def check_delete_where(where: str) -> str:
    """Refuse a delete predicate Arc would reject (400) or silently ignore (200 with
    ``deleted_count: 0``: a leading ``WHERE``, golden del_where_prefixed)."""
    text = where.strip()

    def bad(why: str) -> InvalidInputError:
        return InvalidInputError(f"delete condition {why}", field="where")

    if not text:
        raise bad("is empty")
    if re.match(r"where\b", text, re.IGNORECASE):
        raise bad("must not start with WHERE")
    for pattern in (";", "--", "/*"):
        if pattern in text:
            raise bad(f"must not contain {pattern!r}")
    if text.count("'") % 2 or text.count("(") != text.count(")"):
        raise bad("is unbalanced")
    if match := _DELETE_WORDS.search(text):
        raise bad(f"must not contain the word {match.group(1).upper()}")
    if _IO_CALL.search(text):
        raise bad("must not call a file function")
    if _FULL_TABLE.fullmatch(text):
        raise bad("would delete the whole table")
    return text
