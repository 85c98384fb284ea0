"""Remote mode: the MCP tools' services, forwarded to another memtrace server's
REST API (``MEMTRACE_URL`` + ``MEMTRACE_API_KEY``), so a desktop client's stdio
server can use a team server.

``RemoteServices`` offers what ``ports.ToolServices`` asks for, with the same
arguments and return models as the in-process services, so the tools (and
their outputs) are the same in both modes. The remote server does the work and
enforces every rule; its key decides the org and scopes, so the ``principal``
argument is ignored here. Errors are translated in one place, ``_send``: the
server's ``{"error", "message"}`` back into our ``MemtraceError`` classes, and
transport failures and 5xx into ``UnavailableError`` (never httpx's text).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import quote

import httpx
from pydantic import BaseModel, ValidationError

from ...errors import (
    ConflictError,
    DuplicateMemoryError,
    ForbiddenError,
    InvalidInputError,
    MemtraceError,
    NotFoundError,
    PayloadTooLargeError,
    UnauthorizedError,
    UnavailableError,
)
from ...models import (
    AgentHistory,
    ContextRequest,
    HistoryRequest,
    Memory,
    MemoryDraft,
    MemoryPage,
    Principal,
    SearchRequest,
    SearchResult,
    Session,
    SessionContext,
    SessionDraft,
    SessionUpdate,
)
from ...service.context import HISTORY_MEMORIES, render_history

M = TypeVar("M", bound=BaseModel)

_ERRORS: dict[str, type[MemtraceError]] = {
    "invalid_request": InvalidInputError,
    "unauthorized": UnauthorizedError,
    "forbidden": ForbiddenError,
    "not_found": NotFoundError,
    "conflict": ConflictError,
    "payload_too_large": PayloadTooLargeError,
    "unavailable": UnavailableError,
}


def _segment(value: str) -> str:
    return quote(value, safe="")


class RemoteClient:
    """One HTTP client for the remote server; the only place its answers are read."""

    def __init__(self, http: httpx.AsyncClient) -> None:
        self._http = http
        self._where = str(http.base_url).rstrip("/")

    async def send(self, method: str, path: str, *, json: Any = None, params: Any = None) -> Any:
        try:
            response = await self._http.request(method, path, json=json, params=params)
        except httpx.HTTPError:
            raise UnavailableError(f"cannot reach the memtrace server at {self._where}") from None
        if response.status_code == 204:
            return None
        try:
            body = response.json()
        except ValueError:
            body = None
        if response.is_success and body is not None:
            return body
        raise self._error(response.status_code, body)

    async def model(self, model: type[M], method: str, path: str, **kwargs: Any) -> M:
        body = await self.send(method, path, **kwargs)
        try:
            return model.model_validate(body)
        except ValidationError:
            raise UnavailableError(
                f"the memtrace server at {self._where} sent an answer this client does not understand"
            ) from None

    def _error(self, status: int, body: Any) -> MemtraceError:
        code = body.get("error") if isinstance(body, dict) else None
        message = body.get("message") if isinstance(body, dict) else None
        if status < 500 and isinstance(code, str) and isinstance(message, str):
            if code == "duplicate":
                return DuplicateMemoryError(
                    message,
                    memory_id=str(body.get("memory_id", "")),
                    dedup_key=str(body.get("dedup_key", "")),
                )
            if code in _ERRORS:
                field = body.get("field")
                return _ERRORS[code](message, field=field if isinstance(field, str) else None)
        # A 5xx (or an answer that is not ours) says nothing a model can act on.
        return UnavailableError(f"the memtrace server at {self._where} failed (HTTP {status})")


class RemoteMemories:
    def __init__(self, client: RemoteClient) -> None:
        self._client = client

    async def remember(self, principal: Principal, draft: MemoryDraft) -> Memory:
        body = draft.model_dump(mode="json", exclude_none=True)
        return await self._client.model(Memory, "POST", "/api/v1/memories", json=body)

    async def search(self, principal: Principal, request: SearchRequest) -> SearchResult:
        body = request.model_dump(mode="json", exclude_none=True)
        return await self._client.model(SearchResult, "POST", "/api/v1/search", json=body)

    async def forget(self, principal: Principal, ref: str) -> None:
        await self._client.send("DELETE", f"/api/v1/memories/{_segment(ref)}")


class RemoteSessions:
    def __init__(self, client: RemoteClient) -> None:
        self._client = client

    async def create(self, principal: Principal, draft: SessionDraft) -> Session:
        body = draft.model_dump(mode="json", exclude_none=True)
        return await self._client.model(Session, "POST", "/api/v1/sessions", json=body)

    async def update(self, principal: Principal, session_id: str, update: SessionUpdate) -> Session:
        body = update.model_dump(mode="json", exclude_unset=True)
        path = f"/api/v1/sessions/{_segment(session_id)}"
        return await self._client.model(Session, "PATCH", path, json=body)

    async def context(
        self, principal: Principal, session_id: str, request: ContextRequest
    ) -> SessionContext:
        body = request.model_dump(mode="json", exclude_none=True)
        path = f"/api/v1/sessions/{_segment(session_id)}/context"
        return await self._client.model(SessionContext, "POST", path, json=body)

    async def history(self, principal: Principal, request: HistoryRequest) -> AgentHistory:
        # The server has no history route: fetch the same memories the local
        # service would and render them with the same function.
        path = f"/api/v1/agents/{_segment(request.agent_id)}/memories"
        params = {"limit": HISTORY_MEMORIES, "order": "desc"}
        page = await self._client.model(MemoryPage, "GET", path, params=params)
        return render_history(request.agent_id, page.memories, request.max_tokens)


class RemoteServices:
    """``ToolServices`` over a remote memtrace server."""

    def __init__(self, client: RemoteClient) -> None:
        self.memories = RemoteMemories(client)
        self.sessions = RemoteSessions(client)


@asynccontextmanager
async def open_remote(
    url: str, api_key: str, *, timeout_s: float = 30.0, transport: httpx.AsyncBaseTransport | None = None
) -> AsyncIterator[RemoteServices]:
    headers = {"x-api-key": api_key, "user-agent": "memtrace-mcp-remote"}
    async with httpx.AsyncClient(
        base_url=url.rstrip("/"), headers=headers, timeout=timeout_s, transport=transport
    ) as http:
        yield RemoteServices(RemoteClient(http))


if TYPE_CHECKING:  # both implementations satisfy the tools' port (checked by mypy)
    from ...service import Services
    from .ports import ToolServices

    def _same_interface(remote: RemoteServices, local: Services) -> list[ToolServices]:
        return [remote, local]
