"""A real ``memtrace-mcp serve`` process on Arc: end to end, and SIGKILLed mid-stream."""

from __future__ import annotations

import itertools
from collections import Counter
from pathlib import Path

import anyio
import httpx
import pytest

from tests.arc_standin.fixtures import ArcServer

from ..support.arc import arc_env
from ..support.server import ServerProcess, start_server
from .helpers import rows_in_arc, wait_for

pytestmark = [pytest.mark.arc, pytest.mark.slow]


async def drained(client: httpx.AsyncClient) -> bool:
    body = (await client.get("/ready")).json()
    return body["arc"] == "connected" and body["backlog"] == 0


async def all_memories(client: httpx.AsyncClient) -> list[str]:
    ids: list[str] = []
    for offset in itertools.count(0, 1000):
        page = (
            await client.get("/api/v1/memories", params={"limit": 1000, "offset": offset})
        ).json()
        ids += [m["memory_id"] for m in page["memories"]]
        if not page["has_more"]:
            return ids
    raise AssertionError("unreachable")


async def test_serve_with_arc_works_end_to_end(
    arc_standin: ArcServer, arc_database: str, tmp_path: Path
) -> None:
    server = start_server(tmp_path / "data", env=arc_env(arc_standin, arc_database))
    try:
        headers = {"x-api-key": server.admin_key or ""}
        async with httpx.AsyncClient(base_url=server.url, headers=headers, timeout=30) as api:
            ready = (await api.get("/ready")).json()
            assert ready["store"] == "arc" and ready["status"] == "ready"
            body = {
                "agent_id": "e2e",
                "content": "It's 100% done",
                "session_id": "s1",
                "tags": ["end"],
            }
            created = await api.post("/api/v1/memories", json=body)
            assert created.status_code == 201
            memory_id = created.json()["memory_id"]
            assert (await api.post("/api/v1/memories", json=body)).status_code == 409
            assert (await api.get(f"/api/v1/memories/{memory_id}")).json()[
                "content"
            ] == "It's 100% done"
            found = (await api.post("/api/v1/search", json={"content_contains": "100%"})).json()
            assert [m["memory_id"] for m in found["results"]] == [memory_id]
            context = (await api.post("/api/v1/sessions/s1/context", json={})).json()
            assert context["memory_count"] == 1
            stats = (await api.get("/api/v1/agents/e2e/stats")).json()
            assert stats["memory_count"] == 1
            await wait_for(lambda: drained(api))
            assert await rows_in_arc(arc_standin, arc_database) == {memory_id: 1}
            assert (await api.delete(f"/api/v1/memories/{memory_id}")).status_code == 204
            assert (await api.get(f"/api/v1/memories/{memory_id}")).status_code == 404

            async def deleted() -> bool:
                return memory_id not in await rows_in_arc(arc_standin, arc_database)

            await wait_for(deleted)
    finally:
        server.stop()


async def _writer(
    client: httpx.AsyncClient, name: str, acked: list[str], failures: list[str], stop: anyio.Event
) -> None:
    for n in itertools.count():
        if stop.is_set():
            return
        body: dict[str, object]
        if n % 10 == 9:
            body = {
                "memories": [{"agent_id": name, "content": f"{name} b{n}.{i}"} for i in range(5)]
            }
        else:
            body = {"agent_id": name, "content": f"{name} m{n}", "tags": ["crash"]}
        try:
            response = await client.post("/api/v1/memories", json=body)
        except httpx.TransportError:
            return  # the server is gone; what was acknowledged before is what counts
        if response.status_code != 201:
            failures.append(f"{response.status_code} {response.text[:200]}")
            return
        data = response.json()
        acked.extend(
            m["memory_id"] for m in data["memories"]
        ) if "memories" in data else acked.append(data["memory_id"])


async def test_memtrace_sigkilled_mid_stream_loses_and_doubles_nothing_in_arc(
    arc_standin: ArcServer, arc_database: str, tmp_path: Path
) -> None:
    server: ServerProcess = start_server(tmp_path / "data", env=arc_env(arc_standin, arc_database))
    acked: list[str] = []
    failures: list[str] = []
    headers = {"x-api-key": server.admin_key or ""}
    try:
        async with httpx.AsyncClient(base_url=server.url, headers=headers, timeout=10) as api:
            stop = anyio.Event()
            async with anyio.create_task_group() as tg:
                for i in range(8):
                    tg.start_soon(_writer, api, f"writer{i}", acked, failures, stop)

                async def enough() -> bool:
                    return len(acked) >= 800

                await wait_for(enough, timeout=60)
                server.kill()  # mid-stream: requests and a shipment in flight
                stop.set()
        assert not failures, failures[:3]
        server = server.restart()
        async with httpx.AsyncClient(base_url=server.url, headers=headers, timeout=30) as api:
            await wait_for(lambda: drained(api), timeout=60)
            listed = await all_memories(api)
            # Committed but unacknowledged (the 201 died with the process) may be there too.
            assert set(acked) <= set(listed) and len(set(listed)) == len(listed)
            assert len(listed) - len(set(acked)) <= 8 * 5
    finally:
        server.stop()
    in_arc = await rows_in_arc(arc_standin, arc_database)
    assert set(in_arc) == set(listed)
    assert not Counter(n for n in in_arc.values() if n > 1), "a row was stored twice in Arc"
