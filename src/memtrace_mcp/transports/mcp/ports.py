"""What the MCP tools need from the core, as a protocol.

Two things satisfy it: the in-process ``Services`` (stdio and HTTP faces) and
``RemoteServices`` (stdio remote mode, over another server's REST API). Writing it
down keeps the two honest: a tool can only call what both offer, with the same
arguments and the same return shapes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from mcp.server.mcpserver import Context

from ...models import (
    AgentHistory,
    ContextRequest,
    HistoryRequest,
    Memory,
    MemoryDraft,
    Principal,
    SearchRequest,
    SearchResult,
    Session,
    SessionContext,
    SessionDraft,
    SessionUpdate,
)


class MemoryOps(Protocol):
    async def remember(self, principal: Principal, draft: MemoryDraft) -> Memory: ...

    async def search(self, principal: Principal, request: SearchRequest) -> SearchResult: ...

    async def forget(self, principal: Principal, ref: str) -> None: ...


class SessionOps(Protocol):
    async def create(self, principal: Principal, draft: SessionDraft) -> Session: ...

    async def update(
        self, principal: Principal, session_id: str, update: SessionUpdate
    ) -> Session: ...

    async def context(
        self, principal: Principal, session_id: str, request: ContextRequest
    ) -> SessionContext: ...

    async def history(self, principal: Principal, request: HistoryRequest) -> AgentHistory: ...


class ToolServices(Protocol):
    @property
    def memories(self) -> MemoryOps: ...

    @property
    def sessions(self) -> SessionOps: ...


PrincipalSource = Callable[[Context[Any, Any]], Principal]
"""Who is calling, for one request: stdio answers the trusted local principal,
HTTP the principal the API-key gate attached to that request."""
