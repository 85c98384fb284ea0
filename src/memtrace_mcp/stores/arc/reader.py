"""Every query the Arc store sends, each answered by name and type (``results.py``).

A time-bounded query that comes back with ``columns: []`` is asked again in the
fresh form: that empty shape is how Arc answers "no Parquet files", which after a
delete can be a stale path cache talking (golden cache_del_time_query_*).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import anyio

from ...models import MemoryQuery
from .client import ArcClient
from .failures import ArcRequestError
from .gate import FileGate
from .journal import View
from .plan import (
    ONE_PER_ID,
    Range,
    filters,
    first_per_id,
    hidden,
    newest_first,
    rows_select,
    text,
    whole,
)
from .results import Converter, QueryResult, to_int, to_str
from .rows import ARC_COLUMNS, ARC_CONVERT, Row, from_arc
from .sql import Fragment, SqlTooLargeError, chunk_in_list, identifier, int_literal
from .statement import Select

log = logging.getLogger(__name__)
_RETRY_DELAYS_S = (0.02, 0.1, 0.3, 0.6)
_NAMES = tuple(c.rsplit(" AS ", 1)[-1] for c in ARC_COLUMNS)
_SEQ_RANGE = "seq >= {lo} AND seq <= {hi}"


class ArcReader:
    def __init__(self, client: ArcClient, measurement: str) -> None:
        self.client = client
        self.table = str(identifier(measurement, field="measurement"))
        self.gate = FileGate()

    async def _query(self, sql: str, convert: Mapping[str, Converter]) -> QueryResult:
        """One query, asked again when Arc failed it reading its own files.

        Trigger: a 500 with a DuckDB "IO Error" or no DuckDB error class, e.g. a
        Parquet file removed or replaced by a delete while the query read it
        ("Cannot open file", "TProtocolException: Invalid data": seen on the
        stand-in under concurrent forgets; Arc deletes the same way). Why: such a
        read is idempotent and the next try globs the files afresh. Outcome: up to
        four more tries; a request Arc refuses for its SQL still fails at once."""
        for delay in _RETRY_DELAYS_S:
            try:
                async with self.gate.reading():
                    return await self.client.query(sql, convert=convert)
            except ArcRequestError as exc:
                if exc.status != 500 or exc.error_class not in (None, "IO Error"):
                    raise
                log.info("arc failed a read on its own files; asking again")
            await anyio.sleep(delay)
        async with self.gate.reading():
            return await self.client.query(sql, convert=convert)

    async def delete(self, where: Fragment, expect: int) -> None:
        """Delete flushed rows matching ``where`` while none of our queries read."""
        async with self.gate.deleting():
            await self.client.delete(self.table, where, expect=expect)

    async def _run(
        self,
        build: Callable[[bool], str],
        convert: Mapping[str, Converter],
        prunable: bool,
    ) -> QueryResult:
        result = await self._query(build(False), convert)
        if not result.columns and prunable:
            result = await self._query(build(True), convert)
        return result

    async def _rows(self, build: Callable[[bool], str], prunable: bool) -> list[Row]:
        result = await self._run(build, ARC_CONVERT, prunable)
        if not result.columns:
            return []
        at = [result.columns.index(n) for n in _NAMES]
        return [from_arc([row[i] for i in at]) for row in result.rows]

    # --- memories -----------------------------------------------------------------

    async def top(self, q: MemoryQuery, view: View, need: int, now_us: int) -> list[Row]:
        """The first ``need`` Arc rows matching ``q`` (``seq < W``), in ``q.order``:
        newest-first reads start with a recent window and widen while short."""
        preds = filters(q, view)
        if q.order == "asc":
            rng = whole(q, view)
            ranges = [] if rng is None else [rng]
        else:
            ranges = newest_first(q, view, now_us, need)
        found: list[Row] = []
        for rng in ranges:
            # A memory's copies share its time, so they never straddle two ranges.
            found += await self._first(preds, rng, q.order, need - len(found))
            if len(found) >= need:
                break
        return found

    async def _first(
        self, preds: Sequence[Fragment], rng: Range, order: str, want: int
    ) -> list[Row]:
        """The first ``want`` memories in ``rng``, one row each. Copies left by a
        retried write are rare; when they cost rows, ask again for that many more."""
        limit = want
        while True:
            raw = await self._rows(_rows_builder(self.table, preds, rng, order, limit), rng.prunable)
            rows = first_per_id(raw)
            if len(rows) >= want or len(raw) < limit:
                return rows[:want]
            limit += want - len(rows)

    async def by_id(self, view: View, memory_id: str, time_us: int | None) -> list[Row]:
        """A point read; the id's own timestamp bounds it to one hour directory.
        No ``seq < W`` here: the caller found the id in neither the journal nor
        the tombstones, so any row of it in Arc is the memory itself (its copies
        are identical, so the first one will do)."""
        if view.arc_hi is not None and (time_us is None or time_us > view.arc_hi):
            return []  # newer than anything Arc's half holds: no round trip
        preds = [
            *hidden(view),
            Fragment(f"memory_id = {text(memory_id, 'memory_id')}"),
        ]
        rng = Range(None, None, False) if time_us is None else Range(time_us, time_us + 1, True)
        return await self._rows(
            lambda fresh: rows_select(
                self.table, preds, rng, order="desc", limit=1, fresh=fresh
            ).render(),
            rng.prunable,
        )

    async def count(self, q: MemoryQuery, view: View) -> int:
        """Distinct Arc memories matching ``q`` with ``seq < W``, forgotten ones excluded."""
        return sum((await self.counts(q, view, None)).values())

    async def counts(self, q: MemoryQuery, view: View, group: str | None) -> dict[str, int]:
        """Distinct Arc memories matching ``q`` (``seq < W``, not forgotten), per value
        of the column ``group`` (or all under ``""``).

        Forgotten ids whose delete is not verified yet are excluded in the statement
        itself (``NOT IN``), so a delete landing mid-read cannot skew the count. Past
        what one statement holds, the forgotten rows still in Arc are fetched and
        subtracted: exact unless a delete lands between the two queries."""
        rng = whole(q, view)
        if rng is None:
            return {}
        preds = filters(q, view)
        columns: tuple[str, ...] = (Fragment("count(DISTINCT memory_id) AS n"),)
        if group is not None:
            columns = (group, *columns)

        def build(extra: Sequence[Fragment]) -> Callable[[bool], str]:
            return lambda fresh: Select(
                self.table,
                columns,
                where=(*preds, *extra, *rng.predicates(fresh=fresh)),
                group_by=(group,) if group else (),
            ).render()

        # Inline every forgotten id if they fit, else those whose delete may still
        # land (pending), and subtract whatever is left from what Arc still holds.
        exclude: list[Fragment] = []
        rest = view.tombstones
        for inline in (view.tombstones, view.pending):
            if not inline:
                continue
            listed = ", ".join(text(i, "memory_id") for i in sorted(inline))
            candidate = [Fragment(f"memory_id NOT IN ({listed})")]
            try:
                build(candidate)(True)
            except SqlTooLargeError:
                continue
            exclude, rest = candidate, view.tombstones - inline
            break
        convert: dict[str, Converter] = {"n": to_int} | ({group: to_str} if group else {})
        result = await self._run(build(exclude), convert, rng.prunable)
        key = group or ""
        found: dict[str, int] = {}
        for record in result.records() if result.columns else []:
            found[str(record.get(key, "") or "")] = int(record["n"] or 0)
        if rest:
            for row in await self.among(preds, rng, rest):
                value = "" if group is None else str(getattr(row.memory, group))
                found[value] = found.get(value, 0) - 1
        return found

    async def among(self, preds: Sequence[Fragment], rng: Range, ids: Iterable[str]) -> list[Row]:
        """The rows of ``ids`` that match ``preds`` and ``rng`` (one per id)."""
        found: list[Row] = []
        for fresh_sql in _chunked(self.table, preds, rng, ids):
            found += await self._rows(fresh_sql, rng.prunable)
        return found

    async def short_ids(self, q: MemoryQuery, view: View, short_id: str) -> list[str]:
        preds = [*filters(q, view), Fragment(f"suffix(memory_id, {text('-' + short_id, 'id')})")]
        result = await self._query(
            Select(
                self.table, ("memory_id",), where=tuple(preds), group_by=("memory_id",), limit=3
            ).render(),
            {"memory_id": to_str},
        )
        return [str(v) for v in result.column("memory_id")]

    # --- shipping and forgetting ---------------------------------------------------

    async def visible_seqs(self, needed: set[int], rng: Range) -> set[int]:
        """Which of ``needed`` Arc serves; the prunable form first, fresh if short."""
        lo, hi = int_literal(min(needed), field="seq"), int_literal(max(needed), field="seq")
        where = Fragment(_SEQ_RANGE.format(lo=lo, hi=hi))
        seen: set[int] = set()
        for fresh in (False, True) if rng.prunable else (True,):
            result = await self._query(
                Select(
                    self.table,
                    ("seq",),
                    where=(where, *rng.predicates(fresh=fresh)),
                    group_by=("seq",),
                ).render(),
                {"seq": to_int},
            )
            seen |= {int(v) for v in result.column("seq")}
            if needed <= seen:
                break
        return seen & needed

    async def row_counts(self, org_id: str, ids: Iterable[str]) -> dict[str, int]:
        """Physical rows per id (duplicates included) in the org, flushed ones only."""
        preds = (Fragment(f"org_id = {text(org_id, 'org_id')}"),)
        counts: dict[str, int] = {}
        base = Select(
            self.table,
            ("memory_id", Fragment("count(*) AS n")),
            where=preds,
            group_by=("memory_id",),
        )
        for sql in base.chunked_in("memory_id", ids, field="memory_id"):
            result = await self._query(sql, {"memory_id": to_str, "n": to_int})
            if result.columns:
                counts.update({str(r["memory_id"]): int(r["n"]) for r in result.records()})
        return counts

    async def purge_counts(
        self, org_id: str, agent_id: str, max_seq: int, limit: int | None
    ) -> dict[str, int]:
        """Physical rows per id of an agent's purged memories (``seq <= max_seq``)."""
        preds = (
            Fragment(f"org_id = {text(org_id, 'org_id')}"),
            Fragment(f"agent_id = {text(agent_id, 'agent_id')}"),
            Fragment(f"seq <= {int_literal(max_seq, field='seq')}"),
        )
        result = await self._query(
            Select(
                self.table,
                ("memory_id", Fragment("count(*) AS n")),
                where=preds,
                group_by=("memory_id",),
                order_by=("memory_id",),
                limit=limit,
            ).render(),
            {"memory_id": to_str, "n": to_int},
        )
        return (
            {str(r["memory_id"]): int(r["n"]) for r in result.records()} if result.columns else {}
        )

    async def spans(self, column: str) -> list[tuple[str, str, int, int, int]]:
        """(org, key, first µs, last µs, max seq) per org and ``column`` value."""
        result = await self._query(
            Select(
                self.table,
                (
                    "org_id",
                    column,
                    Fragment("min(epoch_us(time)) AS lo"),
                    Fragment("max(epoch_us(time)) AS hi"),
                    Fragment("max(seq) AS s"),
                ),
                group_by=("org_id", column),
            ).render(),
            {"org_id": to_str, column: to_str, "lo": to_int, "hi": to_int, "s": to_int},
        )
        if not result.columns:
            return []
        return [
            (str(r["org_id"]), str(r[column] or ""), int(r["lo"]), int(r["hi"]), int(r["s"] or 0))
            for r in result.records()
        ]


