"""Remote mode: a stdio server with MEMTRACE_URL and MEMTRACE_API_KEY forwards the
same tools to a real ``memtrace-mcp serve``, with the same outputs as local mode."""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest

from mcp import Client, StdioServerParameters
from memtrace_mcp.errors import (
    DuplicateMemoryError,
    ForbiddenError,
    InvalidInputError,
    NotFoundError,
    UnavailableError,
)
from memtrace_mcp.models import MemoryDraft, SearchRequest
from memtrace_mcp.service import Services
from memtrace_mcp.service.auth import LOCAL_PRINCIPAL
from memtrace_mcp.transports.mcp.remote import open_remote
from memtrace_mcp.transports.mcp.server import build_mcp_server
from tests.support.server import ServerProcess

from .conftest import fixed
from .helpers import ok, text_of
from .http_support import Tenant, connect

DEADLINE_S = 60


def remote_params(url: str, key: str, tmp: Path, agent: str = "remote-agent") -> StdioServerParameters:
    return StdioServerParameters(
        command=sys.executable,
        args=["-m", "memtrace_mcp"],
        # MEMTRACE_DATA_DIR points at an empty dir: remote mode must not touch it.
        env={"MEMTRACE_URL": url, "MEMTRACE_API_KEY": key, "MEMTRACE_AGENT_ID": agent,
             "MEMTRACE_DATA_DIR": str(tmp / "unused")},
        cwd=str(tmp),
    )


async def script(client: Client) -> list[tuple[str, bool, Any]]:
    """A fixed sequence of calls, successes and failures; returns what came back."""
    seen: list[tuple[str, bool, Any]] = []

    async def call(tool: str, arguments: dict[str, Any]) -> Any:
        result = await client.call_tool(tool, arguments)
        seen.append((tool, bool(result.is_error), result.structured_content or text_of(result)))
        return result.structured_content

    started = await call("start_session", {"session_id": "sess-script", "metadata": {"t": 1}})
    sid = started["session_id"]
    first = await call("store_memory", {"content": "first fact", "session_id": sid, "tags": ["a"]})
    await call("store_memory", {"content": "first fact", "session_id": sid})  # duplicate
    await call("store_memory", {"content": "x", "session_id": "bad id"})  # invalid
    await call("log_decision", {"decision": "go", "reasoning": "because", "session_id": sid})
    await call("store_memory", {"content": "long " * 300, "event_type": "error", "session_id": sid})
    await call("search_memories", {"query": "fact"})
    await call("search_memories", {"tags": ["a"], "since": "1h", "limit": 1})
    await call("search_memories", {"since": "someday"})  # invalid time
    await call("get_session_context", {"session_id": sid, "max_tokens": 120})
    await call("get_session_context", {"session_id": "sess-none"})  # not found
    await call("forget_memory", {"memory_id": "#" + first["memory_id"][-12:]})
    await call("forget_memory", {"memory_id": first["memory_id"]})  # not found now
    await call("end_session", {"session_id": sid})
    await call("start_session", {"history_tokens": 100})
    return seen


_VOLATILE = re.compile(
    r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|#[0-9a-f]{12}|sess_[0-9a-f]{24}"
    r"|\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z|'[0-9a-f]{32}'"
)


def normalized(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: normalized(v) for k, v in value.items() if k != "query_time_ms"}
    if isinstance(value, list | tuple):
        return [normalized(v) for v in value]
    if isinstance(value, str):
        return _VOLATILE.sub("<v>", value)
    return value


async def test_remote_mode_gives_the_same_outputs_as_local_mode(
    http_server: ServerProcess, tenant: Tenant, services: Services, tmp_path: Path
) -> None:
    local = build_mcp_server(services, agent_id="remote-agent", principal=fixed(LOCAL_PRINCIPAL))
    with anyio.fail_after(DEADLINE_S):
        async with Client(local) as client:
            expected = await script(client)
        async with Client(remote_params(http_server.url, tenant.admin_key, tmp_path)) as client:
            actual = await script(client)
    assert [(tool, err) for tool, err, _ in actual] == [(tool, err) for tool, err, _ in expected]
    assert normalized(actual) == normalized(expected)
    assert not (tmp_path / "unused").exists()


async def test_remote_mode_writes_land_on_the_server_in_the_keys_org(
    http_server: ServerProcess, tenant: Tenant, tmp_path: Path
) -> None:
    with anyio.fail_after(DEADLINE_S):
        async with Client(remote_params(http_server.url, tenant.admin_key, tmp_path)) as client:
            stored = await ok(client, "store_memory", {"content": "written remotely"})
        async with connect(http_server.url, tenant.admin_key, "http-modern") as direct:
            found = await ok(direct, "search_memories", {"agent_id": "remote-agent"})
    assert [h["memory_id"] for h in found["results"]] == [stored["memory_id"]]
    async with httpx.AsyncClient(headers={"x-api-key": tenant.admin_key}) as http:
        response = await http.get(f"{http_server.url}/api/v1/memories/{stored['memory_id']}")
    assert response.json()["org_id"] == tenant.org_id


