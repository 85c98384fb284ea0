"""Arc's partition pruner, including the stale caches that make it a trap.

A query whose WHERE clause has a ``time`` bound on a quoted literal is pointed at
the hour directories ``<db>/<m>/YYYY/MM/DD/HH/*.parquet`` in range instead of the
whole ``**/*.parquet`` glob. Two caches make that stale, exactly as in Arc v26.06.3:

- the per-pattern glob cache (30 s, shared by every query) remembers that an hour
  directory was empty, so a *new* hour stays invisible to time-bounded queries;
- the pruned path list is cached per SQL text (60 s), so once a delete empties a
  cached hour, DuckDB's "No files found" turns the whole answer into ``columns: []``.

Neither cache is cleared by a flush or a delete; Arc clears them only after
compaction, which the stand-in does not do.
"""

from __future__ import annotations

import os
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from .sql_validator import mask_literals, unmask_literals

_WHERE = re.compile(r"(?ai)\bWHERE\b\s+([\s\S]+?)(?:\bGROUP BY\b|\bORDER BY\b|\bLIMIT\b|\Z)")
_START = [
    re.compile(p)
    for p in (
        r"(?ai)time\s*>=\s*'([^']+)'",
        r"(?ai)time\s*>\s*'([^']+)'",
        r"(?ai)timestamp\s*>=\s*'([^']+)'",
        r"(?ai)timestamp\s*>\s*'([^']+)'",
    )
]
_END = [
    re.compile(p)
    for p in (
        r"(?ai)time\s*<\s*'([^']+)'",
        r"(?ai)time\s*<=\s*'([^']+)'",
        r"(?ai)timestamp\s*<\s*'([^']+)'",
        r"(?ai)timestamp\s*<=\s*'([^']+)'",
    )
]
_BETWEEN = re.compile(r"(?ai)time\s+BETWEEN\s+'([^']+)'\s+AND\s+'([^']+)'")
_UNITS = r"(second|seconds|minute|minutes|hour|hours|day|days|week|weeks|month|months)"
_NOW = r"(?:NOW\s*\(\s*\)|CURRENT_TIMESTAMP)"
_RELATIVE = {
    ("start", -1): re.compile(rf"(?ai)time\s*>=?\s*{_NOW}\s*-\s*INTERVAL\s*'(\d+)\s*{_UNITS}'"),
    ("start", 1): re.compile(rf"(?ai)time\s*>=?\s*{_NOW}\s*\+\s*INTERVAL\s*'(\d+)\s*{_UNITS}'"),
    ("end", -1): re.compile(rf"(?ai)time\s*<=?\s*{_NOW}\s*-\s*INTERVAL\s*'(\d+)\s*{_UNITS}'"),
    ("end", 1): re.compile(rf"(?ai)time\s*<=?\s*{_NOW}\s*\+\s*INTERVAL\s*'(\d+)\s*{_UNITS}'"),
}
_RFC3339 = re.compile(r"^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(\.\d+)?(Z|[+-]\d{2}:\d{2})$")
_LAYOUTS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d", "%Y/%m/%d %H:%M:%S", "%Y/%m/%d")
_TABLE_GLOB = re.compile(r"(.+)/([^/]+)/([^/]+)/\*\*/\*\.parquet$")
EARLIEST = datetime(2020, 1, 1, tzinfo=UTC)  # Arc's start when only an end is given


@dataclass(frozen=True)
class TimeRange:
    start: datetime
    end: datetime


def parse_datetime(text: str) -> datetime | None:
    """The layouts Arc's pruner accepts; anything else means 'no bound'."""
    if match := _RFC3339.match(text):
        fraction = (match.group(2) or "")[:7]
        zone = "+00:00" if match.group(3) == "Z" else match.group(3)
        return datetime.fromisoformat(match.group(1) + fraction + zone).astimezone(UTC)
    for layout in _LAYOUTS:
        try:
            return datetime.strptime(text, layout).replace(tzinfo=UTC)
        except ValueError:
            continue
    return None


