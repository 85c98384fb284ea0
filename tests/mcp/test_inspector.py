"""A client no one here wrote: the MCP Inspector CLI (pinned) lists and calls our
tools over stdio, Streamable HTTP (both eras) and HTTP+SSE."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import anyio
import pytest

from tests.support.node import INSPECTOR, NodeTool, tool
from tests.support.server import ServerProcess

from .http_support import Tenant

DEADLINE_S = 120


@pytest.fixture(scope="module")
def inspector() -> NodeTool:
    return tool(INSPECTOR)


async def run(inspector: NodeTool, home: Path, *args: str) -> tuple[int, Any, str]:
    """Run ``inspector --cli --format json <args>``: (exit code, stdout JSON, stderr)."""
    home.mkdir(parents=True, exist_ok=True)
    env = {
        "HOME": str(home),  # the inspector keeps its catalog and secrets here
        "PATH": f"{inspector.node.parent}:/usr/bin:/bin",
        "MCP_STORAGE_DIR": str(home / "storage"),
        "MCP_INSPECTOR_OAUTH_STATE_PATH": str(home / "oauth.json"),
    }
    argv = inspector.argv("--cli", "--format", "json", "--stored-auth-only", *args)
    with anyio.fail_after(DEADLINE_S):
        done = await anyio.run_process(argv, env=env, check=False)
    out = done.stdout.decode()
    return done.returncode, json.loads(out) if out.strip() else None, done.stderr.decode()


def stdio_target(data_dir: Path) -> list[str]:
    return ["-e", f"MEMTRACE_DATA_DIR={data_dir}", "-e", "MEMTRACE_AGENT_ID=inspector",
            sys.executable, "-m", "memtrace_mcp"]


def tool_names(listing: Any) -> set[str]:
    return {t["name"] for t in listing["result"]["tools"]}


SEVEN = {"store_memory", "search_memories", "get_session_context", "start_session",
         "end_session", "log_decision", "forget_memory"}


async def test_inspector_lists_and_calls_tools_over_stdio(inspector: NodeTool, tmp_path: Path) -> None:
    target = stdio_target(tmp_path / "data")
    code, listing, err = await run(inspector, tmp_path / "home", *target, "--method", "tools/list", "--strict")
    assert code == 0, err
    assert tool_names(listing) == SEVEN
    code, started, err = await run(
        inspector, tmp_path / "home", *target, "--method", "tools/call",
        "--tool-name", "start_session", "--tool-args-json", '{"session_id": "inspected"}',
    )
    assert code == 0, err
    assert started["result"]["structuredContent"]["session_id"] == "inspected"
    code, stored, err = await run(
        inspector, tmp_path / "home", *target, "--method", "tools/call",
        "--tool-name", "store_memory",
        "--tool-args-json", '{"content": "seen by the inspector", "session_id": "inspected"}',
    )
    assert code == 0, err
    assert stored["result"]["structuredContent"]["agent_id"] == "inspector"
    code, read, err = await run(
        inspector, tmp_path / "home", *target, "--method", "resources/read",
        "--uri", "memtrace://sessions/inspected/context",
    )
    assert code == 0, err
    assert "seen by the inspector" in read["result"]["contents"][0]["text"]


async def test_inspector_sees_a_tool_error_as_an_error(inspector: NodeTool, tmp_path: Path) -> None:
    code, _, err = await run(
        inspector, tmp_path / "home", *stdio_target(tmp_path / "data"), "--method", "tools/call",
        "--tool-name", "get_session_context", "--tool-args-json", '{"session_id": "missing"}',
    )
    assert code == 5, err  # the inspector's exit code for a tool isError


@pytest.mark.parametrize("era", ["modern", "legacy"])
async def test_inspector_lists_and_calls_tools_over_streamable_http(
    inspector: NodeTool, http_server: ServerProcess, tenant: Tenant, tmp_path: Path, era: str
) -> None:
    target = [f"{http_server.url}/mcp", "--header", f"X-API-Key: {tenant.admin_key}",
              "--protocol-era", era]
    code, listing, err = await run(inspector, tmp_path / "home", *target, "--method", "tools/list", "--strict")
    assert code == 0, err
    assert tool_names(listing) == SEVEN
    code, stored, err = await run(
        inspector, tmp_path / "home", *target, "--method", "tools/call", "--tool-name", "store_memory",
        "--tool-args-json", json.dumps({"content": f"over http, {era} era"}),
    )
    assert code == 0, err
    code, found, err = await run(
        inspector, tmp_path / "home", *target, "--method", "tools/call",
        "--tool-name", "search_memories", "--tool-args-json", json.dumps({"query": era}),
    )
    assert code == 0, err
    hits = found["result"]["structuredContent"]["results"]
    assert [h["memory_id"] for h in hits] == [stored["result"]["structuredContent"]["memory_id"]]


async def test_inspector_lists_and_calls_tools_over_sse(
    inspector: NodeTool, http_server: ServerProcess, tenant: Tenant, tmp_path: Path
) -> None:
    target = [f"{http_server.url}/sse", "--header", f"X-API-Key: {tenant.admin_key}"]
    code, listing, err = await run(inspector, tmp_path / "home", *target, "--method", "tools/list")
    assert code == 0, err
    assert tool_names(listing) == SEVEN
    code, started, err = await run(
        inspector, tmp_path / "home", *target, "--method", "tools/call", "--tool-name", "start_session",
    )
    assert code == 0, err
    assert started["result"]["structuredContent"]["session_id"].startswith("sess_")


async def test_inspector_without_a_key_is_told_auth_is_required(
    inspector: NodeTool, http_server: ServerProcess, tmp_path: Path
) -> None:
    code, _, err = await run(
        inspector, tmp_path / "home", f"{http_server.url}/mcp", "--method", "tools/list"
    )
    assert code == 3, err  # the inspector's exit code for 401/403
