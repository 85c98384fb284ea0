"""Arc's rendering of query results: typed JSON rows and the columnar msgpack form.

The JSON matches Arc v26.06.3 byte for byte where the golden file keeps raw text:
DOUBLE in shortest form without exponent (``1.0`` -> ``1``, ``1e-7`` ->
``0.0000001``, ``-0.0`` -> ``-0``), NaN/Inf as null, DECIMAL and HUGEINT as strings,
timestamps and dates as RFC3339 UTC with trailing zeros trimmed, nested values as
JSON text strings, strings escaped like Go's encoding/json.
"""

from __future__ import annotations

import math
import re
import struct
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import msgpack

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_INT_TYPES = {
    "tinyint": "int8",
    "smallint": "int16",
    "integer": "int32",
    "bigint": "int64",
    "utinyint": "uint8",
    "usmallint": "uint16",
    "uinteger": "uint32",
    "ubigint": "uint64",
}
_TIMESTAMP_TYPES = {
    "timestamp": "timestamp[us]",
    "timestamp with time zone": "timestamp[us, tz=Etc/UTC]",
    "timestamp_ms": "timestamp[ms]",
    "timestamp_s": "timestamp[s]",
}
_NESTED = {"list", "struct", "map", "array", "union"}


@dataclass(frozen=True)
class Kind:
    """How one result column is fetched (a DuckDB projection) and rendered."""

    name: str
    arrow_type: str
    projection: str = "{col}"


def classify(type_id: str, type_text: str) -> Kind:
    """DuckDB type (``DuckDBPyType.id`` and ``str()``) -> Kind."""
    if type_id == "boolean":
        return Kind("bool", "bool")
    if type_id in _INT_TYPES:
        return Kind("int", _INT_TYPES[type_id])
    if type_id in ("hugeint", "uhugeint"):
        return Kind("text", "decimal128(38, 0)")
    if type_id in ("float", "double"):
        return Kind(
            "float32" if type_id == "float" else "float",
            "float32" if type_id == "float" else "float64",
        )
    if type_id == "decimal":
        precision, scale = re.findall(r"\d+", type_text)[:2]
        return Kind("decimal", f"decimal128({precision}, {scale})")
    if type_id in _TIMESTAMP_TYPES:
        return Kind("ts_us", _TIMESTAMP_TYPES[type_id], "epoch_us({col})")
    if type_id == "timestamp_ns":
        return Kind("ts_ns", "timestamp[ns]", "epoch_ns({col})")
    if type_id == "date":
        return Kind("date", "date32[day]")
    if type_id == "interval":
        parts = (
            "[datepart('year', {col}) * 12 + datepart('month', {col}), datepart('day', {col}),"
            " (datepart('hour', {col}) * 3600 + datepart('minute', {col}) * 60) * 1000000000"
            " + datepart('microseconds', {col}) * 1000]"
        )
        return Kind("interval", "month_day_nano_interval", parts)
    if type_id in _NESTED:
        return Kind("text", type_id, "to_json({col})::VARCHAR")
    if type_id == "blob":
        return Kind("blob", "binary")
    if type_id == "null":
        return Kind("null", "int32")  # DuckDB hands a NULL column to Arrow as INTEGER
    if type_id in ("varchar", "enum"):
        return Kind("text", "utf8")
    return Kind("text", "utf8", "CAST({col} AS VARCHAR)")


