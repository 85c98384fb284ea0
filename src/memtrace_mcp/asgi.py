"""The one ASGI app: REST, MCP over Streamable HTTP (/mcp) and MCP over HTTP+SSE
(/sse, /messages/), over one set of services, opened and closed by the app's
lifespan."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Literal

from starlette.types import ASGIApp

from .config import Settings
from .transports.mcp.http import mcp_http
from .transports.rest.app import create_rest_app
from .transports.rest.limits import BodyLimit
from .transports.rest.memories import CreateFastPath
from .wiring import build_runtime


def create_app(
    settings: Settings, *, on_bootstrap_key: Callable[[str], None] | None = None
) -> ASGIApp:
    """The whole HTTP face. ``on_bootstrap_key`` receives the first-run admin key."""
    runtime = build_runtime(settings)
    mcp = mcp_http(runtime.services, settings)

    @asynccontextmanager
    async def lifespan(_app: object) -> AsyncIterator[None]:
        await runtime.start()
        try:
            key = await runtime.services.auth.bootstrap()
            if key is not None and on_bootstrap_key is not None:
                on_bootstrap_key(key)
            # MCP sessions end before the stores close.
            async with mcp.lifespan():
                yield
        finally:
            await runtime.stop()

    store_kind: Literal["embedded", "arc"] = "arc" if settings.arc_url else "embedded"
    rest = create_rest_app(runtime.services, store_kind=store_kind, lifespan=lifespan)
    # After the REST routes, on exact paths: /mcp, /sse, /messages/.
    rest.router.routes.extend(mcp.routes)
    return BodyLimit(CreateFastPath(rest, runtime.services), settings.max_body_bytes)
