"""``memtrace-mcp`` on stdio, as Claude Desktop runs it: a subprocess spawned by
the SDK's client, talking over its stdin/stdout."""

from __future__ import annotations

import json
import os
import pty
import subprocess
import sys
import termios
import threading
from pathlib import Path

import anyio
import pytest

from mcp import Client, StdioServerParameters
from memtrace_mcp.config import Settings
from memtrace_mcp.models import MemoryFilter
from memtrace_mcp.service.auth import LOCAL_PRINCIPAL
from memtrace_mcp.wiring import open_services

from .helpers import ok, text_of

DEADLINE_S = 60


def stdio_params(data_dir: Path, *args: str, agent: str = "desktop") -> StdioServerParameters:
    return StdioServerParameters(
        command=sys.executable,
        args=["-m", "memtrace_mcp", *args],
        env={"MEMTRACE_DATA_DIR": str(data_dir), "MEMTRACE_AGENT_ID": agent},
        cwd=str(data_dir.parent),
    )


async def test_an_agent_workflow_over_stdio_start_store_decide_search_context_end(
    tmp_path: Path,
) -> None:
    with anyio.fail_after(DEADLINE_S):
        async with Client(stdio_params(tmp_path / "data")) as client:
            assert client.protocol_version == "2026-07-28"
            started = await ok(client, "start_session", {"metadata": {"task": "fix login"}})
            session_id = started["session_id"]
            assert started["agent_id"] == "desktop"
            await ok(
                client,
                "store_memory",
                {"content": "Login fails: JWT secret expired", "event_type": "error",
                 "session_id": session_id},
            )
            await ok(
                client,
                "log_decision",
                {"decision": "Rotate the JWT secret", "reasoning": "expired yesterday",
                 "session_id": session_id},
            )
            found = await ok(client, "search_memories", {"query": "jwt"})
            assert found["count"] == 2
            context = await ok(client, "get_session_context", {"session_id": session_id})
            assert "### Errors (1)" in context["context"]
            assert "(reasoning: expired yesterday)" in context["context"]
            ended = await ok(client, "end_session", {"session_id": session_id})
            assert ended["status"] == "closed"
            resumed = await ok(client, "start_session", {})
            assert "Rotate the JWT secret" in resumed["history"]["context"]


async def test_the_stdio_subcommand_serves_the_legacy_handshake_too(tmp_path: Path) -> None:
    with anyio.fail_after(DEADLINE_S):
        async with Client(stdio_params(tmp_path / "data", "stdio"), mode="legacy") as client:
            assert client.protocol_version == "2025-11-25"
            tools = {t.name for t in (await client.list_tools()).tools}
            assert "store_memory" in tools
            result = await client.call_tool("forget_memory", {"memory_id": "nope"})
            assert result.is_error and text_of(result).startswith("not_found:")


async def test_two_stdio_servers_on_one_data_dir_write_concurrently_without_loss(
    tmp_path: Path,
) -> None:
    data_dir = tmp_path / "shared"
    per_server = 40

    async def write_all(agent: str) -> None:
        async with Client(stdio_params(data_dir, agent=agent)) as client, anyio.create_task_group() as tg:
            for i in range(per_server):
                tg.start_soon(ok, client, "store_memory", {"content": f"{agent} note {i}"})

    with anyio.fail_after(DEADLINE_S * 2):
        async with anyio.create_task_group() as tg:
            tg.start_soon(write_all, "claude-desktop")
            tg.start_soon(write_all, "claude-code")

    settings = Settings(data_dir=data_dir, _env_file=None)  # type: ignore[call-arg]
    async with open_services(settings) as services:
        page = await services.memories.list(LOCAL_PRINCIPAL, MemoryFilter(limit=1000))
    contents = {m.content for m in page.memories}
    assert len(contents) == page.count == 2 * per_server
    assert {m.agent_id for m in page.memories} == {"claude-desktop", "claude-code"}


def handshake(client: str) -> list[dict[str, object]]:
    """A raw client's first two messages (id 1)."""
    return [
        {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
            "protocolVersion": "2025-11-25", "capabilities": {},
            "clientInfo": {"name": client, "version": "0"}}},
        {"jsonrpc": "2.0", "method": "notifications/initialized"},
    ]  # fmt: skip


def store_call(request_id: int, content: str) -> dict[str, object]:
    return {"jsonrpc": "2.0", "id": request_id, "method": "tools/call", "params": {
        "name": "store_memory", "arguments": {"content": content}}}  # fmt: skip


