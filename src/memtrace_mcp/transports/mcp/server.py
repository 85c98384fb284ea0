"""``build_mcp_server``: the MCP face over any ``ToolServices``.

One factory for every transport. What differs between stdio, HTTP and remote
mode is passed in: the services (in-process or remote) and ``principal``, the
function that says who is calling a given request (stdio: the trusted local
principal; HTTP: the principal the API-key gate attached to that request).
"""

from __future__ import annotations

from typing import Any

from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ResourceError, ToolError

from ... import __version__
from . import session_tools, tools
from .errors import resource_error, tool_error
from .ports import PrincipalSource, ToolServices

INSTRUCTIONS = """\
memtrace is your long-term memory, shared across conversations.
- At the start of a task call start_session: it returns a session_id and a summary
  of your recent history, so you can pick up where you left off.
- While working, store_memory what you did or learned (one fact per call), and
  log_decision for choices with their reasoning. Use event_type "error" for failures.
- Before redoing work, search_memories; get_session_context gives a compact,
  prioritized summary of one session.
- Pass the session_id to store_memory/log_decision; call end_session when done.
Memory ids are stable: cite them. forget_memory deletes permanently."""


class MemtraceMCP(MCPServer[Any]):
    """MCPServer whose failures are worded by ``errors.py``, and only there."""

    async def call_tool(
        self, name: str, arguments: dict[str, Any], context: Context[Any, Any] | None = None
    ) -> Any:
        try:
            return await super().call_tool(name, arguments, context)
        except ToolError as exc:
            raise tool_error(name, exc) from exc.__cause__

    async def read_resource(self, uri: Any, context: Context[Any, Any] | None = None) -> Any:
        try:
            return await super().read_resource(uri, context)
        except ResourceError as exc:
            raise resource_error(str(uri), exc) from exc.__cause__


def build_mcp_server(
    services: ToolServices, *, agent_id: str, principal: PrincipalSource
) -> MemtraceMCP:
    """A fresh server whose tools close over ``services``; ``agent_id`` is the
    default agent (``MEMTRACE_AGENT_ID``) for tools that take one."""
    server = MemtraceMCP(
        "memtrace",
        title="memtrace memory",
        version=__version__,
        instructions=INSTRUCTIONS,
        log_level="WARNING",
    )
    tools.register(server, services, agent_id=agent_id, principal=principal)
    session_tools.register(server, services, agent_id=agent_id, principal=principal)
    return server