# ---------------- scalar formatting ----------------
def go_float(value: float) -> str | None:
    """strconv.FormatFloat(v, 'f', -1, 64); None for NaN and Inf (rendered null)."""
    if math.isnan(value) or math.isinf(value):
        return None
    text = format(Decimal(repr(value)), "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


def go_float32(value: float) -> str | None:
    """The shortest text that reads back as the same float32."""
    if math.isnan(value) or math.isinf(value):
        return None
    target = struct.unpack("f", struct.pack("f", value))[0]
    for digits in range(1, 10):
        candidate = float(f"{value:.{digits}g}")
        if struct.unpack("f", struct.pack("f", candidate))[0] == target:
            return go_float(candidate)
    return go_float(value)


def rfc3339_from_units(value: int, per_second: int) -> str:
    """RFC3339Nano in UTC with the fraction's trailing zeros trimmed."""
    seconds, fraction = divmod(value, per_second)
    try:
        text = (_EPOCH + timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%S")
    except OverflowError:
        return str(value)
    if fraction:
        width = len(str(per_second)) - 1
        text += "." + f"{fraction:0{width}d}".rstrip("0")
    return text + "Z"


_JSON_ESCAPES = {c: f"\\u{c:04x}" for c in range(0x20)}
_JSON_ESCAPES.update(
    {
        ord('"'): '\\"',
        ord("\\"): "\\\\",
        ord("\n"): "\\n",
        ord("\r"): "\\r",
        ord("\t"): "\\t",
        ord("<"): "\\u003c",
        ord(">"): "\\u003e",
        ord("&"): "\\u0026",
        0x2028: "\\u2028",
        0x2029: "\\u2029",
    }
)


def json_string(text: str) -> str:
    """A JSON string literal escaped the way Go's encoding/json escapes it."""
    return '"' + text.translate(_JSON_ESCAPES) + '"'


def _interval_json(parts: Sequence[int]) -> str:
    months, days, nanos = parts
    return f'{{"months":{months},"days":{days},"nanoseconds":{nanos}}}'


def _date_text(value: date) -> str:
    return f"{value.isoformat()}T00:00:00Z"


def _as_text(value: object) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, Decimal):
        return format(value, "f")
    return str(value)


def _json_float(value: object, formatter: Callable[[float], str | None]) -> str:
    return formatter(float(value)) or "null"  # type: ignore[arg-type]


_JSON: dict[str, Callable[[object], str]] = {
    "bool": lambda v: "true" if v else "false",
    "int": str,
    "float": lambda v: _json_float(v, go_float),
    "float32": lambda v: _json_float(v, go_float32),
    "decimal": lambda v: json_string(_as_text(v)),
    "ts_us": lambda v: json_string(rfc3339_from_units(v, 1_000_000)),  # type: ignore[arg-type]
    "ts_ns": lambda v: json_string(rfc3339_from_units(v, 1_000_000_000)),  # type: ignore[arg-type]
    "date": lambda v: json_string(_date_text(v)),  # type: ignore[arg-type]
    "interval": lambda v: json_string(_interval_json(v)),  # type: ignore[arg-type]
    "blob": lambda v: json_string(_as_text(v)),
    "null": lambda v: "null",
    "text": lambda v: json_string(_as_text(v)),
}


def json_rows(kinds: Sequence[Kind], rows: Sequence[Sequence[object]]) -> str:
    renderers = [_JSON[k.name] for k in kinds]
    out = []
    for row in rows:
        cells = (
            "null" if v is None else render(v) for render, v in zip(renderers, row, strict=True)
        )
        out.append("[" + ",".join(cells) + "]")
    return "[" + ",".join(out) + "]"


def query_json(
    columns: Sequence[str],
    kinds: Sequence[Kind],
    rows: Sequence[Sequence[object]],
    ms: int,
    ts: str,
) -> bytes:
    """Arc's success envelope, keys in Arc's order."""
    cols = "[" + ",".join(json_string(c) for c in columns) + "]"
    return (
        f'{{"success":true,"columns":{cols},"data":{json_rows(kinds, rows)},'
        f'"row_count":{len(rows)},"execution_time_ms":{ms},"timestamp":{json_string(ts)}}}'
    ).encode()


def query_error(message: str, ms: int, ts: str) -> dict[str, object]:
    return {
        "success": False,
        "columns": None,
        "data": None,
        "row_count": 0,
        "execution_time_ms": ms,
        "timestamp": ts,
        "error": message,
    }


# ---------------- msgpack ----------------
def _timestamp(units: int, per_second: int) -> msgpack.Timestamp:
    return msgpack.Timestamp.from_unix_nano(units * (1_000_000_000 // per_second))


_MSGPACK: dict[str, Callable[[object], object]] = {
    "ts_us": lambda v: _timestamp(v, 1_000_000),  # type: ignore[arg-type]
    "ts_ns": lambda v: _timestamp(v, 1_000_000_000),  # type: ignore[arg-type]
    "date": lambda v: msgpack.Timestamp.from_datetime(
        datetime.combine(v, datetime.min.time(), UTC)
    ),  # type: ignore[arg-type]
    "decimal": _as_text,
    "interval": lambda v: dict(zip(("months", "days", "nanoseconds"), v, strict=True)),  # type: ignore[arg-type]
    "text": _as_text,
}


def query_msgpack(
    columns: Sequence[str],
    kinds: Sequence[Kind],
    rows: Sequence[Sequence[object]],
    ms: int,
    ts: str,
) -> bytes:
    """Arc's msgpack envelope: one array per column, Arrow type names in ``types``."""
    data = []
    for index, kind in enumerate(kinds):
        convert = _MSGPACK.get(kind.name)
        values = [row[index] for row in rows]
        data.append([v if v is None or convert is None else convert(v) for v in values])
    envelope = {
        "success": True,
        "columns": list(columns),
        "types": [k.arrow_type for k in kinds],
        "data": data,
        "row_count": len(rows),
        "execution_time_ms": ms,
        "timestamp": ts,
    }
    return msgpack.packb(envelope, datetime=False)


def msgpack_error(message: str, ms: int, ts: str) -> bytes:
    return msgpack.packb(
        {"success": False, "error": message, "execution_time_ms": ms, "timestamp": ts}
    )
