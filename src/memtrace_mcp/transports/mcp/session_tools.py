"""The session tools (start_session, end_session, get_session_context) and the
session-context resource ``memtrace://sessions/{session_id}/context``.

As in ``tools.py``: parse with the core's models, call the service, wrap the
answer. Context comes back as markdown text (what a model reads) plus the
``SessionContext`` counts as structured content.

No ``from __future__ import annotations``: the SDK reads these annotations.
"""

from typing import Annotated, Any

from mcp.server.mcpserver import Context, MCPServer
from mcp.types import CallToolResult, ToolAnnotations

from ...models import (
    ContextRequest,
    HistoryRequest,
    SessionContext,
    SessionDraft,
    SessionUpdate,
    parse,
)
from . import args
from .ports import PrincipalSource, ToolServices
from .shapes import EndedSession, StartedSession, result
from .tools import READS, WRITES, given, tool

CLOSES = ToolAnnotations(
    read_only_hint=False, destructive_hint=False, idempotent_hint=True, open_world_hint=False
)
CONTEXT_URI = "memtrace://sessions/{session_id}/context"


def register(
    server: MCPServer[Any],
    services: ToolServices,
    *,
    agent_id: str,
    principal: PrincipalSource,
) -> None:
    me = agent_id
    who = principal

    @tool(server, "Start a session", WRITES)
    async def start_session(
        ctx: Context[Any, Any],
        agent_id: args.AgentId = me,
        metadata: args.SessionMetadata = None,
        session_id: args.NewSessionId = None,
        history_tokens: args.HistoryTokens = args.HISTORY_TOKENS_DEFAULT,
    ) -> Annotated[CallToolResult, StartedSession]:
        """Begin a unit of work (a task, a conversation) and get your bearings.
        Call it first. Returns the new session_id (pass it to store_memory,
        log_decision and get_session_context) and a short markdown summary of your
        most recent memories across earlier sessions (errors and decisions first),
        so you can resume where you left off.
        Example: {"metadata": {"task": "fix the login bug"}}"""
        draft = parse(SessionDraft, given(agent_id=agent_id, metadata=metadata, session_id=session_id))
        wanted = parse(HistoryRequest, {"agent_id": agent_id, "max_tokens": history_tokens})
        caller = who(ctx)
        session = await services.sessions.create(caller, draft)
        started = StartedSession.of(session, await services.sessions.history(caller, wanted))
        text = (
            f"Started session {session.id} for agent {session.agent_id}. Pass "
            f'session_id="{session.id}" to store_memory and log_decision; call end_session '
            "when done.\n\n"
            + (started.history.context or "No earlier memories for this agent.")
        )
        return result(started, text)

    @tool(server, "End a session", CLOSES)
    async def end_session(
        ctx: Context[Any, Any], session_id: args.ExistingSession
    ) -> Annotated[CallToolResult, EndedSession]:
        """Mark a session closed when its task is finished. Store a short summary
        first (store_memory with memory_type "session") so the next start_session
        shows it. Returns the session's status ("closed") and closed_at time. The
        session's memories are kept. Example: {"session_id": "sess_..."}"""
        closed = await services.sessions.update(
            who(ctx), session_id, parse(SessionUpdate, {"status": "closed"})
        )
        return result(EndedSession.of(closed))

    @tool(server, "Get session context", READS)
    async def get_session_context(
        ctx: Context[Any, Any],
        session_id: args.ExistingSession,
        since: args.ContextSince = None,
        include_types: args.IncludeTypes = None,
        max_tokens: args.MaxTokens = args.CONTEXT_TOKENS_DEFAULT,
    ) -> Annotated[CallToolResult, SessionContext]:
        """Get one session's memories as LLM-ready markdown: recent actions,
        decisions (with reasoning), errors, known entities and notes, each line with
        its ISO time and a short #id. Use it to recall a session before continuing
        it. Returns the markdown (never more than max_tokens: long contents are
        shortened, errors, decisions and important memories are kept first) and
        counts: memory_count matched, token_count, truncated.
        Example: {"session_id": "sess_...", "max_tokens": 1500}"""
        request = parse(
            ContextRequest,
            given(since=since, include_types=include_types, max_tokens=max_tokens),
        )
        context = await services.sessions.context(who(ctx), session_id, request)
        return result(context, context.context)

    @server.resource(
        CONTEXT_URI,
        name="session_context",
        title="Session context",
        description="A session's memories as LLM-ready markdown (same as "
        f"get_session_context with max_tokens={args.CONTEXT_TOKENS_DEFAULT}).",
        mime_type="text/markdown",
    )
    async def session_context(session_id: str, ctx: Context[Any, Any]) -> str:
        request = parse(ContextRequest, {"max_tokens": args.CONTEXT_TOKENS_DEFAULT})
        context = await services.sessions.context(who(ctx), session_id, request)
        return context.context
