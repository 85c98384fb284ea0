"""/api/v1/sessions."""


from typing import Annotated

from fastapi import APIRouter, Depends, Query
from starlette.responses import Response

from ...models import (
    ContextRequest,
    MemoryFilter,
    MemoryPage,
    Principal,
    Session,
    SessionContext,
    SessionDraft,
    SessionList,
    SessionStatus,
    SessionUpdate,
)
from ...service import Services
from .deps import caller
from .io import ModelResponse, body_doc, json_body
from .memories import list_filter

_ERRORS = {
    400: {"description": "Invalid input"},
    401: {"description": "Missing or invalid key"},
    404: {"description": "No such session in this org"},
}


def router(services: Services) -> APIRouter:
    api = APIRouter(prefix="/api/v1/sessions", tags=["sessions"], responses=_ERRORS)
    Caller = Annotated[Principal, Depends(caller)]
    Update = Annotated[SessionUpdate, Depends(json_body(SessionUpdate))]

    @api.post(
        "",
        status_code=201,
        response_model=Session,
        summary="Start a session",
        openapi_extra=body_doc(SessionDraft),
        responses={409: {"description": "The client-chosen session_id is taken"}},
    )
    async def create_session(
        principal: Caller, draft: Annotated[SessionDraft, Depends(json_body(SessionDraft))]
    ) -> Response:
        return ModelResponse(await services.sessions.create(principal, draft), 201)

    @api.get("", response_model=SessionList, summary="List sessions, newest first")
    async def list_sessions(
        principal: Caller,
        agent_id: Annotated[str | None, Query()] = None,
        status: Annotated[SessionStatus | None, Query()] = None,
    ) -> Response:
        return ModelResponse(await services.sessions.list(principal, agent_id, status))

    @api.get("/{session_id}", response_model=Session, summary="Get a session")
    async def get_session(session_id: str, principal: Caller) -> Response:
        return ModelResponse(await services.sessions.get(principal, session_id))

    update_doc = body_doc(SessionUpdate)

    @api.put("/{session_id}", response_model=Session, summary="Update status or metadata",
             openapi_extra=update_doc)
    async def put_session(session_id: str, principal: Caller, update: Update) -> Response:
        return ModelResponse(await services.sessions.update(principal, session_id, update))

    @api.patch("/{session_id}", response_model=Session, summary="Update status or metadata",
               openapi_extra=update_doc)
    async def patch_session(session_id: str, principal: Caller, update: Update) -> Response:
        return ModelResponse(await services.sessions.update(principal, session_id, update))

    @api.get(
        "/{session_id}/memories", response_model=MemoryPage, summary="List this session's memories"
    )
    async def session_memories(
        session_id: str,
        principal: Caller,
        flt: Annotated[MemoryFilter, Depends(list_filter)],
    ) -> Response:
        scoped = flt.model_copy(update={"session_id": session_id})
        return ModelResponse(await services.memories.list(principal, scoped))

    @api.post(
        "/{session_id}/context",
        response_model=SessionContext,
        summary="LLM-ready markdown context of a session",
        openapi_extra=body_doc(ContextRequest, required=False),
    )
    async def session_context(
        session_id: str,
        principal: Caller,
        request: Annotated[ContextRequest, Depends(json_body(ContextRequest, optional=True))],
    ) -> Response:
        return ModelResponse(await services.sessions.context(principal, session_id, request))

    return api
