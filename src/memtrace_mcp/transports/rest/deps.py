"""Dependencies shared by the routes: the caller's principal."""


from collections.abc import Awaitable, Callable

from fastapi import Depends, Request
from fastapi.security import APIKeyHeader, HTTPBearer

from ...models import Principal
from ...service import Services
from ..http_auth import key_from_headers

# Declared only so that the OpenAPI document shows both ways to send a key; the
# key itself is read by key_from_headers, the same function MCP-over-HTTP uses.
_api_key_doc = APIKeyHeader(name="x-api-key", auto_error=False, scheme_name="ApiKey")
_bearer_doc = HTTPBearer(auto_error=False, scheme_name="Bearer")


def principal_dependency(services: Services) -> Callable[..., Awaitable[Principal]]:
    async def principal(
        request: Request,
        _key: object = Depends(_api_key_doc),
        _bearer: object = Depends(_bearer_doc),
    ) -> Principal:
        return await services.auth.authenticate(key_from_headers(request.scope["headers"]))

    return principal
