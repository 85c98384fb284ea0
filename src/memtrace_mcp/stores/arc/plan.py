"""Arc statements for the store's reads: filters, time ranges, de-duplication.

Every literal comes from ``sql.py``; this module only arranges Fragments.

Time predicates come in two forms (see ``sql.time_compare``). The prunable one
(``time >= '…Z'``) lets Arc read only the hour directories in range, but Arc answers
it from path caches that can miss an hour directory for up to about 90 s after it
first gets a file, and that answer NOTHING (``columns: []``) after a delete empties a
cached hour (golden README items 26–27). The store uses it only where the journal
guarantees it is safe: Arc rows with ``seq < W`` sit in hours that have been settled
for longer than the cache horizon (``ledger.py`` keeps rows journaled until then), and
an empty-columns answer is re-asked in the fresh form. Ranges the pruner would have
to expand into too many hour directories use the fresh form directly.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

from ...models import MemoryQuery
from .journal import View
from .rows import ARC_COLUMNS, HOUR_US, Row, tag_needle
from .sql import (
    Fragment,
    float_literal,
    identifier,
    int_literal,
    string_literal,
    time_compare,
)
from .statement import Select

DAY_US = 24 * HOUR_US
# Newest-first reads look back this far before widening: most lists end in the first.
WINDOWS_US = (HOUR_US, DAY_US, 7 * DAY_US, 35 * DAY_US)
# Reads wanting more rows than this skip the windows.
WINDOWED_MAX_ROWS = 1000
# A prunable range longer than this makes the pruner list too many hour directories.
MAX_PRUNED_SPAN_US = 40 * DAY_US
# One row per memory_id: a write retried by the shipper can land twice.
ONE_PER_ID = Fragment("row_number() OVER (PARTITION BY memory_id ORDER BY seq) = 1")
_SPLIT = "read_parquet"
_DOTTED_I = "\u0130"


def text(value: str, field: str) -> Fragment:
    """A string literal that never shows Arc's rewriter the text ``read_parquet``:
    its presence anywhere in the SQL, literals included, turns table rewriting off."""
    lower = value.lower()
    cuts = [0]
    start = lower.find(_SPLIT)
    while start >= 0:
        cuts.append(start + 5)
        start = lower.find(_SPLIT, start + 1)
    if len(cuts) == 1:
        return string_literal(value, field=field)
    cuts.append(len(value))
    parts = [string_literal(value[a:b], field=field) for a, b in itertools.pairwise(cuts) if b > a]
    return Fragment("(" + " || ".join(parts) + ")")


def contains_folded(needle: str) -> Fragment:
    """``content`` contains ``needle`` with case folded by Python's ``str.lower``, the
    embedded store's rule. DuckDB's ``lower`` agrees on every code point but U+0130
    (İ → ``i``, where Python gives ``i`` + U+0307), so that one is spelled out first."""
    dotted = f"replace(content, {text(_DOTTED_I, 'content')}, {text(_DOTTED_I.lower(), 'content')})"
    return Fragment(f"strpos(lower({dotted}), {text(needle.lower(), 'content_contains')}) > 0")


def one_of(column: str, values: Sequence[str], field: str) -> Fragment:
    """``column IN (…)`` over text values, each through :func:`text`."""
    listed = ", ".join(dict.fromkeys(text(v, field) for v in values))
    return Fragment(f"{identifier(column, field='column')} IN ({listed})")


def hidden(view: View, agent_id: str | None = None) -> list[Fragment]:
    """The org, minus its purged agents' rows (of ``agent_id`` only, when given)."""
    preds = [Fragment(f"org_id = {text(view.org_id, 'org_id')}")]
    for purged, max_seq in view.purges:
        if agent_id is None or agent_id == purged:
            agent = text(purged, "agent_id")
            bound = int_literal(max_seq, field="seq")
            preds.append(Fragment(f"NOT (agent_id = {agent} AND seq <= {bound})"))
    return preds


def filters(q: MemoryQuery, view: View) -> list[Fragment]:
    """Everything but time: org and purges, the journal split, the query's filters."""
    preds = [
        *hidden(view, q.agent_id),
        Fragment(f"seq < {int_literal(view.watermark, field='seq')}"),
    ]
    if q.agent_id is not None:
        preds.append(Fragment(f"agent_id = {text(q.agent_id, 'agent_id')}"))
    if q.session_id is not None:
        preds.append(Fragment(f"session_id = {text(q.session_id, 'session_id')}"))
    if q.memory_types:
        preds.append(one_of("memory_type", q.memory_types, "memory_types"))
    if q.event_types:
        preds.append(one_of("event_type", q.event_types, "event_types"))
    for tag in q.tags:
        preds.append(Fragment(f"strpos(tags, {text(tag_needle(tag), 'tags')}) > 0"))
    if q.min_importance is not None:
        value = float_literal(q.min_importance, field="min_importance")
        preds.append(Fragment(f"importance >= {value}"))
    if q.content_contains is not None:
        preds.append(contains_folded(q.content_contains))
    return preds


