"""Decoding ``POST /api/v1/write/msgpack`` bodies with Arc v26.06.3's rules and errors.

Arc's messages name Go types (``int8``, ``[]interface {}``); a value's Go type after
decoding follows from the smallest msgpack encoding of the value, which is what
msgpack-python and Go's msgpack both send, so it is inferred from the value.
"""

from __future__ import annotations

import re
import time
import zlib

import msgpack

from .storage import Batch

INT64_MAX = 2**63 - 1
_MEASUREMENT = re.compile(r"^[A-Za-z][A-Za-z0-9_-]*$")
_DATABASE = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,63}$")
_NAME_RULE = (
    "must start with a letter and contain only alphanumeric characters, underscores, or hyphens"
)
DATABASE_NAME_ERROR = f"invalid database name: {_NAME_RULE} (max 64 characters)"


class WriteError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message


def valid_database_name(name: str) -> bool:
    return bool(_DATABASE.match(name))


def go_type(value: object) -> str:
    """The Go type Arc's msgpack decoder produces for this value."""
    if value is None:
        return "<nil>"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        if value >= 0:
            for bits, limit in ((8, 127), (8, 255), (16, 65535), (32, 2**32 - 1)):
                if value <= limit:
                    return "int8" if limit == 127 else f"uint{bits}"
            return "uint64"
        for bits in (8, 16, 32):
            if value >= -(2 ** (bits - 1)):
                return f"int{bits}"
        return "int64"
    names = {
        float: "float64",
        str: "string",
        bytes: "[]uint8",
        list: "[]interface {}",
        dict: "map[string]interface {}",
        msgpack.Timestamp: "time.Time",
    }
    return names.get(type(value), type(value).__name__)


def decode(body: bytes, max_bytes: int, limit_text: str) -> list[Batch]:
    """Body -> typed batches, or WriteError with Arc's status and message."""
    if not body:
        raise WriteError(400, "Empty payload")
    body = _decompress(body, max_bytes, limit_text)
    try:
        unpacker = msgpack.Unpacker(
            raw=False, unicode_errors="replace", strict_map_key=False, max_buffer_size=len(body) + 1
        )
        unpacker.feed(body)
        payload = unpacker.unpack()  # Go decodes the first value and ignores what follows
    except msgpack.OutOfData:
        raise WriteError(
            400, "Invalid MessagePack payload: failed to unmarshal msgpack: EOF"
        ) from None
    except Exception:  # msgpack raises several unrelated types for bad codes
        code = body[0] if body else 0
        raise WriteError(
            400,
            "Invalid MessagePack payload: failed to unmarshal msgpack: "
            f"msgpack: unknown code {code:x} decoding interface{{}}",
        ) from None
    if isinstance(payload, dict) and "batch" in payload:
        items, lenient = payload["batch"] if isinstance(payload["batch"], list) else [], True
    elif isinstance(payload, dict):
        items, lenient = [payload], False
    elif isinstance(payload, list):
        items, lenient = payload, True
    else:
        raise WriteError(
            400,
            f"Invalid MessagePack payload: unsupported msgpack payload type: {go_type(payload)}",
        )
    decoded = []
    for item in items:
        try:
            decoded.append(_decode_item(item))
        except WriteError:
            # In batch and array form Arc logs a bad item, skips it, and still answers 204.
            if not lenient:
                raise
    # Name checks run after every item decoded, so one bad name rejects the whole batch.
    for measurement, _times, _columns in decoded:
        if not _MEASUREMENT.match(measurement) or len(measurement) > 128:
            raise WriteError(400, f'invalid measurement name "{measurement}": {_NAME_RULE}')
    return [_typed_batch(*item) for item in decoded]


def _decompress(body: bytes, max_bytes: int, limit_text: str) -> bytes:
    if body[:2] == b"\x1f\x8b":
        if len(body) < 10 or body[2] != 8:
            raise WriteError(400, "Invalid gzip compression: gzip: invalid header")
        inflater = zlib.decompressobj(wbits=31)
        try:
            out = inflater.decompress(body, max_bytes + 1)
        except zlib.error:
            raise WriteError(400, "Invalid gzip compression: unexpected EOF") from None
        if len(out) > max_bytes:
            raise WriteError(
                400, f"Invalid gzip compression: decompressed payload exceeds {limit_text} limit"
            )
        if not inflater.eof:
            raise WriteError(400, "Invalid gzip compression: unexpected EOF")
        return out
    if body[:4] == b"\x28\xb5\x2f\xfd":
        raise WriteError(
            400, "Invalid zstd compression: zstd bodies are not supported by the Arc stand-in"
        )
    return body


