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

    async def list_tools(self) -> list[Any]:
        tools = await super().list_tools()
        for tool in tools:
            if tool.output_schema is not None:
                tool.output_schema = lean_schema(tool.output_schema)
        return tools

    async def read_resource(self, uri: Any, context: Context[Any, Any] | None = None) -> Any:
        try:
            return await super().read_resource(uri, context)
        except ResourceError as exc:
            raise resource_error(str(uri), exc) from exc.__cause__


def lean_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """The same JSON Schema, cheaper to check: references inlined, and each
    ``anyOf`` of bare types (pydantic's spelling of an optional field) written as
    one ``type`` list. Clients check every result against its tool's output
    schema (the SDK's client does, with ``jsonschema``): for a page of search hits,
    resolving a ``$ref`` and trying both branches of an ``anyOf`` per field per hit
    was a third of what the client spent on the answer."""
    definitions = schema.get("$defs", {})
    kept: list[str] = []  # references left as they were (recursive, or with siblings)

    def lean(node: Any, inlining: tuple[str, ...] = ()) -> Any:
        if isinstance(node, list):
            return [lean(item, inlining) for item in node]
        if not isinstance(node, dict):
            return node
        ref = node.get("$ref")
        if isinstance(ref, str):
            name = ref.removeprefix("#/$defs/")
            if len(node) == 1 and name in definitions and name not in inlining:
                return lean(definitions[name], (*inlining, name))
            kept.append(ref)
        out = {key: lean(value, inlining) for key, value in node.items() if key != "$defs"}
        choices = out.get("anyOf")
        if (
            isinstance(choices, list)
            and "type" not in out
            and all(isinstance(c, dict) and list(c) == ["type"] for c in choices)
        ):
            out["type"] = [c["type"] for c in choices]
            del out["anyOf"]
        return out

    leaned: dict[str, Any] = lean(schema)
    if kept:
        leaned["$defs"] = {name: lean(d) for name, d in definitions.items()}
    return leaned


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

