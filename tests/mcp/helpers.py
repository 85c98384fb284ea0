"""Small helpers for MCP tests: call a tool and insist on success or failure."""

from __future__ import annotations

from typing import Any

from mcp.types import CallToolResult, TextContent

from mcp import Client


def text_of(result: CallToolResult) -> str:
    return "".join(block.text for block in result.content if isinstance(block, TextContent))


async def ok(client: Client, tool: str, arguments: dict[str, Any] | None = None) -> dict[str, Any]:
    """Call ``tool``; fail the test with the tool's own text if it errs."""
    result = await client.call_tool(tool, arguments or {})
    assert not result.is_error, f"{tool} failed: {text_of(result)}"
    assert isinstance(result.structured_content, dict)
    return result.structured_content


async def fails(client: Client, tool: str, arguments: dict[str, Any] | None = None) -> str:
    """Call ``tool``; return its error text (the call must be a tool error)."""
    result = await client.call_tool(tool, arguments or {})
    assert result.is_error, f"{tool} unexpectedly succeeded: {text_of(result)}"
    return text_of(result)
