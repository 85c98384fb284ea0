"""MCP over HTTP: Streamable HTTP at ``/mcp`` (both protocol eras) and legacy
HTTP+SSE at ``/sse`` + ``/messages/``, behind the same API keys as REST.

``KeyGate`` is a pure-ASGI gate in front of the SDK's apps. It reads the key with
``key_from_headers`` (as REST does), authenticates it on every request (so a
revoked key stops working at once), answers 401 in the REST error shape, and
attaches the caller as ``scope["user"]``: a ``KeyUser``, which is the SDK's
``AuthenticatedUser`` (the SDK binds each legacy session to the key that opened
it) carrying our ``Principal``. Tools get that principal explicitly through
``request_principal(ctx)``, from the very HTTP request that carried the call.
"""

from __future__ import annotations

import json
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass

from mcp.server.auth.middleware.bearer_auth import AuthenticatedUser
from mcp.server.auth.provider import AccessToken
from mcp.server.mcpserver import Context
from mcp.server.transport_security import TransportSecuritySettings
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp, Receive, Scope, Send

from ...config import Settings
from ...errors import MemtraceError, UnauthorizedError
from ...models import Principal
from ...service import Services
from ...service.auth import AuthService
from ..http_auth import key_from_headers
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


class KeyGate:
    def __init__(self, app: ASGIApp, auth: AuthService) -> None:
        self.app = app
        self.auth = auth

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        try:
            principal = await self.auth.authenticate(key_from_headers(scope["headers"]))
        except UnauthorizedError as exc:
            await _error(send, 401, exc)
            return
        except MemtraceError as exc:  # the key store cannot answer: 503, not 401
            await _error(send, 503, exc)
            return
        await self.app({**scope, "user": KeyUser(principal)}, receive, send)


async def _error(send: Send, status: int, exc: MemtraceError) -> None:
    body = json.dumps({"error": exc.code, "message": exc.message}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    if status == 401:
        headers.append((b"www-authenticate", b'Bearer realm="memtrace"'))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


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
    streamable = KeyGate(
        server.streamable_http_app(streamable_http_path=MCP_PATH, transport_security=security),
        services.auth,
    )
    sse = KeyGate(
        server.sse_app(sse_path=SSE_PATH, message_path=MESSAGE_PATH, transport_security=security),
        services.auth,
    )
    routes: list[BaseRoute] = [
        Route(MCP_PATH, streamable, name="mcp", include_in_schema=False),
        Route(SSE_PATH, sse, methods=["GET"], name="mcp_sse", include_in_schema=False),
        Route(MESSAGE_PATH, sse, methods=["POST"], name="mcp_messages", include_in_schema=False),
    ]
    return McpHttp(server, routes)
