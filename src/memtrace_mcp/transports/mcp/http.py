"""MCP over HTTP: Streamable HTTP at ``/mcp`` (both protocol eras) and legacy
HTTP+SSE at ``/sse`` + ``/messages/``, behind the same API keys as REST.

The SDK's apps sit behind ``ApiKeyGate``, the gate REST uses too: it
authenticates every request (so a revoked key stops working at once), answers 401
in the REST error shape, and attaches the caller as ``scope["user"]``: a ``KeyUser``, which is the SDK's
``AuthenticatedUser`` (the SDK binds each legacy session to the key that opened
it) carrying our ``Principal``. Tools get that principal explicitly through
``request_principal(ctx)``, from the very HTTP request that carried the call.
"""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass

from mcp.server.auth.middleware.bearer_auth import AuthenticatedUser
from mcp.server.auth.provider import AccessToken
from mcp.server.mcpserver import Context
from mcp.server.transport_security import TransportSecuritySettings
from starlette.routing import BaseRoute, Route

from ...config import Settings
from ...errors import UnauthorizedError
from ...models import Principal
from ...service import Services
from ..http_auth import ApiKeyGate
from .server import MemtraceMCP, build_mcp_server

MCP_PATH = "/mcp"
SSE_PATH = "/sse"
MESSAGE_PATH = "/messages/"

_LOCAL_HOSTS = ("127.0.0.1", "localhost", "[::1]")


class KeyUser(AuthenticatedUser):
    """The caller of one request. ``client_id`` is the key id, so the SDK's
    session-owner check ties a legacy session to the key that created it."""

    def __init__(self, principal: Principal) -> None:
        key_id = principal.key_id or principal.org_id
        super().__init__(
            AccessToken(
                token=key_id, client_id=key_id, scopes=sorted(principal.scopes),
                subject=principal.org_id,
            )
        )
        self.principal = principal


def request_principal(ctx: Context) -> Principal:
    """The principal of the HTTP request that carried this call. Fails closed:
    a request that did not pass the gate has no principal."""
    request = ctx.request_context.request
    user = getattr(request, "scope", {}).get("user") if request is not None else None
    if isinstance(user, KeyUser):
        return user.principal
    raise UnauthorizedError("this request carried no valid API key")


def transport_security(allowed_hosts: list[str]) -> TransportSecuritySettings:
    """Host/Origin (DNS-rebinding) checks: localhost on any port, plus each name in
    ``MEMTRACE_ALLOWED_HOSTS`` with or without a port, over http or https. ``*``
    turns the check off, for a reverse proxy that already pins Host."""
    if "*" in allowed_hosts:
        return TransportSecuritySettings(enable_dns_rebinding_protection=False)
    names = [*_LOCAL_HOSTS, *allowed_hosts]
    hosts = [form for name in names for form in (name, f"{name}:*")]
    origins = [f"{scheme}://{host}" for scheme in ("http", "https") for host in hosts]
    return TransportSecuritySettings(
        enable_dns_rebinding_protection=True, allowed_hosts=hosts, allowed_origins=origins
    )


@dataclass
class McpHttp:
    """The MCP routes to add to the host app, and what its lifespan must run."""

    server: MemtraceMCP
    routes: list[BaseRoute]

    def lifespan(self) -> AbstractAsyncContextManager[None]:
        # A mounted app's own lifespan never runs: the host must run this.
        return self.server.session_manager.run()


def mcp_http(services: Services, settings: Settings) -> McpHttp:
    """Routes on exact paths (no prefix mount: ``/mcp`` never redirects to
    ``/mcp/``, and every other path still reaches REST's JSON 404)."""
    server = build_mcp_server(services, agent_id=settings.agent_id, principal=request_principal)
    security = transport_security(settings.allowed_hosts)
    streamable = ApiKeyGate(
        server.streamable_http_app(streamable_http_path=MCP_PATH, transport_security=security),
        services.auth,
        user=KeyUser,
    )
    sse = ApiKeyGate(
        server.sse_app(sse_path=SSE_PATH, message_path=MESSAGE_PATH, transport_security=security),
        services.auth,
        user=KeyUser,
    )
    routes: list[BaseRoute] = [
        Route(MCP_PATH, streamable, name="mcp", include_in_schema=False),
        Route(SSE_PATH, sse, methods=["GET"], name="mcp_sse", include_in_schema=False),
        Route(MESSAGE_PATH, sse, methods=["POST"], name="mcp_messages", include_in_schema=False),
    ]
    return McpHttp(server, routes)
