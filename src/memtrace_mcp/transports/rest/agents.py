"""/api/v1/agents."""


from typing import Annotated

from fastapi import APIRouter, Depends, Query
from starlette.responses import Response

from ...models import Agent, AgentDraft, AgentList, AgentStats, MemoryFilter, MemoryPage, Principal
from ...service import Services
from .deps import caller
from .io import ModelResponse, body_doc, json_body
from .memories import list_filter

_ERRORS = {
    400: {"description": "Invalid input"},
    401: {"description": "Missing or invalid key"},
    404: {"description": "No such agent in this org"},
}


def router(services: Services) -> APIRouter:
    api = APIRouter(prefix="/api/v1/agents", tags=["agents"], responses=_ERRORS)
    Caller = Annotated[Principal, Depends(caller)]

    @api.post(
        "",
        status_code=201,
        response_model=Agent,
        summary="Register an agent (its id is its name)",
        openapi_extra=body_doc(AgentDraft),
        responses={409: {"description": "An agent with this name exists"}},
    )
    async def register_agent(
        principal: Caller, draft: Annotated[AgentDraft, Depends(json_body(AgentDraft))]
    ) -> Response:
        return ModelResponse(await services.agents.register(principal, draft), 201)

    @api.get("", response_model=AgentList, summary="List the org's agents")
    async def list_agents(principal: Caller) -> Response:
        return ModelResponse(await services.agents.list(principal))

    @api.get("/{agent_id}", response_model=Agent, summary="Get an agent")
    async def get_agent(agent_id: str, principal: Caller) -> Response:
        return ModelResponse(await services.agents.get(principal, agent_id))

    @api.get("/{agent_id}/stats", response_model=AgentStats, summary="Memory statistics")
    async def agent_stats(agent_id: str, principal: Caller) -> Response:
        return ModelResponse(await services.agents.stats(principal, agent_id))

    @api.get(
        "/{agent_id}/memories", response_model=MemoryPage, summary="List this agent's memories"
    )
    async def agent_memories(
        agent_id: str,
        principal: Caller,
        flt: Annotated[MemoryFilter, Depends(list_filter)],
    ) -> Response:
        scoped = flt.model_copy(update={"agent_id": agent_id})
        return ModelResponse(await services.memories.list(principal, scoped))

    @api.delete("/{agent_id}", status_code=204, summary="Delete an agent and its sessions")
    async def delete_agent(
        agent_id: str,
        principal: Caller,
        purge: Annotated[bool, Query(description="Also forget the agent's memories.")] = False,
    ) -> Response:
        await services.agents.delete(principal, agent_id, purge=purge)
        return Response(status_code=204)

    return api