async def test_stdout_carries_nothing_but_json_rpc_and_logs_go_to_stderr(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    requests = [
        *handshake("raw"),
        store_call(2, ""),
        {"jsonrpc": "2.0", "id": 3, "method": "tools/list"},
    ]
    env = {"MEMTRACE_DATA_DIR": str(tmp_path / "data"), "MEMTRACE_LOG_LEVEL": "debug",
           "PATH": "/usr/bin:/bin"}
    replies: list[dict[str, object]] = []
    with anyio.fail_after(DEADLINE_S):
        async with await anyio.open_process(
            [sys.executable, "-m", "memtrace_mcp"], env=env, cwd=tmp_path
        ) as proc:
            assert proc.stdin and proc.stdout and proc.stderr
            for request in requests:
                await proc.stdin.send(json.dumps(request).encode() + b"\n")
            buffer = b""
            while len(replies) < 3:
                buffer += await proc.stdout.receive()
                *lines, buffer = buffer.split(b"\n")
                replies.extend(json.loads(line) for line in lines if line)  # each line is JSON
            await proc.stdin.aclose()  # EOF: the server exits by itself
            rest = b"".join([chunk async for chunk in proc.stdout])
            stderr = b"".join([chunk async for chunk in proc.stderr])
            assert await proc.wait() == 0, stderr.decode()
    assert buffer + rest == b""
    assert all(reply["jsonrpc"] == "2.0" for reply in replies)
    assert sorted(r["id"] for r in replies) == [1, 2, 3]  # type: ignore[type-var]
    assert b"store_memory" in stderr  # the rejected call was logged, on stderr


def test_a_terminal_on_stdin_is_served_too(tmp_path: Path) -> None:
    """Pipes and sockets are read by the event loop; anything else (here: a
    terminal, as when someone runs the server by hand) by the SDK's own
    transport. Both answer every request and exit at end of input."""
    (tmp_path / "data").mkdir()
    requests = [*handshake("tty"), store_call(2, "typed: ünïcode")]
    terminal, server_side = pty.openpty()
    modes = termios.tcgetattr(server_side)
    modes[3] &= ~termios.ECHO  # lines are read as typed, not echoed back
    termios.tcsetattr(server_side, termios.TCSANOW, modes)
    proc = subprocess.Popen(
        [sys.executable, "-m", "memtrace_mcp"],
        stdin=server_side, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        env={"MEMTRACE_DATA_DIR": str(tmp_path / "data"), "PATH": "/usr/bin:/bin"},
        cwd=tmp_path,
    )  # fmt: skip
    os.close(server_side)
    watchdog = threading.Timer(DEADLINE_S, proc.kill)
    watchdog.start()
    try:
        assert proc.stdout is not None
        os.write(terminal, "".join(json.dumps(r) + "\n" for r in requests).encode())
        replies = [json.loads(proc.stdout.readline()) for _ in range(2)]
        os.write(terminal, b"\x04")  # Ctrl-D: end of input
        _, stderr = proc.communicate()
        os.close(terminal)
    finally:
        watchdog.cancel()
    assert proc.returncode == 0, stderr.decode()
    assert sorted(r["id"] for r in replies) == [1, 2]
    stored = next(r for r in replies if r["id"] == 2)
    assert stored["result"]["structuredContent"]["memory_id"]


def test_the_stdio_path_does_not_import_the_rest_stack() -> None:
    code = (
        "import sys, memtrace_mcp.cli as cli\n"
        "from memtrace_mcp.transports.mcp.stdio import run_stdio\n"
        "from memtrace_mcp.transports.mcp.remote import open_remote\n"
        "from memtrace_mcp.wiring import open_services\n"
        "bad = [m for m in sys.modules if m.split('.')[0] == 'fastapi'"
        " or m.startswith(('memtrace_mcp.transports.rest', 'memtrace_mcp.asgi',"
        " 'memtrace_mcp.transports.mcp.http'))]\n"
        "print(bad)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


@pytest.mark.parametrize("args", [[], ["stdio"]], ids=["no-arguments", "stdio"])
def test_both_spellings_choose_the_stdio_command(args: list[str]) -> None:
    from memtrace_mcp.cli import build_parser, cmd_stdio

    assert build_parser().parse_args(args).func is cmd_stdio