async def test_remote_mode_with_a_read_only_key_can_search_but_not_store(
    http_server: ServerProcess, tenant: Tenant, tmp_path: Path
) -> None:
    with anyio.fail_after(DEADLINE_S):
        async with Client(remote_params(http_server.url, tenant.read_key, tmp_path)) as client:
            await ok(client, "search_memories", {})
            result = await client.call_tool("store_memory", {"content": "nope"})
    assert result.is_error and text_of(result).startswith("forbidden: this API key lacks")


async def test_remote_mode_with_an_unreachable_server_says_unavailable(tmp_path: Path) -> None:
    from tests.support.server import free_port

    url = f"http://127.0.0.1:{free_port()}"
    with anyio.fail_after(DEADLINE_S):
        async with Client(remote_params(url, "mtk_" + "A" * 43, tmp_path)) as client:
            result = await client.call_tool("search_memories", {})
    assert result.is_error
    assert text_of(result) == (
        f"unavailable: cannot reach the memtrace server at {url}. "
        "The memory store is unavailable right now; try again in a moment."
    )


async def test_remote_mode_with_a_bad_key_says_unauthorized(
    http_server: ServerProcess, tmp_path: Path
) -> None:
    with anyio.fail_after(DEADLINE_S):
        async with Client(remote_params(http_server.url, "mtk_" + "B" * 43, tmp_path)) as client:
            result = await client.call_tool("search_memories", {})
    assert result.is_error and text_of(result).startswith("unauthorized: invalid API key")
    assert "MEMTRACE_API_KEY" in text_of(result)


def test_remote_mode_needs_both_url_and_key(tmp_path: Path) -> None:
    import subprocess

    done = subprocess.run(
        [sys.executable, "-m", "memtrace_mcp"], capture_output=True, text=True, timeout=60,
        check=False,
        env={"MEMTRACE_URL": "http://127.0.0.1:1", "PATH": "/usr/bin:/bin"}, cwd=tmp_path,
    )
    assert done.returncode == 1 and done.stdout == ""
    assert "error: MEMTRACE_URL is set but MEMTRACE_API_KEY is not" in done.stderr


# --- the error translation, at the HTTP boundary (httpx.MockTransport) ------------

def answering(status: int, body: Any = None, text: str | None = None) -> httpx.MockTransport:
    def handler(_request: httpx.Request) -> httpx.Response:
        if text is not None:
            return httpx.Response(status, text=text)
        return httpx.Response(status, json=body)

    return httpx.MockTransport(handler)


@pytest.mark.parametrize(
    ("status", "body", "error"),
    [
        (400, {"error": "invalid_request", "message": "content: is required", "field": "content"},
         InvalidInputError),
        (403, {"error": "forbidden", "message": "no"}, ForbiddenError),
        (404, {"error": "not_found", "message": "gone"}, NotFoundError),
        (409, {"error": "duplicate", "message": "dup", "memory_id": "m1", "dedup_key": "k"},
         DuplicateMemoryError),
        (500, {"error": "internal_error", "message": "sqlite3.OperationalError: disk I/O"},
         UnavailableError),
        (502, None, UnavailableError),
    ],
)
async def test_remote_errors_map_back_to_the_core_error_classes(
    status: int, body: Any, error: type[Exception]
) -> None:
    draft = MemoryDraft(agent_id="a", content="c")
    transport = answering(status, body) if body is not None else answering(status, text="<html>")
    async with open_remote("http://memtrace.test", "k", transport=transport) as remote:
        with pytest.raises(error) as raised:
            await remote.memories.remember(LOCAL_PRINCIPAL, draft)
    if isinstance(raised.value, DuplicateMemoryError):
        assert raised.value.memory_id == "m1"
    if isinstance(raised.value, InvalidInputError):
        assert raised.value.field == "content"
    if isinstance(raised.value, UnavailableError):
        assert "sqlite" not in raised.value.message and "html" not in raised.value.message


async def test_a_remote_answer_of_the_wrong_shape_is_unavailable_not_a_crash() -> None:
    async with open_remote("http://memtrace.test", "k", transport=answering(200, {"x": 1})) as remote:
        with pytest.raises(UnavailableError):
            await remote.memories.search(LOCAL_PRINCIPAL, SearchRequest())
