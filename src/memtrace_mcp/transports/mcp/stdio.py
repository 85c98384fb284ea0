"""MCP over stdio, for Claude Desktop and IDE assistants.

The process is a trusted local program started by the user's own client, so
every call runs as ``LOCAL_PRINCIPAL`` (org ``org_default``, no key), as the
contract says. In remote mode the services forward to a server whose key
decides instead. Nothing may reach stdout but protocol: logs go to stderr.
"""

from __future__ import annotations

from typing import Any

from mcp.server.mcpserver import Context

from ...models import Principal
from ...service.auth import LOCAL_PRINCIPAL
from .ports import ToolServices
from .server import build_mcp_server


def local_principal(_ctx: Context[Any, Any]) -> Principal:
    return LOCAL_PRINCIPAL


async def run_stdio(services: ToolServices, *, agent_id: str) -> None:
    """Serve until the client closes stdin."""
    server = build_mcp_server(services, agent_id=agent_id, principal=local_principal)
    await server.run_stdio_async()
