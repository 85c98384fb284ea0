"""Columnar msgpack write bodies, checked before they leave the process.

Why so strict: Arc answers 204 to several bodies that later lose or corrupt data, and
500 to others (golden README, "What is dangerous for a client"). Everything below is
refused or repaired here, where the error can still name the column:

- a zero-row batch (err_empty_arrays_*: the next flush fails and the batch is lost);
- a column named ``""`` or ``_x`` (err_empty_column_name_*: a panic that can kill Arc;
  write_underscore_column: silently dropped);
- a ``time`` that Arc would read in another unit: the unit is guessed from the FIRST
  value only (wq_time_units), so every value must be integer microseconds;
- mixed types in a column (write_*_then_*: 500; write_int_then_float: silent
  truncation), lists, maps, bytes and integers past int64 (write_*_value: 500);
- an all-null numeric column: Arc leaves it out (v26.06.3) or writes it as VARCHAR
  (26.09), which later turns the whole column into text (wq_type_drift_all_varchar).
  Such a column is dropped from the batch instead.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any, Literal

import msgpack  # type: ignore[import-untyped]

from ...errors import InvalidInputError
from .sql import identifier

ColumnType = Literal["string", "float", "int", "bool"]
TimeUnit = Literal["s", "ms", "us", "ns"]

_MIN_TIME_US = 10**13  # below this Arc reads milliseconds (1970-04-26 in µs)
_MAX_TIME_US = 10**16  # from this on Arc reads nanoseconds (2286 in µs)
_INT64 = (-(2**63), 2**63 - 1)


def arc_time_unit(value: int | float) -> TimeUnit:
    """The unit Arc assumes for a ``time`` value of this size (golden wq_time_units)."""
    magnitude = abs(value)
    if magnitude < 1e10:
        return "s"
    if magnitude < 1e13:
        return "ms"
    if magnitude < 1e16:
        return "us"
    return "ns"


def _bad(column: str, why: str) -> InvalidInputError:
    return InvalidInputError(f"column {column!r} {why}", field=column)


def _check_times(values: list[object]) -> list[object]:
    for value in values:
        if isinstance(value, bool) or not isinstance(value, int):
            raise _bad("time", "must hold integer microseconds")
        if not _MIN_TIME_US <= value < _MAX_TIME_US:
            raise _bad("time", "must be microseconds since 1970 (Arc guesses units by size)")
    return values


def _kind(value: object, column: str) -> ColumnType:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float"
    if isinstance(value, str):
        return "string"
    raise _bad(column, f"holds an unsupported {type(value).__name__} value")


def _infer(values: list[object], column: str) -> ColumnType | None:
    kinds = {_kind(v, column) for v in values if v is not None}
    if not kinds:
        return None
    if kinds == {"int", "float"}:
        return "float"  # an int-typed column would truncate the floats
    if len(kinds) > 1:
        raise _bad(column, f"mixes {' and '.join(sorted(kinds))} values")
    return kinds.pop()


def _coerce(value: object, kind: ColumnType, column: str) -> object:
    if value is None:
        return None
    if kind == "float":
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise _bad(column, "must hold numbers")
        number = float(value)
        if not math.isfinite(number):
            raise _bad(column, "must hold finite numbers")
        return number
    if kind == "int":
        if isinstance(value, bool) or not isinstance(value, int):
            raise _bad(column, "must hold integers")
        if not _INT64[0] <= value <= _INT64[1]:
            raise _bad(column, "holds an integer outside 64 bits")
        return value
    if kind == "bool":
        if not isinstance(value, bool):
            raise _bad(column, "must hold true or false")
        return value
    if not isinstance(value, str):
        raise _bad(column, "must hold text")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise _bad(column, "holds text that is not valid Unicode") from None
    return value


def check_columns(
    columns: Mapping[str, Sequence[object]],
    types: Mapping[str, ColumnType] | None = None,
) -> dict[str, list[Any]]:
    """The columns Arc should get: validated, floats as floats, all-null numbers dropped.

    ``types`` pins a column's type; without it the type is inferred from the values,
    and ints mixed with floats become floats. Pin float columns whose values may all
    be whole numbers (``importance=1``) so they are never written as BIGINT.
    """
    if not isinstance(columns, Mapping) or "time" not in columns:
        raise InvalidInputError("a write needs a 'time' column", field="time")
    if types and "time" in types:
        raise ValueError("'time' is always integer microseconds")
    lists: dict[str, list[object]] = {}
    for name, values in columns.items():
        if not isinstance(name, str) or not name or name.startswith("_"):
            raise InvalidInputError("column names must be non-empty and not start with '_'")
        identifier(name, field=name)
        if isinstance(values, str | bytes) or not isinstance(values, Sequence):
            raise _bad(name, "must be a list of values")
        lists[name] = list(values)
    rows = len(lists["time"])
    if rows == 0:
        raise InvalidInputError("a write needs at least one row", field="time")
    for name, values in lists.items():
        if len(values) != rows:
            raise _bad(name, f"has {len(values)} values, 'time' has {rows}")
    out: dict[str, list[Any]] = {"time": _check_times(lists.pop("time"))}
    for name, values in lists.items():
        declared = (types or {}).get(name)
        kind = declared or _infer(values, name)
        if all(v is None for v in values) and kind != "string":
            continue  # see the module docstring: never an all-null numeric column
        assert kind is not None
        out[name] = [_coerce(v, kind, name) for v in values]
    return out


def write_body(
    measurement: str,
    columns: Mapping[str, Sequence[object]],
    types: Mapping[str, ColumnType] | None = None,
) -> bytes:
    """One columnar map per request: batch and array forms skip bad items with a 204
    (golden write_array_item_skipped)."""
    name = identifier(measurement, field="measurement")
    body = {"m": str(name), "columns": check_columns(columns, types)}
    packed: bytes = msgpack.packb(body, use_bin_type=True)
    return packed
