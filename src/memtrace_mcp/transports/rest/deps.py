"""Dependencies shared by the routes: the caller's principal."""

from fastapi import Request

from ...models import Principal
from ..http_auth import scope_principal


async def caller(request: Request) -> Principal:
    """The principal ``ApiKeyGate`` authenticated for this request (see app.py)."""
    return scope_principal(request.scope)