def _relative(amount: str, unit: str, sign: int) -> datetime:
    n, unit = int(amount) * sign, unit.lower().removesuffix("s")
    now = datetime.now(UTC)
    if unit == "month":
        month = now.month - 1 + n
        return now.replace(year=now.year + month // 12, month=month % 12 + 1)
    seconds = {"second": 1, "minute": 60, "hour": 3600, "day": 86400, "week": 604800}[unit]
    return now + timedelta(seconds=n * seconds)


def _first_bound(patterns: list[re.Pattern[str]], where: str) -> datetime | None:
    for pattern in patterns:
        if (match := pattern.search(where)) and (moment := parse_datetime(match.group(1))):
            return moment
    return None


def extract_time_range(sql: str) -> TimeRange | None:
    if "WHERE" not in sql.upper():
        return None
    masked, masks = mask_literals(sql)
    if not (match := _WHERE.search(masked)):
        return None
    where = unmask_literals(match.group(1), masks)
    start, end = _first_bound(_START, where), _first_bound(_END, where)
    if between := _BETWEEN.search(where):
        low, high = parse_datetime(between.group(1)), parse_datetime(between.group(2))
        if low and high:
            start, end = low, high
    for (side, sign), pattern in _RELATIVE.items():
        if (start if side == "start" else end) is None and (rel := pattern.search(where)):
            if side == "start":
                start = _relative(rel.group(1), rel.group(2), sign)
            else:
                end = _relative(rel.group(1), rel.group(2), sign)
    if start and end:
        return TimeRange(start, end)
    if start:
        return TimeRange(start, datetime.now(UTC) + timedelta(days=1))
    if end:
        return TimeRange(EARLIEST, end)
    return None


def partition_patterns(table_dir: str, span: TimeRange) -> list[str]:
    """Every hour directory in [start hour, end), then the day directories (daily compaction)."""
    first_hour = int(span.start.timestamp() // 3600)
    end = span.end.timestamp()
    hours, days = [], []
    hour = first_hour
    while hour * 3600 < end:
        if not days or hour % 24 == 0:
            days.append(datetime.fromtimestamp(hour * 3600, UTC).strftime("%Y/%m/%d"))
        hours.append(f"{table_dir}/{days[-1]}/{hour % 24:02d}/*.parquet")
        hour += 1
    return hours + [f"{table_dir}/{day}/*.parquet" for day in days]


class TTLCache:
    def __init__(self, ttl_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._ttl_s, self._clock = ttl_s, clock
        self._entries: dict[object, tuple[float, object]] = {}
        self._lock = threading.Lock()

    def get(self, key: object) -> object | None:
        hit = self._entries.get(key)  # a single dict read is atomic; writers take the lock
        if hit is None or self._clock() >= hit[0]:
            return None
        return hit[1]

    def set(self, key: object, value: object) -> None:
        if self._ttl_s <= 0:
            return
        with self._lock:
            self._entries[key] = (self._clock() + self._ttl_s, value)


class PartitionPruner:
    def __init__(self, glob_ttl_s: float, partition_ttl_s: float) -> None:
        self._globs = TTLCache(glob_ttl_s)
        self._partitions = TTLCache(partition_ttl_s)

    def optimize(self, table_glob: str, sql: str) -> str | list[str]:
        """The path or paths Arc would hand to read_parquet for this table and SQL."""
        key = (table_glob, sql)
        if (cached := self._partitions.get(key)) is not None:
            return cached  # type: ignore[return-value]
        result: str | list[str] = table_glob
        span = extract_time_range(sql)
        parts = _TABLE_GLOB.match(table_glob)
        if span is not None and parts is not None:
            table_dir = table_glob.removesuffix("/**/*.parquet")
            existing = self._existing(partition_patterns(table_dir, span), table_dir)
            if existing:
                result = existing[0] if len(existing) == 1 else existing
        self._partitions.set(key, result)
        return result

    def _existing(self, patterns: list[str], table_dir: str) -> list[str]:
        """Patterns that match files, trusting the glob cache like Arc does (an empty
        answer is cached too). Misses are answered from one directory walk."""
        listing: dict[str, int] | None = None
        existing = []
        for pattern in patterns:
            count = self._globs.get(pattern)
            if count is None:
                if listing is None:
                    listing = _parquet_counts(table_dir)
                count = listing.get(pattern.removesuffix("/*.parquet"), 0)
                self._globs.set(pattern, count)
            if count:
                existing.append(pattern)
        return existing


def _parquet_counts(root: str) -> dict[str, int]:
    counts: dict[str, int] = {}
    for directory, _dirs, files in os.walk(root):
        if n := sum(name.endswith(".parquet") for name in files):
            counts[directory] = n
    return counts
