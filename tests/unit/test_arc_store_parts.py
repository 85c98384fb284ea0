"""The Arc store's pure parts: literals the rewriter cannot misread, time ranges,
the merge, ids' timestamps, the tag encoding, the file gate and the lease check."""

from __future__ import annotations

import itertools
import os
import subprocess
import sys

import anyio
import duckdb
import pytest

from memtrace_mcp import ids
from memtrace_mcp.models import Memory, MemoryQuery
from memtrace_mcp.stores.arc.gate import FileGate
from memtrace_mcp.stores.arc.journal import View
from memtrace_mcp.stores.arc.ledger import holder_alive, lease_owner
from memtrace_mcp.stores.arc.memories import merge
from memtrace_mcp.stores.arc.plan import (
    DAY_US,
    MAX_PRUNED_SPAN_US,
    filters,
    first_per_id,
    newest_first,
    text,
    whole,
)
from memtrace_mcp.stores.arc.rows import Row, tags_from_text, tags_text, time_of_id
from memtrace_mcp.timeexpr import from_us

HOUR = 3_600_000_000
NOW = 1_790_000_000_000_000


@pytest.mark.parametrize(
    "value", ["read_parquet", "x READ_PARQUET(y) read_parquetread_parquet", "plain", "a'b\\c--d"]
)
def test_text_never_shows_the_rewriter_read_parquet_and_means_the_same(value: str) -> None:
    rendered = text(value, "q")
    assert "read_parquet" not in rendered.lower()
    assert duckdb.connect().execute(f"SELECT {rendered}").fetchone() == (value,)


def test_newest_first_ranges_are_contiguous_from_now_back_to_the_start() -> None:
    view = View("o", 1)
    ranges = newest_first(MemoryQuery(org_id="o"), view, NOW, 50)
    assert ranges[0].hi is None and ranges[-1].lo is None
    for newer, older in itertools.pairwise(ranges):
        assert older.hi == newer.lo
    assert all(r.lo is None or r.lo % HOUR == 0 for r in ranges)  # repeatable SQL text
    assert [r.prunable for r in ranges] == [True, True, True, True, False]


def test_newest_first_stops_at_since_and_the_span_bounds_the_arc_side() -> None:
    since = NOW - 2 * DAY_US
    ranges = newest_first(MemoryQuery(org_id="o", since_us=since), View("o", 1), NOW, 50)
    assert len(newest_first(MemoryQuery(org_id="o"), View("o", 1), NOW, 10_000)) == 1
    assert ranges[-1].lo == since and len(ranges) == 3
    spanned = View("o", 1, span=(NOW - 3 * HOUR, NOW - 2 * HOUR))
    (only,) = [whole(MemoryQuery(org_id="o", agent_id="a"), spanned)]
    assert only is not None and (only.lo, only.hi) == (NOW - 3 * HOUR, NOW - 2 * HOUR + 1)
    assert whole(MemoryQuery(org_id="o", agent_id="a"), View("o", 1, arc_empty=True)) is None
    wide = View("o", 1, span=(NOW - MAX_PRUNED_SPAN_US - 1, NOW))
    assert whole(MemoryQuery(org_id="o", agent_id="a"), wide).prunable is False  # type: ignore[union-attr]


def test_arc_hi_bounds_the_arc_side_and_minus_one_means_it_holds_nothing() -> None:
    assert whole(MemoryQuery(org_id="o"), View("o", 1, arc_hi=-1)) is None
    assert newest_first(MemoryQuery(org_id="o"), View("o", 1, arc_hi=-1), NOW, 50) == []
    bounded = whole(MemoryQuery(org_id="o"), View("o", 1, arc_hi=NOW - HOUR))
    assert bounded is not None and bounded.hi == NOW - HOUR + 1
    ranges = newest_first(MemoryQuery(org_id="o"), View("o", 1, arc_hi=NOW - HOUR), NOW, 50)
    assert ranges[0].hi == NOW - HOUR + 1  # the windows start at Arc's newest row, not now
    later = MemoryQuery(org_id="o", since_us=NOW - 10)
    assert whole(later, View("o", 1, arc_hi=NOW - HOUR)) is None
    # Arc's half spans two hours: one prunable range, no windows scanning to the start.
    (both,) = newest_first(
        MemoryQuery(org_id="o"), View("o", 1, arc_hi=NOW - HOUR, arc_lo=NOW - 3 * HOUR), NOW, 50
    )
    assert (both.lo, both.hi, both.prunable) == (NOW - 3 * HOUR, NOW - HOUR + 1, True)


