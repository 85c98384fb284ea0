"""Fixtures shared by every test: settings on a temp data dir, opened services,
the ASGI app with its lifespan run, an HTTP client, and a real server process."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from memtrace_mcp.config import Settings
from memtrace_mcp.models import Principal
from memtrace_mcp.service import Services
from memtrace_mcp.wiring import open_services

from .support.asgi import lifespan
from .support.server import ServerProcess, start_server

pytest_plugins = ["tests.support.guard", "tests.arc_standin.fixtures"]

@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data", _env_file=None)  # type: ignore[call-arg]


@pytest.fixture
async def services(settings: Settings) -> AsyncIterator[Services]:
    async with open_services(settings) as opened:
        yield opened


ADMIN = Principal(org_id="org_default", scopes=frozenset({"admin"}))


@pytest.fixture
async def app_client(settings: Settings) -> AsyncIterator[tuple[httpx.AsyncClient, str]]:
    """(client, admin key) for the whole ASGI app, lifespan included, no socket."""
    from memtrace_mcp.asgi import create_app

    keys: list[str] = []
    app = create_app(settings, on_bootstrap_key=keys.append)
    async with lifespan(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://memtrace.test") as client:
            yield client, keys[0]


@pytest.fixture
async def api(app_client: tuple[httpx.AsyncClient, str]) -> httpx.AsyncClient:
    """An HTTP client that sends the admin key on every request."""
    client, key = app_client
    client.headers["x-api-key"] = key
    return client


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ServerProcess]:
    """A real ``memtrace-mcp serve`` process on a free loopback port."""
    proc = start_server(tmp_path / "server-data")
    try:
        yield proc
    finally:
        proc.stop()
