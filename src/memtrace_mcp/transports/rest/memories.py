"""/api/v1/memories and /api/v1/search."""


from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from ...errors import InvalidInputError, MemtraceError
from ...models import (
    BatchResult,
    EventType,
    Memory,
    MemoryBatch,
    MemoryDraft,
    MemoryFilter,
    MemoryPage,
    MemoryType,
    Order,
    Principal,
    SearchRequest,
    SearchResult,
    parse,
)
from ...service import Services
from ..http_auth import key_from_headers, scope_principal
from .deps import caller
from .errors import memtrace_error_response, unexpected_error_response
from .io import ModelResponse, body_doc, decode_json, json_body

_ERRORS = {400: {"description": "Invalid input"}, 401: {"description": "Missing or invalid key"}}


def list_filter(
    agent: Annotated[
        str | None, Query(alias="agent_id", description="Only this agent's memories.")
    ] = None,
    session: Annotated[
        str | None, Query(alias="session_id", description="Only this session's memories.")
    ] = None,
    memory_type: Annotated[MemoryType | None, Query()] = None,
    # Typed here (not only in MemoryFilter) so a bad value is reported as event_type.
    event_type: Annotated[EventType | None, Query()] = None,
    tags: Annotated[str | None, Query(description="Comma-separated; all must match exactly.")] = None,
    since: Annotated[str | None, Query(description="Relative (30m, 2h, 7d, 1w) or ISO 8601.")] = None,
    until: Annotated[str | None, Query(description="Relative (30m, 2h, 7d, 1w) or ISO 8601.")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
    order: Annotated[Order, Query()] = "desc",
) -> MemoryFilter:
    tag_list = [t.strip() for t in tags.split(",") if t.strip()] if tags is not None else None
    return parse(
        MemoryFilter,
        {
            "agent_id": agent,
            "session_id": session,
            "memory_types": [memory_type] if memory_type else None,
            "event_types": [event_type] if event_type is not None else None,
            "tags": tag_list or None,
            "since": since,
            "until": until,
            "limit": limit,
            "offset": offset,
            "order": order,
        },
    )


async def create(services: Services, principal: Principal, raw: bytes) -> Memory | BatchResult:
    """POST /api/v1/memories: one memory, or ``{"memories": [...]}``."""
    data = decode_json(raw)
    if not isinstance(data, dict):
        raise InvalidInputError("request body must be a JSON object", field="body")
    if "memories" in data:
        batch = parse(MemoryBatch, data)
        return await services.memories.remember_batch(principal, batch.memories)
    return await services.memories.remember(principal, parse(MemoryDraft, data))


class CreateFastPath:
    """``POST /api/v1/memories``, the busiest route, answered below the framework.

    Agents store a memory on every step: the framework's middleware stack, routing
    and request objects were a third of the event loop's time per create. This
    pure-ASGI layer does what the route does (the same key check, the same
    ``create``, the same error responses) and hands every other request on."""

    def __init__(self, app: ASGIApp, services: Services) -> None:
        self.app = app
        self.services = services

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != _CREATE_PATH or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        response: Response
        try:
            principal = await self.services.auth.authenticate(key_from_headers(scope["headers"]))
            raw = await _body(receive)
            if raw is None:
                return  # the client went away; nothing was stored
            response = ModelResponse(await create(self.services, principal, raw), 201)
        except MemtraceError as exc:
            response = memtrace_error_response(exc)
        except Exception as exc:  # noqa: BLE001 - the framework would answer 500 too
            response = unexpected_error_response(exc)
        await response(scope, receive, send)


_CREATE_PATH = "/api/v1/memories"


async def _body(receive: Receive) -> bytes | None:
    """The whole request body (BodyLimit, outside, bounds it); None on disconnect."""
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)


def router(services: Services) -> APIRouter:
    api = APIRouter(prefix="/api/v1", tags=["memories"], responses=_ERRORS)
    Caller = Annotated[Principal, Depends(caller)]
    Filter = Annotated[MemoryFilter, Depends(list_filter)]

    @api.post(
        "/memories",
        status_code=201,
        response_model=Memory | BatchResult,
        summary="Store one memory, or a batch of up to 1000",
        openapi_extra=body_doc(MemoryDraft, MemoryBatch),
        responses={409: {"description": "Duplicate (single create)"}},
    )
    async def create_memories(request: Request) -> Response:
        # Served by CreateFastPath in the running server; this route documents the
        # operation and serves apps built without it, with the same function.
        principal = scope_principal(request.scope)
        return ModelResponse(await create(services, principal, await request.body()), 201)

    @api.get("/memories", response_model=MemoryPage, summary="List memories, newest first")
    async def list_memories(principal: Caller, flt: Filter) -> Response:
        return ModelResponse(await services.memories.list(principal, flt))

    @api.get("/memories/{memory_id}", response_model=Memory, summary="Get one memory")
    async def get_memory(memory_id: str, principal: Caller) -> Response:
        return ModelResponse(await services.memories.get(principal, memory_id))

    @api.delete("/memories/{memory_id}", status_code=204, summary="Forget one memory")
    async def delete_memory(memory_id: str, principal: Caller) -> Response:
        await services.memories.forget(principal, memory_id)
        return Response(status_code=204)

    @api.post(
        "/search",
        response_model=SearchResult,
        summary="Search memories with structured filters",
        tags=["search"],
        openapi_extra=body_doc(SearchRequest, required=False),
    )
    async def search(
        principal: Caller,
        request: Annotated[SearchRequest, Depends(json_body(SearchRequest, optional=True))],
    ) -> Response:
        return ModelResponse(await services.memories.search(principal, request))

    return api