def test_first_per_id_keeps_the_first_row_of_each_memory_in_order() -> None:
    a, b = _row(NOW), _row(NOW - 1)
    copy = Row(a.seq + 5, a.memory)
    assert first_per_id([a, copy, b]) == [a, b]


def test_filters_split_on_the_watermark_and_hide_only_relevant_purges() -> None:
    view = View("o", 42, purges=(("bot", 7), ("other", 9)))
    sql = " AND ".join(filters(MemoryQuery(org_id="o", agent_id="bot"), view))
    assert "seq < 42" in sql and "'bot'" in sql and "'other'" not in sql
    everything = " AND ".join(filters(MemoryQuery(org_id="o"), view))
    assert "seq <= 7" in everything and "seq <= 9" in everything


def _row(time_us: int) -> Row:
    memory = Memory.model_construct(memory_id=ids.memory_id(time_us), time=from_us(time_us))
    return Row(time_us, memory)


def test_merge_orders_dedupes_and_drops_forgotten() -> None:
    a, b, c, d = (_row(NOW + i) for i in range(4))
    merged = merge([a, c], [b, c, d], desc=True, hidden=frozenset({d.memory_id}))
    assert [r.memory_id for r in merged] == [c.memory_id, b.memory_id, a.memory_id]
    assert [r.memory_id for r in merge([c], [a], desc=False, hidden=frozenset())] == [
        a.memory_id,
        c.memory_id,
    ]


def test_an_id_carries_its_microsecond_time() -> None:
    for t in (NOW, NOW + 999, NOW + 123_456):
        assert time_of_id(ids.memory_id(t)) == t
    assert time_of_id("not-an-id") is None


@pytest.mark.parametrize("tags", [[], ["go"], ["a", "b.c:d-e_f", "a"]])
def test_tags_round_trip_through_one_delimited_string(tags: list[str]) -> None:
    assert tags_from_text(tags_text(tags)) == tags


async def test_a_delete_waits_for_reads_and_new_reads_wait_for_a_waiting_delete() -> None:
    gate = FileGate()
    events: list[str] = []
    reading = anyio.Event()

    async def reader(name: str, hold: anyio.Event) -> None:
        async with gate.reading():
            events.append(f"{name} in")
            reading.set()
            await hold.wait()
        events.append(f"{name} out")

    async def deleter() -> None:
        async with gate.deleting():
            events.append("delete")

    release = anyio.Event()
    with anyio.fail_after(5):
        async with anyio.create_task_group() as tg:
            tg.start_soon(reader, "r1", release)
            await reading.wait()
            tg.start_soon(deleter)
            await anyio.wait_all_tasks_blocked()
            tg.start_soon(reader, "r2", anyio.Event())  # queued behind the delete
            await anyio.wait_all_tasks_blocked()
            assert events == ["r1 in"]
            release.set()
            await anyio.wait_all_tasks_blocked()
            tg.cancel_scope.cancel()
    assert events[:3] == ["r1 in", "r1 out", "delete"]


def test_a_lease_holder_that_died_on_this_host_is_not_alive() -> None:
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    assert holder_alive(lease_owner("x"))
    assert not holder_alive(f"{lease_owner('x').split(':')[0]}:{dead.pid}:x")
    assert holder_alive(f"elsewhere.example:{os.getpid()}:x")


@pytest.mark.parametrize(
    ("content", "needle"),
    [("İstanbul", "istanbul"), ("İstanbul", "İSTANBUL"), ("ÉCOLE", "école"), ("Straße", "STRASSE")],
)
def test_content_match_folds_case_like_the_embedded_store(content: str, needle: str) -> None:
    from memtrace_mcp.stores.arc.plan import contains_folded

    predicate = contains_folded(needle)
    got = duckdb.connect().execute(f"SELECT {predicate} FROM (SELECT ? AS content)", [content])
    assert got.fetchone() == ((needle.lower() in content.lower()),)
