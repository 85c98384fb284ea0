"""MCP over HTTP in a real ``memtrace-mcp serve`` (uvicorn on a loopback port):
Streamable HTTP at /mcp in both eras and HTTP+SSE at /sse, behind REST's keys."""

from __future__ import annotations

import sys
from pathlib import Path

import anyio
import httpx
import httpx2
import pytest
from mcp.client.sse import sse_client
from mcp.client.streamable_http import streamable_http_client

from mcp import Client, MCPError
from tests.support.server import ServerProcess, start_server

from .helpers import fails, ok
from .http_support import TRANSPORTS, Tenant, Transport, cli, connect, new_key, new_org

DEADLINE_S = 30


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_a_client_with_a_key_uses_the_tools_over_each_http_transport(
    http_server: ServerProcess, tenant: Tenant, transport: Transport
) -> None:
    with anyio.fail_after(DEADLINE_S):
        async with connect(http_server.url, tenant.admin_key, transport) as client:
            expected = "2026-07-28" if transport == "http-modern" else "2025-11-25"
            assert client.protocol_version == expected
            assert len((await client.list_tools()).tools) == 7
            session_id = (await ok(client, "start_session", {}))["session_id"]
            stored = await ok(
                client, "store_memory", {"content": f"via {transport}", "session_id": session_id}
            )
            found = await ok(client, "search_memories", {"query": transport})
            assert [h["memory_id"] for h in found["results"]] == [stored["memory_id"]]
            read = await client.read_resource(f"memtrace://sessions/{session_id}/context")
            assert f"via {transport}" in read.contents[0].text  # type: ignore[union-attr]
            assert (await ok(client, "end_session", {"session_id": session_id}))["status"] == "closed"


@pytest.mark.parametrize(
    ("method", "path"), [("POST", "/mcp"), ("GET", "/mcp"), ("GET", "/sse"), ("POST", "/messages/")]
)
def test_no_key_or_a_wrong_key_gets_401_in_the_rest_error_shape(
    http_server: ServerProcess, method: str, path: str
) -> None:
    for headers in ({}, {"x-api-key": "mtk_" + "A" * 43}, {"authorization": "Bearer nope"}):
        response = httpx.request(method, http_server.url + path, headers=headers, json={}, timeout=10)
        assert response.status_code == 401
        body = response.json()
        assert body["error"] == "unauthorized" and body["message"]
        assert response.headers["www-authenticate"].startswith("Bearer")


def test_mcp_paths_do_not_redirect_and_rest_404s_stay_json(
    http_server: ServerProcess, tenant: Tenant
) -> None:
    key = {"x-api-key": tenant.admin_key}
    assert httpx.post(http_server.url + "/mcp/", headers=key, timeout=10).status_code == 404
    missing = httpx.get(http_server.url + "/api/v1/nothing", headers=key, timeout=10)
    assert missing.status_code == 404 and missing.json()["error"] == "not_found"
    assert httpx.get(http_server.url + "/health", timeout=10).status_code == 200


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_a_bearer_key_works_like_x_api_key(
    http_server: ServerProcess, tenant: Tenant, transport: Transport
) -> None:
    headers = {"authorization": f"Bearer {tenant.admin_key}"}
    with anyio.fail_after(DEADLINE_S):
        if transport == "sse":
            async with Client(sse_client(f"{http_server.url}/sse", headers=headers), mode="legacy") as c:
                await ok(c, "search_memories", {})
            return
        async with httpx2.AsyncClient(headers=headers) as http:
            stream = streamable_http_client(f"{http_server.url}/mcp", http_client=http)
            mode = "auto" if transport == "http-modern" else "legacy"
            async with Client(stream, mode=mode) as c:
                await ok(c, "search_memories", {})


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_a_read_only_key_can_search_but_not_store_or_forget(
    http_server: ServerProcess, tenant: Tenant, transport: Transport
) -> None:
    with anyio.fail_after(DEADLINE_S):
        async with connect(http_server.url, tenant.admin_key, "http-modern") as admin:
            stored = await ok(admin, "store_memory", {"content": "shared knowledge"})
        async with connect(http_server.url, tenant.read_key, transport) as client:
            assert (await ok(client, "search_memories", {"query": "shared"}))["count"] == 1
            for tool, arguments in (
                ("store_memory", {"content": "not allowed"}),
                ("log_decision", {"decision": "no", "reasoning": "read-only"}),
                ("forget_memory", {"memory_id": stored["memory_id"]}),
                ("start_session", {}),
            ):
                error = await fails(client, tool, arguments)
                assert error.startswith("forbidden:"), (tool, error)
            assert (await ok(client, "search_memories", {"query": "shared"}))["count"] == 1


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_another_orgs_key_never_reaches_this_orgs_data_through_any_tool(
    http_server: ServerProcess, tenant: Tenant, transport: Transport
) -> None:
    other = new_key(http_server.data_dir, new_org(http_server.data_dir, "Org B"), "read,write")
    with anyio.fail_after(DEADLINE_S):
        async with connect(http_server.url, tenant.admin_key, "http-modern") as owner:
            session_id = (await ok(owner, "start_session", {}))["session_id"]
            stored = await ok(
                owner, "store_memory", {"content": "org A only", "session_id": session_id}
            )
        async with connect(http_server.url, other, transport) as intruder:
            assert (await ok(intruder, "search_memories", {"agent_id": "*"}))["count"] == 0
            assert (await ok(intruder, "search_memories", {"session_id": session_id}))["count"] == 0
            for tool, arguments in (
                ("forget_memory", {"memory_id": stored["memory_id"]}),
                ("forget_memory", {"memory_id": stored["memory_id"][-12:]}),
                ("get_session_context", {"session_id": session_id}),
                ("end_session", {"session_id": session_id}),
            ):
                assert (await fails(intruder, tool, arguments)).startswith("not_found:"), tool
            # Writing under "the same" session id lands in org B, not in A's session.
            await ok(intruder, "store_memory", {"content": "org B note", "session_id": session_id})
        async with connect(http_server.url, tenant.admin_key, "http-modern") as owner:
            context = await ok(owner, "get_session_context", {"session_id": session_id})
            assert context["memory_count"] == 1 and "org B" not in context["context"]


