"""Time expressions: ``30s``, ``30m``, ``2h``, ``7d``, ``1w`` ago, or ISO 8601.

Pure functions over integer microseconds since the Unix epoch (UTC), the unit every
store keeps. A value without a UTC offset is taken as UTC.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from .errors import InvalidInputError

_RELATIVE = re.compile(r"^([1-9][0-9]{0,9})([smhdw])$")
_UNIT_US = {
    "s": 1_000_000,
    "m": 60 * 1_000_000,
    "h": 3600 * 1_000_000,
    "d": 86400 * 1_000_000,
    "w": 7 * 86400 * 1_000_000,
}
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# Bounds keep every value inside what datetime, SQLite integers and Arc's int64
# microsecond timestamps can all represent.
MIN_US = 0
MAX_US = 253402300799_999_999  # 9999-12-31T23:59:59.999999Z


def parse_time(value: str, *, now_us: int, field: str) -> int:
    """Resolve a time expression to microseconds; raise InvalidInputError naming ``field``."""
    text = value.strip()
    match = _RELATIVE.match(text)
    if match:
        amount, unit = int(match.group(1)), match.group(2)
        return max(MIN_US, now_us - amount * _UNIT_US[unit])
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidInputError(
            f"{field} must be a relative time like 30m, 2h, 7d, 1w or an ISO 8601 timestamp, "
            f"got {value[:64]!r}",
            field=field,
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return to_us(moment)


def to_us(moment: datetime) -> int:
    delta = moment - _EPOCH
    return (delta.days * 86400 + delta.seconds) * 1_000_000 + delta.microseconds


def from_us(us: int) -> datetime:
    # Same value as fromtimestamp(...).replace(microsecond=...), in half the time:
    # every memory a write returns or a read lists goes through here.
    return _EPOCH + timedelta(microseconds=us)


def iso(us: int) -> str:
    """ISO 8601 with ``Z``, microseconds only when there are any."""
    moment = from_us(us)
    text = moment.strftime("%Y-%m-%dT%H:%M:%S")
    if moment.microsecond:
        text += f".{moment.microsecond:06d}"
    return text + "Z"
