"""REST fixtures beyond the shared ones: an app on a controllable clock, an app with
a small body limit, and a second org with its own key."""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx
import pytest

import memtrace_mcp.asgi as asgi_module
from memtrace_mcp import wiring
from memtrace_mcp.config import Settings
from memtrace_mcp.timeexpr import to_us
from memtrace_mcp.wiring import open_services

from ..support.asgi import lifespan


@asynccontextmanager
async def client_for(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client on a fresh ASGI app (lifespan run) carrying the bootstrap admin key."""
    keys: list[str] = []
    app = asgi_module.create_app(settings, on_bootstrap_key=keys.append)
    async with lifespan(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://memtrace.test", headers={"x-api-key": keys[0]}
        ) as client:
            yield client


class FakeClock:
    """The server's clock, injected: microseconds since the epoch, set by the test.

    Each call moves one microsecond forward (as the real clock does), unless frozen,
    in which case every call returns the same instant (two memories at one time)."""

    def __init__(self) -> None:
        self.now_us = to_us(datetime.now(UTC))
        self.frozen = False

    def __call__(self) -> int:
        if not self.frozen:
            self.now_us += 1
        return self.now_us

    def set(self, moment: datetime) -> None:
        self.now_us = to_us(moment)


@dataclass
class Timed:
    api: httpx.AsyncClient
    clock: FakeClock


@asynccontextmanager
async def timed_client(settings: Settings) -> AsyncIterator[Timed]:
    """The app with its clock under the test's control: the composition root takes
    the clock as an argument; the ASGI factory is handed one that passes ours."""
    clock = FakeClock()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(
            asgi_module, "build_runtime", functools.partial(wiring.build_runtime, clock=clock)
        )
        async with client_for(settings) as client:
            yield Timed(client, clock)


@pytest.fixture
async def timed(settings: Settings) -> AsyncIterator[Timed]:
    async with timed_client(settings) as t:
        yield t


@pytest.fixture(scope="module")
def module_dirs(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Settings]:
    """Settings on data dirs of their own, for module-scoped apps (read-only tests
    share one to stay fast)."""

    def make(name: str) -> Settings:
        return Settings(data_dir=tmp_path_factory.mktemp(name) / "data", _env_file=None)  # type: ignore[call-arg]

    return make


@pytest.fixture
async def small_body_api(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """The app with ``max_body_bytes`` = 4096."""
    async with client_for(settings.model_copy(update={"max_body_bytes": 4096})) as client:
        yield client


@dataclass
class OtherOrg:
    org_id: str
    api: httpx.AsyncClient


@asynccontextmanager
async def second_org(settings: Settings, client: httpx.AsyncClient) -> AsyncIterator[OtherOrg]:
    """A second org with an admin key, on the same app (and database) as ``client``.
    Created through the services, as the CLI does."""
    async with open_services(settings) as services:
        org = await services.auth.create_org("Other Org")
        created = await services.auth.create_key_local(org.id, "other-admin", ["admin"])
    other = httpx.AsyncClient(
        transport=client._transport,
        base_url="http://memtrace.test",
        headers={"x-api-key": created.key},
    )
    async with other:
        yield OtherOrg(org.id, other)


@pytest.fixture
async def other_org(
    settings: Settings, app_client: tuple[httpx.AsyncClient, str]
) -> AsyncIterator[OtherOrg]:
    async with second_org(settings, app_client[0]) as other:
        yield other
