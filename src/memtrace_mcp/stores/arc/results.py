"""Arc's JSON query answer, read by column name and coerced by expected type.

Why coerce by type and not trust JSON: Arc prints DOUBLE ``1.0`` as ``1`` (an int to
Python), DECIMAL and HUGEINT (``sum()``) as strings, a column that drifted to VARCHAR
as strings, and timestamps as RFC 3339 with the fraction trimmed (golden q_types,
q_literal_types, wq_type_drift_all_varchar). Why by name: ``SELECT *`` column order is
not stable across Parquet files. Why ``columns: []`` is simply "no rows": that is how
Arc answers a table with no files, a missing database, a wrong-case name and even
``count(*)`` over nothing (q_missing_table, q_missing_database, q_table_wrong_case).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from .failures import ArcMalformedAnswer

Converter = Callable[[Any], Any]

_RFC3339 = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?"
    r"(Z|[+-]\d{2}(?::?\d{2})?)?"
)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def to_str(value: Any) -> str | None:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    raise ArcMalformedAnswer(f"expected text, got {type(value).__name__}")


def to_float(value: Any) -> float | None:
    """DOUBLE arrives as int or float, DECIMAL and drifted columns as strings."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise ArcMalformedAnswer("expected a number, got a boolean")
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            raise ArcMalformedAnswer("expected a number, got text") from None
    raise ArcMalformedAnswer(f"expected a number, got {type(value).__name__}")


def to_int(value: Any) -> int | None:
    """BIGINT arrives as int, HUGEINT (``sum()``) as a string, a widened one as 3.0."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise ArcMalformedAnswer("expected an integer, got a boolean")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        try:
            number = Decimal(value)
        except InvalidOperation:
            raise ArcMalformedAnswer("expected an integer, got text") from None
        if number == number.to_integral_value():
            return int(number)
    raise ArcMalformedAnswer("expected an integer")


def to_bool(value: Any) -> bool | None:
    if value is None or isinstance(value, bool):
        return value
    if value in ("true", "false"):
        return bool(value == "true")
    raise ArcMalformedAnswer(f"expected a boolean, got {type(value).__name__}")


def to_time_us(value: Any) -> int | None:
    """Microseconds since 1970 from an RFC 3339 string (``…00Z``, ``…00.123Z``,
    ``…00.123456Z``, or ``2026-01-15 10:00:00+00`` from a cast) or from an integer,
    which is taken as microseconds: what ``epoch_us(time)`` returns (q_epoch_us_select).
    No unit is guessed: ``1768471200`` in a µs column is 1970 (wq_time_units)."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise ArcMalformedAnswer("expected a timestamp, got a boolean")
    if isinstance(value, int):
        return value
    if not isinstance(value, str):
        raise ArcMalformedAnswer(f"expected a timestamp, got {type(value).__name__}")
    match = _RFC3339.fullmatch(value.strip())
    if not match:
        raise ArcMalformedAnswer("expected an RFC 3339 timestamp")
    year, month, day, hour, minute, second = (int(g) for g in match.groups()[:6])
    fraction, zone = match.group(7) or "", match.group(8) or "Z"
    try:
        moment = datetime(year, month, day, hour, minute, second, tzinfo=UTC)
    except ValueError:
        raise ArcMalformedAnswer("expected an RFC 3339 timestamp") from None
    if zone != "Z":
        sign = -1 if zone[0] == "-" else 1
        digits = zone[1:].replace(":", "")
        offset = timedelta(hours=int(digits[:2]), minutes=int(digits[2:] or 0))
        moment -= sign * offset
    delta = moment - _EPOCH
    micros = int((fraction + "000000")[:6])
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + micros


def to_datetime(value: Any) -> datetime | None:
    micros = to_time_us(value)
    return None if micros is None else _EPOCH + timedelta(microseconds=micros)


@dataclass(frozen=True, slots=True)
class QueryResult:
    """Rows of one query, values already coerced by the converters given to it."""

    columns: tuple[str, ...]
    rows: tuple[tuple[Any, ...], ...]

    @classmethod
    def from_arc(cls, body: Any, convert: Mapping[str, Converter] | None = None) -> QueryResult:
        if not isinstance(body, dict) or body.get("success") is not True:
            raise ArcMalformedAnswer("not a successful query answer")
        columns, data = body.get("columns"), body.get("data")
        if columns == []:
            return cls((), ())
        if not isinstance(columns, list) or not all(isinstance(c, str) for c in columns):
            raise ArcMalformedAnswer("columns is not a list of names")
        if not isinstance(data, list):
            raise ArcMalformedAnswer("data is not a list of rows")
        width = len(columns)
        converters = [(convert or {}).get(name) for name in columns]
        rows = []
        for row in data:
            if not isinstance(row, list) or len(row) != width:
                raise ArcMalformedAnswer("a row does not match the columns")
            rows.append(
                tuple(v if f is None else f(v) for f, v in zip(converters, row, strict=True))
            )
        return cls(tuple(columns), tuple(rows))

    def __len__(self) -> int:
        return len(self.rows)

    def records(self) -> list[dict[str, Any]]:
        """Each row as ``{column: value}``."""
        if len(set(self.columns)) != len(self.columns):
            raise ValueError("duplicate column names; alias them apart")
        return [dict(zip(self.columns, row, strict=True)) for row in self.rows]

    def column(self, name: str) -> list[Any]:
        """One column's values; an empty result has every column, empty."""
        if not self.columns:
            return []
        return [row[self.columns.index(name)] for row in self.rows]

    def scalar(self, default: Any = None) -> Any:
        """The first value of the first row (``count(*)`` over nothing gives no row)."""
        return self.rows[0][0] if self.rows else default