@dataclass(frozen=True, slots=True)
class Range:
    """``lo <= time < hi`` (None: unbounded), and whether Arc may prune it."""

    lo: int | None
    hi: int | None
    prunable: bool

    def predicates(self, *, fresh: bool = False) -> list[Fragment]:
        prune = self.prunable and not fresh
        preds = []
        if self.lo is not None:
            preds.append(time_compare(">=", self.lo, prunable=prune))
        if self.hi is not None:
            preds.append(time_compare("<", self.hi, prunable=prune))
        return preds


def _range(lo: int | None, hi: int | None) -> Range:
    prunable = lo is not None and (hi is None or hi - lo <= MAX_PRUNED_SPAN_US)
    return Range(lo, hi, prunable)


def bounds(q: MemoryQuery, view: View) -> tuple[int | None, int | None] | None:
    """``[lo, hi)`` the Arc side can hold matches in; None when it holds none."""
    if view.arc_empty or (view.arc_hi is not None and view.arc_hi < 0):
        return None
    lo, hi = q.since_us, q.until_us
    # Nothing newer (older) was ever retired into Arc's half: newest-first windows
    # start at its newest row and stop at its oldest instead of scanning to the start.
    if view.arc_hi is not None:
        hi = view.arc_hi + 1 if hi is None else min(hi, view.arc_hi + 1)
    if view.arc_lo is not None:
        lo = view.arc_lo if lo is None else max(lo, view.arc_lo)
    if view.span is not None:
        first, last = view.span
        lo = first if lo is None else max(lo, first)
        hi = last + 1 if hi is None else min(hi, last + 1)
    if lo is not None and hi is not None and lo >= hi:
        return None
    return lo, hi


def whole(q: MemoryQuery, view: View) -> Range | None:
    """One range for the whole query (ascending lists, counts)."""
    found = bounds(q, view)
    return None if found is None else _range(*found)


def newest_first(q: MemoryQuery, view: View, now_us: int, need: int) -> list[Range]:
    """Ranges from newest to oldest: read them in turn until enough rows came back.
    A read that wants many rows (a whole session's context), or whose range is a
    day or less (most sessions, by their span), is one range: the windows would
    cost more queries than they save."""
    found = bounds(q, view)
    if found is None:
        return []
    lo, hi = found
    anchor = hi if hi is not None else now_us
    if need > WINDOWED_MAX_ROWS or (lo is not None and anchor - lo <= DAY_US):
        return [_range(lo, hi)]
    ranges: list[Range] = []
    top = hi
    for window in WINDOWS_US:
        edge = (anchor - window) // HOUR_US * HOUR_US  # whole hours: repeatable SQL text
        if lo is not None and edge <= lo:
            break
        ranges.append(_range(edge, top))
        top = edge
    ranges.append(_range(lo, top))
    return ranges


def rows_select(
    table: str,
    preds: Sequence[Fragment],
    rng: Range,
    *,
    order: str,
    limit: int,
    fresh: bool = False,
) -> Select:
    """The first ``limit`` physical rows in ``order``, a memory's copies side by side
    (lowest ``seq`` first). No window: ``QUALIFY row_number() OVER (PARTITION BY
    memory_id …)`` makes the engine materialise and partition every matching row
    (content included) before the limit applies, while ``ORDER BY … LIMIT`` is a
    top-N over the filtered rows. Copies of a memory (a retried write) are dropped
    by :func:`first_per_id`; the reader asks again for more when they cost rows."""
    direction = "DESC" if order == "desc" else "ASC"
    return Select(
        table=table,
        columns=ARC_COLUMNS,
        where=(*preds, *rng.predicates(fresh=fresh)),
        order_by=(f"memory_id {direction}", "seq ASC"),
        limit=limit,
    )


def first_per_id(rows: Sequence[Row]) -> list[Row]:
    """One row per ``memory_id``, the first seen: what ``ONE_PER_ID`` keeps, given
    rows ordered by ``memory_id`` then ``seq``."""
    seen: set[str] = set()
    out: list[Row] = []
    for row in rows:
        if row.memory_id not in seen:
            seen.add(row.memory_id)
            out.append(row)
    return out
