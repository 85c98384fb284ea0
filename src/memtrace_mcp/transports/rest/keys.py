"""/api/v1/keys: admin-only management of the caller's org's API keys."""


from typing import Annotated

from fastapi import APIRouter, Depends
from starlette.responses import Response

from ...models import ApiKeyDraft, ApiKeyList, CreatedApiKey, Principal
from ...service import Services
from .deps import caller
from .io import ModelResponse, body_doc, json_body

_ERRORS = {
    400: {"description": "Invalid input"},
    401: {"description": "Missing or invalid key"},
    403: {"description": "The key lacks the admin scope"},
}


def router(services: Services) -> APIRouter:
    api = APIRouter(prefix="/api/v1/keys", tags=["keys"], responses=_ERRORS)
    Caller = Annotated[Principal, Depends(caller)]

    @api.post(
        "",
        status_code=201,
        response_model=CreatedApiKey,
        summary="Create an API key (the secret is shown only in this response)",
        openapi_extra=body_doc(ApiKeyDraft),
    )
    async def create_key(
        principal: Caller, draft: Annotated[ApiKeyDraft, Depends(json_body(ApiKeyDraft))]
    ) -> Response:
        created = await services.auth.create_key(principal, draft.name, draft.scopes)
        return ModelResponse(created, 201)

    @api.get("", response_model=ApiKeyList, summary="List the org's API keys")
    async def list_keys(principal: Caller) -> Response:
        keys = await services.auth.list_keys(principal)
        return ModelResponse(ApiKeyList(keys=keys, count=len(keys)))

    @api.delete("/{key_id}", status_code=204, summary="Revoke an API key",
                responses={404: {"description": "No such active key in this org"}})
    async def revoke_key(key_id: str, principal: Caller) -> Response:
        await services.auth.revoke_key(principal, key_id)
        return Response(status_code=204)

    return api
