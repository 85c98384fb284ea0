"""Remember, recall, search and forget memories.

The rules every face shares live here: input limits, dedup keys, ids and times,
time expressions, org scoping and scopes. Stores only execute.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from .. import ids
from ..errors import DuplicateMemoryError, InvalidInputError, NotFoundError, ConflictError
from ..models import (
    BatchResult,
    DuplicateInfo,
    Memory,
    MemoryDraft,
    MemoryFilter,
    MemoryPage,
    MemoryQuery,
    Principal,
    SearchRequest,
    SearchResult,
)
from ..stores.base import Duplicate, MemoryStore, MetadataStore, NewMemory, StoreStatus
from ..timeexpr import parse_time
from .auth import require

_FULL_ID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
_SHORT_ID = re.compile(rf"^#?[0-9a-f]{{{ids.SHORT_ID_LEN}}}$")


@dataclass(frozen=True)
class Limits:
    max_content_bytes: int = 64 * 1024
    max_metadata_bytes: int = 16 * 1024
    dedup_window_us: int | None = 24 * 3600 * 1_000_000  # None: dedup off


def dedup_key_for(agent_id: str, event_type: str, content: str) -> str:
    """The key of a memory that brought none: first 128 bits of
    SHA-256(agent_id|event_type|first 200 bytes of content), as the original service
    computes it, so keys stay comparable across the two."""
    head = content.encode()[:200]
    digest = hashlib.sha256(agent_id.encode() + b"|" + event_type.encode() + b"|" + head)
    return digest.hexdigest()[:32]


class MemoryService:
    def __init__(
        self,
        memories: MemoryStore,
        metadata: MetadataStore,
        limits: Limits,
        clock: Callable[[], int] = ids.next_time_us,
    ) -> None:
        self._memories = memories
        self._metadata = metadata
        self._limits = limits
        self._clock = clock

    # --- writes -----------------------------------------------------------------

    async def remember(self, principal: Principal, draft: MemoryDraft) -> Memory:
        require(principal, "write")
        record = self._record(principal.org_id, draft, field_prefix="")
        (outcome,) = await self._store([record])
        if isinstance(outcome, Duplicate):
            raise DuplicateMemoryError(
                f"duplicate memory: dedup_key {outcome.dedup_key!r} is already held by memory "
                f"{outcome.memory_id} within the dedup window",
                memory_id=outcome.memory_id,
                dedup_key=outcome.dedup_key,
            )
        return outcome

    async def remember_batch(self, principal: Principal, drafts: Sequence[MemoryDraft]) -> BatchResult:
        require(principal, "write")
        records = [
            self._record(principal.org_id, d, field_prefix=f"memories[{i}].")
            for i, d in enumerate(drafts)
        ]
        outcomes = await self._store(records)
        stored = [o for o in outcomes if isinstance(o, Memory)]
        duplicates = [
            DuplicateInfo(index=i, memory_id=o.memory_id, dedup_key=o.dedup_key)
            for i, o in enumerate(outcomes)
            if isinstance(o, Duplicate)
        ]
        return BatchResult(memories=stored, count=len(stored), duplicates=duplicates)

    async def _store(self, records: list[NewMemory]) -> list[Memory | Duplicate]:
        window = self._limits.dedup_window_us
        since = None if window is None else records[0].time_us - window
        last_active: dict[str, int] = {}
        for rec in records:
            last_active[rec.agent_id] = rec.time_us
        outcomes = await self._memories.insert_memories(records, dedup_since_us=since)
        # Registering the agent after its memory: the metadata store throttles this
        # to one write per agent per second, so it is usually free. An agent whose
        # write turned out a duplicate is registered too: it wrote that memory before.
        await self._metadata.touch_agents(records[0].org_id, last_active)
        return outcomes

    def _record(self, org_id: str, draft: MemoryDraft, *, field_prefix: str) -> NewMemory:
        content = draft.content
        if len(content) * 4 > self._limits.max_content_bytes and (
            len(content.encode()) > self._limits.max_content_bytes
        ):  # a character is at most 4 bytes: most contents need no encoding to know
            raise InvalidInputError(
                f"{field_prefix}content is larger than {self._limits.max_content_bytes} bytes",
                field=f"{field_prefix}content",
            )
        metadata = draft.metadata or {}
        metadata_json = (
            json.dumps(metadata, ensure_ascii=False, separators=(",", ":")) if metadata else "{}"
        )
        if len(metadata_json) * 4 > self._limits.max_metadata_bytes and (
            len(metadata_json.encode()) > self._limits.max_metadata_bytes
        ):
            raise InvalidInputError(
                f"{field_prefix}metadata is larger than {self._limits.max_metadata_bytes} bytes",
                field=f"{field_prefix}metadata",
            )
        now = self._clock()
        return NewMemory(
            ids.memory_id(now),
            now,
            org_id,
            draft.agent_id,
            draft.session_id,
            draft.memory_type,
            draft.event_type,
            content,
            metadata_json,
            tuple(draft.tags) if draft.tags else (),
            float(draft.importance),
            draft.dedup_key or dedup_key_for(draft.agent_id, draft.event_type, content),
            draft.parent_id,
            metadata,
        )

    async def forget(self, principal: Principal, ref: str) -> None:
        require(principal, "write")
        memory_id = await self._resolve(principal, ref)
        if not await self._memories.delete_memory(principal.org_id, memory_id):
            raise NotFoundError(f"memory {ref!r} not found")

    # --- reads ------------------------------------------------------------------

    async def status(self) -> StoreStatus:
        """Whether the store can serve; needs no principal (``/ready`` is public)."""
        return await self._memories.status()

    async def get(self, principal: Principal, ref: str) -> Memory:
        require(principal, "read")
        memory_id = await self._resolve(principal, ref)
        memory = await self._memories.get_memory(principal.org_id, memory_id)
        if memory is None:
            raise NotFoundError(f"memory {ref!r} not found")
        return memory

    async def list(self, principal: Principal, flt: MemoryFilter) -> MemoryPage:
        require(principal, "read")
        memories, has_more = await self._page(self.resolve(principal, flt))
        return MemoryPage(memories=memories, count=len(memories), has_more=has_more)

    async def search(self, principal: Principal, request: SearchRequest) -> SearchResult:
        require(principal, "read")
        started = time.perf_counter()
        memories, has_more = await self._page(self.resolve(principal, request))
        elapsed_ms = int((time.perf_counter() - started) * 1000)
        return SearchResult(
            results=memories, count=len(memories), has_more=has_more, query_time_ms=elapsed_ms
        )

    async def _page(self, query: MemoryQuery) -> tuple[list[Memory], bool]:
        # One extra row tells whether another page exists, exactly.
        rows = await self._memories.query_memories(query.model_copy(update={"limit": query.limit + 1}))
        return rows[: query.limit], len(rows) > query.limit

    def resolve(self, principal: Principal, flt: MemoryFilter) -> MemoryQuery:
        """Turn client filters into a store query scoped to the caller's org."""
        now = self._clock()
        since = parse_time(flt.since, now_us=now, field="since") if flt.since else None
        until = parse_time(flt.until, now_us=now, field="until") if flt.until else None
        return MemoryQuery(
            org_id=principal.org_id,
            agent_id=flt.agent_id,
            session_id=flt.session_id,
            memory_types=tuple(dict.fromkeys(flt.memory_types or ())),
            event_types=tuple(dict.fromkeys(flt.event_types or ())),
            tags=tuple(dict.fromkeys(flt.tags or ())),
            content_contains=flt.content_contains,
            min_importance=flt.min_importance,
            since_us=since,
            until_us=until,
            limit=flt.limit,
            offset=flt.offset,
            order=flt.order,
        )

    async def _resolve(self, principal: Principal, ref: str) -> str:
        """A full memory id, or the short form shown in session context."""
        ref = ref.strip().lower()
        if _FULL_ID.match(ref):
            return ref
        if _SHORT_ID.match(ref):
            matches = await self._memories.find_memory_ids(principal.org_id, ref.lstrip("#"))
            if len(matches) == 1:
                return matches[0]
            if len(matches) > 1:
                raise ConflictError(f"short id {ref!r} is ambiguous; use the full memory_id")
        raise NotFoundError(f"memory {ref[:64]!r} not found")