def _decode_item(item: object) -> tuple[str, list[int], dict[str, list[object]]]:
    """Shape checks; these failures are Arc's 400 'Invalid MessagePack payload'."""
    if not isinstance(item, dict):
        raise WriteError(
            400, f"Invalid MessagePack payload: unsupported msgpack payload type: {go_type(item)}"
        )
    m = item.get("m")
    if isinstance(m, bool) or not isinstance(m, (str, int)):
        raise WriteError(
            400, "Invalid MessagePack payload: missing required field 'm' (measurement)"
        )
    measurement = m if isinstance(m, str) else f"measurement_{m}"
    raw_columns = item.get("columns")
    if not isinstance(raw_columns, dict):
        raise WriteError(
            400,
            "Invalid MessagePack payload: row format is not supported by the Arc stand-in; "
            "send {'m': ..., 'columns': {...}}",
        )
    # A value that is not an array, and a name starting with '_', are dropped silently.
    columns = {
        str(k): v
        for k, v in raw_columns.items()
        if isinstance(v, list) and not str(k).startswith("_")
    }
    if columns:
        expected_name = "time" if "time" in columns else next(iter(columns))
        expected = len(columns[expected_name])
        for name, values in columns.items():
            if len(values) != expected:
                raise WriteError(
                    400,
                    "Invalid MessagePack payload: columnar format: array length mismatch "
                    f"(expected {expected}, got {len(values)} for '{name}')",
                )
    if "time" in columns:
        times = _normalise_times(columns.pop("time"))
    else:
        rows = len(next(iter(columns.values()))) if columns else 0
        times = [time.time_ns() // 1000] * rows  # one server "now" for the whole batch
    return measurement, times, columns


def _normalise_times(values: list[object]) -> list[int]:
    """Unit guessed from the first value only; floats lose their fraction."""
    if not values:
        return []
    prefix = "Invalid MessagePack payload: failed to normalize timestamps: invalid timestamp type"
    first = values[0]
    if isinstance(first, bool) or not isinstance(first, (int, float)):
        raise WriteError(400, f"{prefix} in columnar format: {go_type(first)}")
    magnitude = int(first)
    if magnitude < 10**10:
        scale = lambda v: v * 1_000_000  # noqa: E731 - seconds
    elif magnitude < 10**13:
        scale = lambda v: v * 1_000  # noqa: E731 - milliseconds
    elif magnitude < 10**16:
        scale = lambda v: v  # noqa: E731 - microseconds
    else:
        scale = lambda v: int(v / 1000) if v < 0 else v // 1000  # noqa: E731 - nanoseconds
    out = []
    for index, value in enumerate(values):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise WriteError(400, f"{prefix} at index {index}: {go_type(value)}")
        out.append(scale(int(value)))
    return out


def _typed_batch(measurement: str, times: list[int], columns: dict[str, list[object]]) -> Batch:
    batch = Batch(measurement, times)
    for name, values in columns.items():
        typed = _convert(name, values)
        if typed is not None:
            batch.columns[name] = typed
    if "" in columns:
        batch.poison, batch.panics = "runtime error: index out of range [0] with length 0", True
    elif not times:
        batch.poison = "no time data in batch"
    return batch


def _fail(message: str) -> WriteError:
    return WriteError(500, f"Failed to write records: failed to convert columns: {message}")


def _convert(name: str, values: list[object]) -> tuple[str, list[object]] | None:
    """The first non-null value decides the column type; None for an all-null column."""
    first = next((v for v in values if v is not None), None)
    if first is None:
        return None
    if isinstance(first, bool):
        for v in values:
            if v is not None and not isinstance(v, bool):
                raise _fail(f"unexpected type in bool column '{name}': {go_type(v)}")
        return "BOOLEAN", values
    if isinstance(first, int):
        out: list[object] = []
        for v in values:
            if isinstance(v, int) and not isinstance(v, bool) and v > INT64_MAX:
                raise _fail(f"cannot convert uint64 to int64 in column '{name}'")
            if v is None or (isinstance(v, int) and not isinstance(v, bool)):
                out.append(v)
            elif isinstance(v, float):
                out.append(int(v))  # Arc truncates floats that arrive in an int column
            else:
                raise _fail(f"cannot convert {go_type(v)} to int64 in column '{name}'")
        return "BIGINT", out
    if isinstance(first, float):
        floats: list[object] = []
        for v in values:
            if v is None or isinstance(v, float):
                floats.append(v)
            elif isinstance(v, int) and not isinstance(v, bool):
                floats.append(float(v))
            else:
                raise _fail(f"cannot convert {go_type(v)} to float64 in column '{name}'")
        return "DOUBLE", floats
    if isinstance(first, str):
        for v in values:
            if v is not None and not isinstance(v, str):
                raise _fail(f"unexpected type in string column '{name}': {go_type(v)}")
        return "VARCHAR", values
    raise _fail(f"unsupported column type for '{name}': {go_type(first)}")
