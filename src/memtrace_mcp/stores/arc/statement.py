"""``Select``: the one statement shape the store needs, rendered within Arc's limits.

Why a builder: the golden cases show which shapes survive Arc's table rewriter
(``FROM meas`` with the database in a header, ``QUALIFY``, ``ORDER BY``) and which do
not (``db.meas`` with the header, bare-alias joins, ``DESCRIBE meas``). Keeping every
query to this shape keeps the store inside the proven set, and ``where`` accepting
only :class:`~.sql.Fragment` keeps caller text on the literal functions' path.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, replace

from ...errors import InvalidInputError
from .sql import Fragment, chunk_in_list, ensure_fits, identifier

_ORDER_ITEM = re.compile(r"([A-Za-z][A-Za-z0-9_]*)(?: (ASC|DESC))?(?: NULLS (FIRST|LAST))?")


@dataclass(frozen=True, slots=True)
class Select:
    """One ``SELECT`` over one measurement: the shapes the golden cases prove work.

    ``columns`` items are identifiers, or :class:`Fragment` for an expression written
    in code (``Fragment("epoch_us(time) AS time_us")``). ``where`` items must be
    Fragments from the predicate functions, so caller text cannot arrive unescaped.
    """

    table: str
    columns: tuple[str, ...]
    where: tuple[Fragment, ...] = ()
    qualify: Fragment | None = None
    order_by: tuple[str, ...] = ()
    limit: int | None = None
    offset: int | None = None
    group_by: tuple[str, ...] = ()  # plain column names (golden q_group_by)

    def and_where(self, *predicates: Fragment) -> Select:
        return replace(self, where=self.where + predicates)

    def render(self) -> str:
        if not self.columns:
            raise ValueError("a Select needs columns")
        cols = ", ".join(
            c if isinstance(c, Fragment) else identifier(c, field="column") for c in self.columns
        )
        sql = f"SELECT {cols} FROM {identifier(self.table, field='measurement')}"
        for predicate in self.where:
            if not isinstance(predicate, Fragment):
                raise TypeError("where items must be Fragments built by memtrace sql")
        if self.where:
            joined = " AND ".join(f"({p})" for p in self.where)
            sql += f" WHERE {joined}"
        if self.group_by:
            sql += " GROUP BY " + ", ".join(identifier(g, field="group_by") for g in self.group_by)
        if self.qualify is not None:
            if not isinstance(self.qualify, Fragment):
                raise TypeError("qualify must be a Fragment")
            sql += f" QUALIFY {self.qualify}"
        if self.order_by:
            sql += " ORDER BY " + ", ".join(_order_item(o) for o in self.order_by)
        if self.limit is not None:
            sql += f" LIMIT {_non_negative(self.limit, 'limit')}"
        if self.offset is not None:
            sql += f" OFFSET {_non_negative(self.offset, 'offset')}"
        return ensure_fits(sql)

    def chunked_in(self, column: str, values: Iterable[str | int], *, field: str) -> list[str]:
        """This statement once per chunk of ``column IN (…)``, each within the limit."""
        col = identifier(column, field="column")
        return chunk_in_list(
            values,
            lambda body: self.and_where(Fragment(f"{col} IN ({body})")).render(),
            field=field,
        )


def _order_item(item: str) -> str:
    if isinstance(item, Fragment):
        return item
    match = _ORDER_ITEM.fullmatch(item)
    if not match:
        raise ValueError(f"bad ORDER BY item {item!r}")
    identifier(match.group(1), field="order_by")
    return item


def _non_negative(value: int, field: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InvalidInputError(f"{field} must be a non-negative integer", field=field)
    return value
