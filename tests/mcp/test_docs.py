"""The MCP set-up docs and the example Claude Desktop config stay true."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import anyio

from mcp import Client, StdioServerParameters
from memtrace_mcp.service.auth import LOCAL_PRINCIPAL
from memtrace_mcp.transports.mcp.server import build_mcp_server

from .conftest import fixed

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "claude_config.example.json"
SETUP = ROOT / "README.md"  # the MCP set-up section


def test_the_example_claude_config_is_a_stdio_entry_with_agent_and_data_dir() -> None:
    entry = json.loads(EXAMPLE.read_text())["mcpServers"]["memtrace"]
    assert Path(entry["command"]).is_absolute() and entry["command"].endswith("/memtrace-mcp")
    assert entry["args"] == ["stdio"]
    assert set(entry["env"]) == {"MEMTRACE_AGENT_ID", "MEMTRACE_DATA_DIR"}


async def test_the_example_claude_config_starts_a_working_server(tmp_path: Path) -> None:
    entry = json.loads(EXAMPLE.read_text())["mcpServers"]["memtrace"]
    # The same entry with this machine's paths, as a user would edit it.
    command = Path(sys.executable).with_name("memtrace-mcp")
    env = {**entry["env"], "MEMTRACE_DATA_DIR": str(tmp_path / "data")}
    params = StdioServerParameters(command=str(command), args=entry["args"], env=env)
    with anyio.fail_after(60):
        async with Client(params) as client:
            result = await client.call_tool("start_session", {})
    assert not result.is_error
    assert result.structured_content["agent_id"] == entry["env"]["MEMTRACE_AGENT_ID"]  # type: ignore[index]


async def test_the_setup_page_lists_every_tool_once_and_only_real_tools(services) -> None:  # type: ignore[no-untyped-def]
    server = build_mcp_server(services, agent_id="a", principal=fixed(LOCAL_PRINCIPAL))
    real = {tool.name for tool in await server.list_tools()}
    listed = re.findall(r"^- `(\w+)` — ", SETUP.read_text(), re.MULTILINE)
    assert sorted(listed) == sorted(real)


def test_every_json_example_in_the_setup_page_parses() -> None:
    blocks = re.findall(r"```json\n(.*?)```", SETUP.read_text(), re.DOTALL)
    assert len(blocks) >= 4
    for block in blocks:
        assert "mcpServers" in json.loads(block)
