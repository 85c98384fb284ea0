"""Tool argument types, taken from the core's models so that the JSON schema a
model sees carries exactly the constraints the core enforces (patterns, lengths,
ranges, enums), written once in ``models.py``.

``like(Model, "field", "...")`` is that field's type and constraints with a
description worded for a model. Tools still build the core's input through
``models.parse``, so the core validates as it does for REST; the schema only
lets a client (and the SDK) catch the same mistakes earlier.
"""

from __future__ import annotations

import types
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel, Field

from ...models import (
    ContextRequest,
    HistoryRequest,
    MemoryDraft,
    SearchRequest,
    SessionDraft,
)

SEARCH_DEFAULT = 10
SEARCH_MAX = 50  # a face bound: at most this many hits per call, to protect the context
CONTEXT_TOKENS_DEFAULT = 2000


def like(
    model: type[BaseModel], name: str, description: str, *, nullable: bool | None = None
) -> Any:
    """``model.name``'s type and constraints, described for a model. ``nullable``
    True adds null (the tool argument is optional), False removes it (the tool
    always passes a value), None keeps the field's own type."""
    info = model.model_fields[name]
    base: Any = info.annotation
    if nullable is False and get_origin(base) in (Union, types.UnionType):
        base = Union[tuple(a for a in get_args(base) if a is not type(None))]  # noqa: UP007
    annotation: Any = Annotated[(base, *info.metadata)] if info.metadata else base
    if nullable:
        annotation = annotation | None
    return Annotated[annotation, Field(description=description)]


def default(model: type[BaseModel], name: str) -> Any:
    """The core's default for ``model.name``, shown in the tool's schema."""
    return model.model_fields[name].default


# The core's defaults, used as the tools' own (and so shown in their schemas).
MEMORY_TYPE_DEFAULT = default(MemoryDraft, "memory_type")
EVENT_TYPE_DEFAULT = default(MemoryDraft, "event_type")
IMPORTANCE_DEFAULT = default(MemoryDraft, "importance")
OFFSET_DEFAULT = default(SearchRequest, "offset")
ORDER_DEFAULT = default(SearchRequest, "order")
HISTORY_TOKENS_DEFAULT = default(HistoryRequest, "max_tokens")


TIME_HELP = "Relative (30m, 2h, 7d, 1w ago) or ISO 8601 (UTC if no offset)."

AgentId = like(
    MemoryDraft,
    "agent_id",
    "Whose memory this is. Leave it out to use the configured agent.",
)
Content = like(
    MemoryDraft,
    "content",
    "The memory itself, one self-contained fact, action or observation in plain text, "
    'e.g. "Deployed v2.3 to staging; smoke tests passed".',
)
Decision = like(
    MemoryDraft,
    "content",
    'The decision, in one sentence, e.g. "Use PostgreSQL instead of MongoDB for orders".',
)
MemoryType = like(
    MemoryDraft,
    "memory_type",
    "episodic: something done or observed (default); decision: a choice made "
    "(prefer log_decision); entity: a fact about a person, system or thing; "
    "session: a note about the session itself, e.g. its summary.",
)
EventType = like(
    MemoryDraft,
    "event_type",
    'Short kind label, e.g. "deploy", "bug_found", "user_preference". '
    'Use "error" for failures: they are always shown first in context.',
)
SessionId = like(
    MemoryDraft,
    "session_id",
    "Session this belongs to (from start_session).",
    nullable=True,
)
Tags = like(MemoryDraft, "tags", 'Exact-match labels, e.g. ["billing", "prod"].', nullable=True)
Importance = like(
    MemoryDraft, "importance", "0.0-1.0; higher is kept first when context is tight."
)
Metadata = like(MemoryDraft, "metadata", "Small JSON object of extra fields.", nullable=True)
DedupKey = like(
    MemoryDraft,
    "dedup_key",
    "Your own idempotency key; a second store with the same key within the dedup "
    "window is refused as a duplicate.",
    nullable=True,
)

Query = like(
    SearchRequest,
    "content_contains",
    "Case-insensitive substring the content must contain (not semantic search: "
    'use one distinctive word or short phrase, e.g. "staging").',
    nullable=True,
)
SearchSession = like(SearchRequest, "session_id", "Only this session's memories.", nullable=True)
MemoryTypes = like(SearchRequest, "memory_types", "Only these memory types.", nullable=True)
EventTypes = like(SearchRequest, "event_types", "Only these event types.", nullable=True)
SearchTags = like(SearchRequest, "tags", "Memories must carry all of these tags.", nullable=True)
MinImportance = like(SearchRequest, "min_importance", "Only at least this important.", nullable=True)
Since = like(SearchRequest, "since", "Only newer than this. " + TIME_HELP, nullable=True)
Until = like(SearchRequest, "until", "Only older than this. " + TIME_HELP, nullable=True)
Offset = like(SearchRequest, "offset", "Skip this many results (paging; see next_offset).")
Order = like(SearchRequest, "order", "desc: newest first (default); asc: oldest first.")
Limit = Annotated[
    int, Field(ge=1, le=SEARCH_MAX, description=f"Most results to return (max {SEARCH_MAX}).")
]

ContextSince = like(ContextRequest, "since", "Only memories newer than this. " + TIME_HELP, nullable=True)
IncludeTypes = like(ContextRequest, "include_types", "Only these memory types.", nullable=True)
MaxTokens = like(
    ContextRequest,
    "max_tokens",
    "Hard token budget of the returned context; important lines are kept first.",
    nullable=False,
)
HistoryTokens = like(
    HistoryRequest,
    "max_tokens",
    "Token budget of the recent-history summary returned with the new session.",
)
NewSessionId = like(
    SessionDraft,
    "session_id",
    "Your own id for the session; a random sess_... id is made if left out.",
    nullable=True,
)
SessionMetadata = like(
    SessionDraft, "metadata", 'What the session is about, e.g. {"task": "fix login bug"}.',
    nullable=True,
)
ExistingSession = like(
    SessionDraft, "session_id", "The session id returned by start_session.", nullable=False
)
MemoryRef = Annotated[
    str,
    Field(
        min_length=1,
        max_length=64,
        description="A memory_id from store_memory or search_memories, or the short "
        "#id shown in session context (e.g. #3f9a1c2b7d4e).",
    ),
]

ALL_AGENTS = "*"
SearchAgent: Any = Annotated[
    Literal["*"] | like(MemoryDraft, "agent_id", "An agent id."),
    Field(
        description="Whose memories to search: leave it out for the configured agent's, "
        'or pass "*" for every agent in your organization.'
    ),
]
