"""A memory as a journal row, as an Arc row, and back.

Why the Arc row looks the way it does (golden README, "What is dangerous"):

- every key column is a non-NULL string: a memory without a session or parent is
  stored with ``""`` and read back as ``None``. NULLs in a column a delete looks at
  are dropped with the deleted rows (del_null_trap), and a column NULL in every row
  of a batch is not written at all (wq_all_null_column_absent);
- tags travel as one string ``|a|b|``: Arc refuses lists (write_list_value). A tag
  matches ``[A-Za-z0-9_.:-]+``, so ``|`` never occurs inside one and
  ``strpos(tags, '|go|') > 0`` is an exact-tag test (``golang`` never matches ``go``);
- ``importance`` is pinned to float and ``seq`` to int, so a batch of whole numbers
  never turns the column into BIGINT (wq_int_then_float_truncated) or text;
- ``time`` is integer microseconds (Arc guesses the unit from the first value);
- ``seq`` is the journal's commit-order number: reads split Arc from the journal on
  it (see ``memories.py``) and an agent purge is bounded by it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ...models import Memory, known_memory
from ...timeexpr import from_us
from .columns import ColumnType
from .results import Converter, to_float, to_int, to_str
from .sql import Fragment

HOUR_US = 3_600_000_000

# The journal's columns, in the order every journal SELECT returns them.
JOURNAL_COLUMNS = (
    "seq, memory_id, org_id, time_us, agent_id, session_id, memory_type, event_type,"
    " content, metadata, tags, importance, dedup_key, parent_id"
)

# What the store selects from Arc; ``time`` comes back as integer µs, not RFC 3339.
ARC_COLUMNS: tuple[str, ...] = (
    "seq",
    "memory_id",
    "org_id",
    Fragment("epoch_us(time) AS time_us"),
    "agent_id",
    "session_id",
    "memory_type",
    "event_type",
    "content",
    "metadata",
    "tags",
    "importance",
    "dedup_key",
    "parent_id",
)
ARC_CONVERT: Mapping[str, Converter] = {
    "seq": to_int,
    "time_us": to_int,
    "importance": to_float,
    **{
        name: to_str
        for name in (
            "memory_id", "org_id", "agent_id", "session_id", "memory_type", "event_type",
            "content", "metadata", "tags", "dedup_key", "parent_id",
        )
    },
}  # fmt: skip
ARC_TYPES: Mapping[str, ColumnType] = {
    "seq": "int",
    "importance": "float",
    **{
        name: "string"
        for name in (
            "memory_id", "org_id", "agent_id", "session_id", "memory_type", "event_type",
            "content", "metadata", "tags", "dedup_key", "parent_id",
        )
    },
}  # fmt: skip


@dataclass(frozen=True, slots=True)
class Row:
    """One memory with its journal sequence number, whichever side it came from."""

    seq: int
    memory: Memory

    @property
    def memory_id(self) -> str:
        return self.memory.memory_id


def time_of_id(memory_id: str) -> int | None:
    """The µs timestamp a memory id carries (see ``ids``), or None if it has none."""
    digits = memory_id.replace("-", "")
    if len(digits) != 32 or digits[12] != "7":
        return None
    try:
        ms, sub_us = int(digits[:12], 16), int(digits[13:16], 16)
    except ValueError:
        return None
    return ms * 1000 + sub_us if sub_us < 1000 else None


def hour_of(time_us: int) -> int:
    return time_us // HOUR_US


def tags_text(tags: Iterable[str]) -> str:
    listed = list(tags)
    return "|" + "|".join(listed) + "|" if listed else ""


def tags_from_text(text: str) -> list[str]:
    return text.strip("|").split("|") if text.strip("|") else []


def tag_needle(tag: str) -> str:
    """The substring of the ``tags`` column that marks exactly this tag."""
    return f"|{tag}|"


def _memory(values: Sequence[Any], tags: list[str]) -> Memory:
    (
        _seq, memory_id, org_id, time_us, agent_id, session_id, memory_type, event_type,
        content, metadata, _tags, importance, dedup_key, parent_id,
    ) = values  # fmt: skip
    return known_memory(
        memory_id, from_us(time_us), org_id, agent_id, session_id or None, memory_type,
        event_type, content, json.loads(metadata) if metadata != "{}" else {}, tags,
        float(importance), dedup_key, parent_id or None,
    )  # fmt: skip


def from_journal(row: Sequence[Any]) -> Row:
    """A journal row (``JOURNAL_COLUMNS`` order; tags as a JSON list)."""
    return Row(int(row[0]), _memory(row, json.loads(row[10])))


def from_arc(row: Sequence[Any]) -> Row:
    """An Arc row (``ARC_COLUMNS`` order, converted by ``ARC_CONVERT``)."""
    return Row(int(row[0]), _memory(row, tags_from_text(row[10] or "")))


def arc_columns(rows: Sequence[Sequence[Any]]) -> dict[str, list[Any]]:
    """Journal rows as one columnar Arc batch (``time`` in µs, no NULLs)."""
    return {
        "time": [r[3] for r in rows],
        "seq": [r[0] for r in rows],
        "memory_id": [r[1] for r in rows],
        "org_id": [r[2] for r in rows],
        "agent_id": [r[4] for r in rows],
        "session_id": [r[5] or "" for r in rows],
        "memory_type": [r[6] for r in rows],
        "event_type": [r[7] for r in rows],
        "content": [r[8] for r in rows],
        "metadata": [r[9] for r in rows],
        "tags": [tags_text(json.loads(r[10])) for r in rows],
        "importance": [float(r[11]) for r in rows],
        "dedup_key": [r[12] for r in rows],
        "parent_id": [r[13] or "" for r in rows],
    }


def row_bytes(row: Sequence[Any]) -> int:
    """About a row's share of a msgpack body: characters, not UTF-8 bytes (cheap; at
    most 4x under, and batch budgets stay far below Arc's payload limit)."""
    return 160 + sum(len(v) for v in row if isinstance(v, str))
