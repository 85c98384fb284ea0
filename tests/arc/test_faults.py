"""Arc goes away mid-stream (SIGSTOP, SIGKILL, or the connection cut) and comes back: every
acknowledged memory ends up in Arc exactly once, and no read ever shows one twice."""

from __future__ import annotations

import itertools
import random
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import anyio
import anyio.lowlevel
import httpx
import pytest

from memtrace_mcp.asgi import create_app
from memtrace_mcp.models import MemoryFilter
from memtrace_mcp.service import Services
from tests.arc_standin.fixtures import ArcServer
from tests.arc_standin.proxy import ChaosProxy

from ..support.arc import arc_settings
from ..support.asgi import lifespan
from .conftest import QUICK_CACHES, QUICK_HORIZON_S, opened
from .helpers import A, draft, retired, rows_in_arc, wait_for

pytestmark = [pytest.mark.arc, pytest.mark.slow]

CLIENTS = 8


class Outage:
    """Takes Arc away and brings it back, by signal or at the proxy."""

    def __init__(self, kind: str, arc: ArcServer, proxy: ChaosProxy) -> None:
        self.kind, self.arc, self.proxy = kind, arc, proxy

    def start(self) -> None:
        if self.kind == "sigstop":
            self.arc.stop()
        elif self.kind == "sigkill":  # Arc loses what it had buffered, not yet flushed
            self.arc.kill()
        else:
            self.proxy.cut()

    def end(self) -> None:
        if self.kind == "sigstop":
            self.arc.cont()
        elif self.kind == "sigkill":
            self.arc.restart()
        else:
            self.proxy.resume()


@contextmanager
def proxied(arc: ArcServer) -> Iterator[ChaosProxy]:
    url = httpx.URL(arc.url)
    with ChaosProxy(url.host, url.port or 80) as proxy:
        yield proxy


async def client(
    services: Services, n: int, acked: list[str], seen_twice: list[str], stop: anyio.Event
) -> None:
    """Writes memories (every tenth request a batch) and reads its own back."""
    agent = f"client{n}"
    mine: list[str] = []
    rng = random.Random(n)
    for i in itertools.count():
        if stop.is_set():
            return
        if i % 10 == 9:
            batch = [draft(f"{agent} b{i}.{j}", agent_id=agent, tags=["fault"]) for j in range(5)]
            stored = [
                m.memory_id for m in (await services.memories.remember_batch(A, batch)).memories
            ]
        else:
            stored = [
                (
                    await services.memories.remember(A, draft(f"{agent} m{i}", agent_id=agent))
                ).memory_id
            ]
        mine += stored
        acked += stored
        if rng.random() < 0.3:
            page = await services.memories.list(A, MemoryFilter(agent_id=agent, limit=20))
            ids = [m.memory_id for m in page.memories]
            if len(ids) != len(set(ids)):
                seen_twice.append(agent)
            assert ids[:1] == mine[-1:], "the newest acknowledged memory is readable"
        if rng.random() < 0.1:
            page = await services.memories.list(A, MemoryFilter(tags=["fault"], limit=200))
            ids = [m.memory_id for m in page.memories]
            if len(ids) != len(set(ids)):
                seen_twice.append("tags")
        await anyio.lowlevel.checkpoint()


@pytest.mark.parametrize("kind", ["sigstop", "cut", "sigkill"])
async def test_arc_outage_mid_stream_loses_nothing_and_doubles_nothing(
    kind: str, arc_standin_factory: Callable[..., ArcServer], tmp_path: Path
) -> None:
    arc = arc_standin_factory(**QUICK_CACHES)
    with proxied(arc) as proxy:
        settings = arc_settings(
            arc, tmp_path / "data", "faults", arc_cache_horizon_s=QUICK_HORIZON_S
        )
        settings = settings.model_copy(update={"arc_url": proxy.url})
        outage = Outage(kind, arc, proxy)
        acked: list[str] = []
        seen_twice: list[str] = []
        async with opened(settings) as services:
            stop = anyio.Event()

            def until(count: int) -> Callable[[], Awaitable[bool]]:
                async def check() -> bool:
                    return len(acked) >= count

                return check

            try:
                async with anyio.create_task_group() as tg:
                    for n in range(CLIENTS):
                        tg.start_soon(client, services, n, acked, seen_twice, stop)
                    await wait_for(until(400), timeout=60)
                    outage.start()
                    try:
                        await wait_for(until(len(acked) + 400), timeout=60)

                        # Reads that Arc's half cannot serve (nothing retired yet)
                        # never ask Arc, so the shipper's timeout may be what notices.
                        async def noticed() -> bool:
                            return (await services.memories.status()).arc == "disconnected"

                        await wait_for(noticed, timeout=60)
                        assert (await services.memories.status()).backlog > 0
                    finally:
                        outage.end()
                    await wait_for(until(len(acked) + 400), timeout=60)
                    stop.set()
            finally:
                stop.set()
            await wait_for(lambda: retired(services), timeout=120)
            assert seen_twice == []
            listed: list[str] = []
            for offset in range(0, len(acked) + 1, 1000):
                page = await services.memories.list(
                    A, MemoryFilter(limit=1000, offset=offset, order="asc")
                )
                listed += [m.memory_id for m in page.memories]
            assert sorted(listed) == sorted(acked) and len(listed) == len(set(listed))
    in_arc = await rows_in_arc(arc, "faults")
    assert set(in_arc) == set(acked), f"{len(set(acked) - set(in_arc))} acknowledged missing"
    doubled = Counter(n for n in in_arc.values() if n > 1)
    assert not doubled, f"rows stored more than once in Arc: {doubled}"


async def test_ready_reports_a_disconnected_arc_and_its_backlog_then_recovers(
    arc_standin: ArcServer, arc_proxy: ChaosProxy, arc_database: str, tmp_path: Path
) -> None:
    settings = arc_settings(arc_standin, tmp_path / "data", arc_database)
    settings = settings.model_copy(update={"arc_url": arc_proxy.url})
    keys: list[str] = []
    app = create_app(settings, on_bootstrap_key=keys.append)
    async with lifespan(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://memtrace.test") as api:
            api.headers["x-api-key"] = keys[0]

            async def ready() -> dict[str, object]:
                response = await api.get("/ready")
                assert response.status_code == 200
                return dict(response.json())

            async def connected_and_drained() -> bool:
                return await ready() == {
                    "status": "ready",
                    "store": "arc",
                    "arc": "connected",
                    "backlog": 0,
                }

            await wait_for(connected_and_drained)
            arc_proxy.cut()
            for i in range(3):
                response = await api.post(
                    "/api/v1/memories", json={"agent_id": "a", "content": f"down {i}"}
                )
                assert response.status_code == 201
            listed = (await api.get("/api/v1/memories")).json()
            assert listed["count"] == 3

            async def disconnected() -> bool:
                return await ready() == {
                    "status": "ready",
                    "store": "arc",
                    "arc": "disconnected",
                    "backlog": 3,
                }

            await wait_for(disconnected)
            arc_proxy.resume()
            await wait_for(connected_and_drained)