async def test_a_revoked_key_stops_working_at_once(http_server: ServerProcess) -> None:
    data_dir = http_server.data_dir
    key = new_key(data_dir, "org_default", "read,write", name="soon-revoked")
    (record,) = [k for k in cli(data_dir, "keys", "list") if k["name"] == "soon-revoked"]
    with anyio.fail_after(DEADLINE_S):
        async with connect(http_server.url, key, "http-legacy") as client:
            await ok(client, "search_memories", {})
            await anyio.run_process(
                [sys.executable, "-m", "memtrace_mcp", "keys", "revoke", record["id"],
                 "--data-dir", str(data_dir)],
            )
            with pytest.raises(MCPError):  # its next POST got a 401
                await client.call_tool("search_memories", {})
    async with httpx.AsyncClient() as http:
        response = await http.post(http_server.url + "/mcp", headers={"x-api-key": key}, json={})
    assert response.status_code == 401


def test_a_legacy_session_cannot_be_used_with_another_key(
    http_server: ServerProcess, tenant: Tenant
) -> None:
    accept = {"accept": "application/json, text/event-stream"}
    init = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "0"}}}
    opened = httpx.post(http_server.url + "/mcp", json=init, timeout=10,
                        headers={**accept, "x-api-key": tenant.admin_key})
    session = opened.headers["mcp-session-id"]
    listing = {"jsonrpc": "2.0", "id": 2, "method": "tools/list"}
    stolen = httpx.post(
        http_server.url + "/mcp", json=listing, timeout=10,
        headers={**accept, "x-api-key": tenant.read_key, "mcp-session-id": session,
                 "mcp-protocol-version": "2025-11-25"},
    )
    assert stolen.status_code == 404


def test_a_foreign_host_header_is_refused_unless_allowed(
    http_server: ServerProcess, tenant: Tenant, tmp_path: Path
) -> None:
    accept = {"accept": "application/json, text/event-stream"}
    init = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "0"}}}
    foreign = {**accept, "x-api-key": tenant.admin_key, "host": "mcp.example.com"}
    assert httpx.post(http_server.url + "/mcp", headers=foreign, json=init, timeout=10).status_code == 421
    allowed = start_server(tmp_path / "allowed", env={"MEMTRACE_ALLOWED_HOSTS": "mcp.example.com"})
    try:
        key = {**accept, "x-api-key": allowed.admin_key or ""}
        for host in ("mcp.example.com", "mcp.example.com:443"):
            response = httpx.post(allowed.url + "/mcp", json=init, timeout=10,
                                  headers={**key, "host": host, "origin": f"https://{host}"})
            assert response.status_code == 200, response.text
        for bad in ({"host": "evil.example"}, {"host": "mcp.example.com", "origin": "https://evil.example"}):
            response = httpx.post(allowed.url + "/mcp", json=init, timeout=10, headers={**key, **bad})
            assert response.status_code in (403, 421), bad
    finally:
        allowed.stop()
