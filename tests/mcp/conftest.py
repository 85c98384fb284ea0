"""Fixtures for the MCP face: a server over real services (SQLite in tmp_path),
and an in-memory SDK client for it in each protocol era."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import pytest

from mcp import Client
from memtrace_mcp.models import Principal
from memtrace_mcp.service import Services
from memtrace_mcp.service.auth import LOCAL_PRINCIPAL
from memtrace_mcp.transports.mcp.server import MemtraceMCP, build_mcp_server

from ..support.server import ServerProcess, start_server
from .http_support import Tenant, new_tenant

AGENT = "test-agent"
ERAS = ["auto", "legacy"]  # 2026-07-28 (stateless) and the 2025-11-25 handshake


def fixed(principal: Principal) -> Callable[[Any], Principal]:
    return lambda _ctx: principal


@pytest.fixture
def mcp_server(services: Services) -> MemtraceMCP:
    return build_mcp_server(services, agent_id=AGENT, principal=fixed(LOCAL_PRINCIPAL))


@pytest.fixture(params=ERAS)
def era(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
async def client(mcp_server: MemtraceMCP, era: str) -> AsyncIterator[Client]:
    async with Client(mcp_server, mode=era) as connected:  # type: ignore[arg-type]
        yield connected


@pytest.fixture(scope="module")
def http_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """One real ``memtrace-mcp serve`` per test module; tests keep apart by
    working in an org of their own (``tenant``)."""
    proc = start_server(tmp_path_factory.mktemp("mcp-server") / "data")
    try:
        yield proc
    finally:
        proc.stop()


@pytest.fixture
def tenant(http_server: ServerProcess, request: pytest.FixtureRequest) -> Tenant:
    """A fresh org (sync, so that sync tests can use it too)."""
    import anyio

    return anyio.run(new_tenant, http_server.data_dir, request.node.name[:100])