def _rows_builder(
    table: str, preds: Sequence[Fragment], rng: Range, order: str, limit: int
) -> Callable[[bool], str]:
    def build(fresh: bool) -> str:
        return rows_select(table, preds, rng, order=order, limit=limit, fresh=fresh).render()

    return build


def _chunked(
    table: str, preds: Sequence[Fragment], rng: Range, ids: Iterable[str]
) -> list[Callable[[bool], str]]:
    """One statement builder per chunk of ``memory_id IN (…)``, each within the limit."""
    listed = sorted(set(ids))
    builders: list[Callable[[bool], str]] = []
    # Chunk once with the longer (fresh) form, so both forms of a chunk fit.
    template = Select(
        table, ARC_COLUMNS, where=(*preds, *rng.predicates(fresh=True)), qualify=ONE_PER_ID
    )
    pieces: list[Any] = chunk_in_list(
        listed, lambda body: body, field="memory_id", max_bytes=_budget(template)
    )
    for body in pieces:

        def build(fresh: bool, body: str = body) -> str:
            return Select(
                table,
                ARC_COLUMNS,
                where=(*preds, *rng.predicates(fresh=fresh), Fragment(f"memory_id IN ({body})")),
                qualify=ONE_PER_ID,
            ).render()

        builders.append(build)
    return builders


def _budget(template: Select) -> int:
    """Bytes left for an id list in ``template`` under Arc's 10,000-byte limit."""
    used = len(template.render().encode()) + len(" AND (memory_id IN ())")
    return max(200, 10_000 - used - 64)
