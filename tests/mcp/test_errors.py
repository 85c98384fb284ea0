"""Failures a model must be able to read and act on: scopes, other orgs' data,
unknown tools, and crashes, which never leak their text."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import Any

import pytest

from mcp import Client, MCPError
from memtrace_mcp.models import Principal
from memtrace_mcp.service import Services
from memtrace_mcp.service.auth import LOCAL_PRINCIPAL
from memtrace_mcp.transports.mcp.errors import INTERNAL
from memtrace_mcp.transports.mcp.server import build_mcp_server

from .conftest import AGENT, fixed
from .helpers import fails, ok

READ_ONLY = Principal(org_id="org_default", scopes=frozenset({"read"}), key_id="key_ro")
OTHER_ORG = Principal(org_id="org_other", scopes=frozenset({"read", "write"}), key_id="key_b")


async def connect(services: Services, principal: Principal, era: str) -> AsyncIterator[Client]:
    server = build_mcp_server(services, agent_id=AGENT, principal=fixed(principal))
    async with Client(server, mode=era) as client:  # type: ignore[arg-type]
        yield client


@pytest.fixture
async def reader(services: Services, era: str) -> AsyncIterator[Client]:
    async for client in connect(services, READ_ONLY, era):
        yield client


@pytest.fixture
async def outsider(services: Services, era: str) -> AsyncIterator[Client]:
    async for client in connect(services, OTHER_ORG, era):
        yield client


WRITES = [
    ("store_memory", {"content": "x"}),
    ("log_decision", {"decision": "x", "reasoning": "y"}),
    ("start_session", {}),
    ("end_session", {"session_id": "s"}),
    ("forget_memory", {"memory_id": "01a20122-cf67-7377-9b21-59c431bb3036"}),
]


@pytest.mark.parametrize(("tool", "arguments"), WRITES, ids=[w[0] for w in WRITES])
async def test_a_read_only_caller_gets_a_forbidden_error_for_every_write(
    reader: Client, tool: str, arguments: dict[str, Any]
) -> None:
    error = await fails(reader, tool, arguments)
    assert error.startswith("forbidden: this API key lacks the 'write' scope")
    assert "do not retry" in error


async def test_a_read_only_caller_can_search_and_read_context(
    client: Client, reader: Client
) -> None:
    session_id = (await ok(client, "start_session", {}))["session_id"]
    await ok(client, "store_memory", {"content": "visible", "session_id": session_id})
    assert (await ok(reader, "search_memories", {}))["count"] == 1
    assert (await ok(reader, "get_session_context", {"session_id": session_id}))["memory_count"] == 1


async def test_another_orgs_caller_sees_and_forgets_nothing(
    client: Client, outsider: Client
) -> None:
    session_id = (await ok(client, "start_session", {}))["session_id"]
    stored = await ok(client, "store_memory", {"content": "org A secret", "session_id": session_id})
    assert (await ok(outsider, "search_memories", {"agent_id": "*"}))["count"] == 0
    assert (await fails(outsider, "forget_memory", {"memory_id": stored["memory_id"]})).startswith(
        "not_found:"
    )
    assert (await fails(outsider, "get_session_context", {"session_id": session_id})).startswith(
        "not_found:"
    )
    assert (await fails(outsider, "end_session", {"session_id": session_id})).startswith("not_found:")
    assert (await ok(client, "search_memories", {}))["count"] == 1


async def test_an_unknown_tool_is_a_tool_error(client: Client) -> None:
    assert "Unknown tool" in await fails(client, "recall_everything", {})


class Exploding:
    """A ToolServices whose store fails in a way the core does not translate:
    the only way to exercise the crash path with a real client."""

    def __getattr__(self, name: str) -> Any:
        return self

    async def _boom(self, *args: object) -> Any:
        raise RuntimeError("sqlite3.DatabaseError: file /srv/secret/memtrace.db is malformed")

    remember = search = forget = create = update = context = history = _boom


async def test_a_crash_is_logged_and_reported_as_a_generic_internal_error(
    era: str, caplog: pytest.LogCaptureFixture
) -> None:
    server = build_mcp_server(Exploding(), agent_id=AGENT, principal=fixed(LOCAL_PRINCIPAL))  # type: ignore[arg-type]
    with caplog.at_level(logging.ERROR):
        async with Client(server, mode=era) as client:  # type: ignore[arg-type]
            error = await fails(client, "search_memories", {})
    assert error == INTERNAL
    assert "Error executing tool" not in error and "sqlite" not in error
    logged = [r for r in caplog.records if r.name == "memtrace_mcp.transports.mcp.errors"]
    assert logged and logged[0].exc_info is not None
    assert "malformed" in str(logged[0].exc_info[1])


async def test_a_crash_while_reading_the_context_resource_is_a_generic_internal_error(
    era: str, caplog: pytest.LogCaptureFixture
) -> None:
    server = build_mcp_server(Exploding(), agent_id=AGENT, principal=fixed(LOCAL_PRINCIPAL))  # type: ignore[arg-type]
    with caplog.at_level(logging.ERROR):
        async with Client(server, mode=era) as client:  # type: ignore[arg-type]
            with pytest.raises(MCPError) as raised:
                await client.read_resource("memtrace://sessions/s1/context")
    assert raised.value.error.code == -32603
    assert raised.value.error.message == INTERNAL
    assert any(r.name == "memtrace_mcp.transports.mcp.errors" for r in caplog.records)
