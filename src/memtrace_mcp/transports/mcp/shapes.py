"""Compact views of core results, for a model's context window.

A tool answers with these (as structured content, and as compact JSON text)
instead of the full ``Memory``: no org id, dedup key or free-form metadata, and
contents cut to a preview, so a search of 50 hits stays a few thousand tokens.
The full record is one REST call away for a human; a model needs the id, the
time, what happened, and for decisions why.
"""

from __future__ import annotations

from datetime import datetime

from mcp.types import CallToolResult, TextContent
from pydantic import BaseModel, Field

from ...models import AgentHistory, Memory, Session

PREVIEW_CHARS = 500  # longest content (and reasoning) shown per search hit
_ELLIPSIS = "…"


def preview(text: str, limit: int = PREVIEW_CHARS) -> tuple[str, bool]:
    if len(text) <= limit:
        return text, False
    return text[:limit].rstrip() + _ELLIPSIS, True


class MemoryHit(BaseModel):
    memory_id: str
    time: datetime = Field(description="UTC, ISO 8601.")
    agent_id: str
    session_id: str | None
    memory_type: str
    event_type: str
    content: str = Field(description=f"At most {PREVIEW_CHARS} characters; see content_truncated.")
    content_truncated: bool
    tags: list[str]
    importance: float
    reasoning: str | None = Field(None, description="For decisions: why (from log_decision).")

    @classmethod
    def of(cls, memory: Memory) -> MemoryHit:
        content, cut = preview(memory.content)
        reasoning = memory.metadata.get("reasoning")
        return cls(
            memory_id=memory.memory_id,
            time=memory.time,
            agent_id=memory.agent_id,
            session_id=memory.session_id,
            memory_type=memory.memory_type,
            event_type=memory.event_type,
            content=content,
            content_truncated=cut,
            tags=memory.tags,
            importance=memory.importance,
            reasoning=preview(reasoning)[0] if isinstance(reasoning, str) and reasoning else None,
        )


class SearchHits(BaseModel):
    results: list[MemoryHit]
    count: int
    has_more: bool
    next_offset: int | None = Field(description="Pass as offset to get the next page.")


class StoredMemory(BaseModel):
    memory_id: str
    time: datetime
    agent_id: str
    session_id: str | None
    memory_type: str
    event_type: str

    @classmethod
    def of(cls, memory: Memory) -> StoredMemory:
        return cls.model_validate(memory.model_dump(include=set(cls.model_fields)))


class StartedSession(BaseModel):
    session_id: str
    agent_id: str
    status: str
    created_at: datetime
    history: AgentHistory

    @classmethod
    def of(cls, session: Session, history: AgentHistory) -> StartedSession:
        return cls(
            session_id=session.id,
            agent_id=session.agent_id,
            status=session.status,
            created_at=session.created_at,
            history=history,
        )


class EndedSession(BaseModel):
    session_id: str
    agent_id: str
    status: str
    closed_at: datetime | None

    @classmethod
    def of(cls, session: Session) -> EndedSession:
        return cls(
            session_id=session.id,
            agent_id=session.agent_id,
            status=session.status,
            closed_at=session.closed_at,
        )


class ForgottenMemory(BaseModel):
    memory_id: str = Field(description="The id as given (full or short form).")
    forgotten: bool


def result(model: BaseModel, text: str | None = None) -> CallToolResult:
    """A tool result: ``model`` as structured content, and as text either ``text``
    (markdown a model reads directly) or the model's compact JSON."""
    return CallToolResult(
        content=[TextContent(type="text", text=text if text is not None else model.model_dump_json())],
        structured_content=model.model_dump(mode="json"),
    )
