"""The memory tools: store_memory, log_decision, search_memories, forget_memory.

Each tool builds the core's input with ``models.parse`` (the same validation as
REST), makes one service call, and wraps the answer in a compact view. Defaults
shown in the schema are the core's own (``args.default``) or, for ``agent_id``,
the configured agent. Failures propagate; ``errors.py`` words them.

No ``from __future__ import annotations`` here: the SDK reads the parameter
annotations to build each tool's JSON schema, and they close over ``args``.
"""

import inspect
from collections.abc import Callable
from typing import Annotated, Any, TypeVar

from mcp.server.mcpserver import Context, MCPServer
from mcp.types import CallToolResult, ToolAnnotations
from pydantic import Field

from ...models import MemoryDraft, SearchRequest, parse
from . import args
from .args import ALL_AGENTS
from .ports import PrincipalSource, ToolServices
from .shapes import ForgottenMemory, MemoryHit, SearchHits, StoredMemory, result

WRITES = ToolAnnotations(
    read_only_hint=False, destructive_hint=False, idempotent_hint=False, open_world_hint=False
)
READS = ToolAnnotations(
    read_only_hint=True, destructive_hint=False, idempotent_hint=True, open_world_hint=False
)
DELETES = ToolAnnotations(
    read_only_hint=False, destructive_hint=True, idempotent_hint=True, open_world_hint=False
)


F = TypeVar("F", bound=Callable[..., Any])


def tool(server: MCPServer[Any], title: str, annotations: ToolAnnotations) -> Callable[[F], F]:
    """Register ``fn`` as a tool described by its docstring, dedented (the SDK
    would keep the source indentation, which costs a model tokens)."""

    def decorate(fn: F) -> F:
        server.add_tool(
            fn, title=title, description=inspect.cleandoc(fn.__doc__ or ""), annotations=annotations
        )
        return fn

    return decorate


def given(**values: Any) -> dict[str, Any]:
    """Only the arguments the caller gave, so the core's defaults apply to the rest."""
    return {k: v for k, v in values.items() if v is not None}


def register(
    server: MCPServer[Any],
    services: ToolServices,
    *,
    agent_id: str,
    principal: PrincipalSource,
) -> None:
    me = agent_id
    who = principal

    @tool(server, "Store a memory", WRITES)
    async def store_memory(
        ctx: Context[Any, Any],
        content: args.Content,
        memory_type: args.MemoryType = args.MEMORY_TYPE_DEFAULT,
        event_type: args.EventType = args.EVENT_TYPE_DEFAULT,
        session_id: args.SessionId = None,
        tags: args.Tags = None,
        importance: args.Importance = args.IMPORTANCE_DEFAULT,
        metadata: args.Metadata = None,
        dedup_key: args.DedupKey = None,
        agent_id: args.AgentId = me,
    ) -> Annotated[CallToolResult, StoredMemory]:
        """Save one memory (something you did, observed or learned) so that you or
        another agent can find it later. Use it whenever a result, fact or failure
        would be worth knowing next time; one fact per call. Returns the new
        memory_id and its time. Storing the same content twice within the dedup
        window (24h by default) is refused as a duplicate, naming the existing id.
        Example: {"content": "Login bug caused by expired JWT secret in staging",
        "event_type": "bug_found", "session_id": "sess_...", "tags": ["auth"]}"""
        draft = parse(
            MemoryDraft,
            given(
                agent_id=agent_id, content=content, memory_type=memory_type,
                event_type=event_type, session_id=session_id, tags=tags,
                importance=importance, metadata=metadata, dedup_key=dedup_key,
            ),
        )
        return result(StoredMemory.of(await services.memories.remember(who(ctx), draft)))

    @tool(server, "Log a decision", WRITES)
    async def log_decision(
        ctx: Context[Any, Any],
        decision: args.Decision,
        reasoning: Annotated[
            str, Field(min_length=1, description="Why: the facts and trade-offs behind it.")
        ],
        session_id: args.SessionId = None,
        event_type: args.EventType = "decision",
        tags: args.Tags = None,
        importance: args.Importance = args.IMPORTANCE_DEFAULT,
        agent_id: args.AgentId = me,
    ) -> Annotated[CallToolResult, StoredMemory]:
        """Record a decision you made and why, as a memory of type "decision".
        Decisions are listed before routine actions in session context, with their
        reasoning, so later you (or a teammate) know what was chosen and why.
        Returns the new memory_id and its time.
        Example: {"decision": "Use PostgreSQL instead of MongoDB for orders",
        "reasoning": "Orders need multi-row transactions", "session_id": "sess_..."}"""
        draft = parse(
            MemoryDraft,
            given(
                agent_id=agent_id, content=decision, memory_type="decision",
                event_type=event_type, session_id=session_id, tags=tags,
                importance=importance, metadata={"reasoning": reasoning},
            ),
        )
        return result(StoredMemory.of(await services.memories.remember(who(ctx), draft)))

    @tool(server, "Search memories", READS)
    async def search_memories(
        ctx: Context[Any, Any],
        query: args.Query = None,
        agent_id: args.SearchAgent = me,
        session_id: args.SearchSession = None,
        memory_types: args.MemoryTypes = None,
        event_types: args.EventTypes = None,
        tags: args.SearchTags = None,
        min_importance: args.MinImportance = None,
        since: args.Since = None,
        until: args.Until = None,
        limit: args.Limit = args.SEARCH_DEFAULT,
        offset: args.Offset = args.OFFSET_DEFAULT,
        order: args.Order = args.ORDER_DEFAULT,
    ) -> Annotated[CallToolResult, SearchHits]:
        """Find stored memories by filters: a word or phrase in the content, type,
        tags, session and time range (all optional, combined with AND). Use it
        before redoing work, to recall what happened, or to look up a memory_id.
        Returns up to `limit` memories, newest first, each with memory_id, ISO time,
        type, a content preview (long contents are shortened) and, for decisions,
        the reasoning; has_more/next_offset page through the rest.
        Example: {"query": "staging", "since": "7d", "limit": 10}"""
        request = parse(
            SearchRequest,
            given(
                agent_id=None if agent_id == ALL_AGENTS else agent_id,
                content_contains=query, session_id=session_id, memory_types=memory_types,
                event_types=event_types, tags=tags, min_importance=min_importance,
                since=since, until=until, limit=limit, offset=offset, order=order,
            ),
        )
        found = await services.memories.search(who(ctx), request)
        hits = SearchHits(
            results=[MemoryHit.of(m) for m in found.results],
            count=found.count,
            has_more=found.has_more,
            next_offset=offset + found.count if found.has_more else None,
        )
        return result(hits)

    @tool(server, "Forget a memory", DELETES)
    async def forget_memory(
        ctx: Context[Any, Any], memory_id: args.MemoryRef
    ) -> Annotated[CallToolResult, ForgottenMemory]:
        """Permanently delete one memory, e.g. one that is wrong, obsolete or holds
        something that must not be kept. It disappears from every search and context
        at once and cannot be restored. Returns the id and forgotten=true.
        Example: {"memory_id": "0190f1e2-7a3b-7c4d-8e5f-3f9a1c2b7d4e"}"""
        await services.memories.forget(who(ctx), memory_id)
        return result(ForgottenMemory(memory_id=memory_id, forgotten=True))
