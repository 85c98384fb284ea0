"""Sessions: create, update, list, and render their context."""

from __future__ import annotations

from collections.abc import Callable

from .. import ids
from ..errors import ConflictError, NotFoundError
from ..models import (
    AgentHistory,
    ContextRequest,
    HistoryRequest,
    Memory,
    MemoryQuery,
    Principal,
    Session,
    SessionContext,
    SessionDraft,
    SessionList,
    SessionStatus,
    SessionUpdate,
)
from ..stores.base import MemoryStore, MetadataStore
from ..timeexpr import from_us, parse_time
from .auth import require
from .context import HIGH_IMPORTANCE, HISTORY_MEMORIES, max_lines, render_context, render_history

# A context is rendered from at most this many memories (newest first); the count
# of matches stays exact. It bounds the work of one call on a very long session.
CONTEXT_MAX_MEMORIES = 10_000


class SessionService:
    def __init__(
        self,
        metadata: MetadataStore,
        memories: MemoryStore,
        clock: Callable[[], int] = ids.next_time_us,
    ) -> None:
        self._metadata = metadata
        self._memories = memories
        self._clock = clock

    async def create(self, principal: Principal, draft: SessionDraft) -> Session:
        require(principal, "write")
        now = self._clock()
        session = Session(
            id=draft.session_id or ids.session_id(),
            org_id=principal.org_id,
            agent_id=draft.agent_id,
            status="active",
            metadata=dict(draft.metadata or {}),
            created_at=from_us(now),
            updated_at=from_us(now),
            closed_at=None,
        )
        await self._metadata.touch_agents(principal.org_id, {draft.agent_id: now})
        try:
            return await self._metadata.insert_session(session)
        except ConflictError:
            raise ConflictError(f"session {session.id!r} already exists") from None

    async def get(self, principal: Principal, session_id: str) -> Session:
        require(principal, "read")
        session = await self._metadata.get_session(principal.org_id, session_id)
        if session is None:
            raise NotFoundError(f"session {session_id!r} not found")
        return session

    async def list(
        self, principal: Principal, agent_id: str | None, status: SessionStatus | None
    ) -> SessionList:
        require(principal, "read")
        sessions = await self._metadata.list_sessions(principal.org_id, agent_id, status)
        return SessionList(sessions=sessions, count=len(sessions))

    async def update(self, principal: Principal, session_id: str, update: SessionUpdate) -> Session:
        require(principal, "write")
        session = await self._metadata.update_session(
            principal.org_id,
            session_id,
            status=update.status,
            metadata_patch=update.metadata,
            now_us=self._clock(),
        )
        if session is None:
            raise NotFoundError(f"session {session_id!r} not found")
        return session

    async def context(
        self, principal: Principal, session_id: str, request: ContextRequest
    ) -> SessionContext:
        require(principal, "read")
        now = self._clock()
        query = MemoryQuery(
            org_id=principal.org_id,
            session_id=session_id,
            memory_types=tuple(dict.fromkeys(request.include_types or ())),
            since_us=parse_time(request.since, now_us=now, field="since") if request.since else None,
            limit=CONTEXT_MAX_MEMORIES,
            order="desc",
        )
        matched = await self._memories.count_memories(query)
        if not matched and await self._metadata.get_session(principal.org_id, session_id) is None:
            raise NotFoundError(f"session {session_id!r} not found")
        memories = await self._candidates(query, matched, request.max_tokens)
        rendered = render_context(session_id, memories, request.max_tokens, total=matched)
        return SessionContext(
            session_id=session_id,
            context=rendered.text,
            memory_count=matched,
            token_count=rendered.token_count,
            truncated=rendered.truncated,
        )

    async def _candidates(
        self, query: MemoryQuery, matched: int, max_tokens: int | None
    ) -> list[Memory]:
        """The memories a context can show, newest first. When more match than could
        ever fit the budget, only the best candidates are fetched: the newest
        ``max_lines`` of each priority rank (errors, decisions, high importance, any),
        which always contain every line the budget will keep. A 10k-memory session
        then costs four small reads instead of 10k rows."""
        if max_tokens is None or matched <= max_lines(max_tokens):
            return await self._memories.query_memories(query)
        k = max_lines(max_tokens)
        tiers = [
            query.model_copy(update={"event_types": ("error",), "limit": k}),
            query.model_copy(update={"min_importance": HIGH_IMPORTANCE, "limit": k}),
            query.model_copy(update={"limit": k}),
        ]
        if not query.memory_types or "decision" in query.memory_types:
            tiers.append(query.model_copy(update={"memory_types": ("decision",), "limit": k}))
        found = await self._memories.query_many(tiers)
        unique = {m.memory_id: m for batch in found for m in batch}
        return sorted(unique.values(), key=lambda m: m.memory_id, reverse=True)

    async def history(self, principal: Principal, request: HistoryRequest) -> AgentHistory:
        """The agent's newest memories across all its sessions, rendered within
        ``max_tokens``, so a model starting a session can pick up where it left off."""
        require(principal, "read")
        query = MemoryQuery(
            org_id=principal.org_id,
            agent_id=request.agent_id,
            limit=HISTORY_MEMORIES,
            order="desc",
        )
        memories = await self._memories.query_memories(query)
        return render_history(request.agent_id, memories, request.max_tokens)
