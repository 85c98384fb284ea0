"""A 201 means durable: proven by SIGKILL, not by trust. Two servers on one data
dir: no "database is locked" reaches a client, no write is lost."""

from __future__ import annotations

import itertools
from pathlib import Path

import anyio
import httpx
import pytest

from ..support.server import ServerProcess, start_server

pytestmark = pytest.mark.slow


async def _writer(
    client: httpx.AsyncClient, name: str, acked: list[str], failures: list[str], stop: anyio.Event
) -> None:
    for n in itertools.count():
        if stop.is_set():
            return
        body: dict[str, object]
        if n % 10 == 9:  # every tenth request is a small batch
            body = {"memories": [{"agent_id": name, "content": f"{name} b{n}.{i}"} for i in range(5)]}
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
        if "memories" in data:
            acked.extend(m["memory_id"] for m in data["memories"])
        else:
            acked.append(data["memory_id"])


async def test_every_acknowledged_memory_survives_sigkill(server: ServerProcess) -> None:
    acked: list[str] = []
    failures: list[str] = []
    stop = anyio.Event()
    headers = {"x-api-key": server.admin_key or ""}
    async with httpx.AsyncClient(base_url=server.url, headers=headers, timeout=10) as client:
        async with anyio.create_task_group() as tg:
            for i in range(8):
                tg.start_soon(_writer, client, f"writer{i}", acked, failures, stop)
            with anyio.fail_after(60):
                while len(acked) < 400:
                    await anyio.sleep(0.01)
            server.kill()  # mid-stream: writers still have requests in flight
            stop.set()
    assert not failures, failures[:3]
    restarted = server.restart()
    try:
        async with httpx.AsyncClient(
            base_url=restarted.url, headers=headers, timeout=10
        ) as client:
            missing = []
            for memory_id in acked:
                response = await client.get(f"/api/v1/memories/{memory_id}")
                if response.status_code != 200:
                    missing.append((memory_id, response.status_code))
            assert missing == [], f"{len(missing)} of {len(acked)} acknowledged memories lost"
    finally:
        restarted.stop()


async def test_two_servers_on_one_data_dir_lose_nothing(tmp_path: Path) -> None:
    first = start_server(tmp_path / "shared")
    second = start_server(tmp_path / "shared")
    try:
        assert first.admin_key and second.admin_key is None  # one bootstrap only
        headers = {"x-api-key": first.admin_key}
        statuses: list[int] = []
        per_server = 300

        async def write(url: str, tag: str, start: int) -> None:
            async with httpx.AsyncClient(base_url=url, headers=headers, timeout=30) as client:
                for n in range(start, per_server, 6):
                    response = await client.post(
                        "/api/v1/memories", json={"agent_id": tag, "content": f"{tag} {n}"}
                    )
                    statuses.append(response.status_code)

        with anyio.fail_after(120):
            async with anyio.create_task_group() as tg:
                for server, tag in ((first, "one"), (second, "two")):
                    for start in range(6):
                        tg.start_soon(write, server.url, tag, start)
        assert set(statuses) == {201}, sorted(set(statuses))
        async with httpx.AsyncClient(base_url=second.url, headers=headers) as client:
            for tag in ("one", "two"):
                page = (await client.get("/api/v1/memories", params={"agent_id": tag, "limit": 1000})).json()
                assert page["count"] == per_server
                assert {m["content"] for m in page["memories"]} == {f"{tag} {n}" for n in range(per_server)}
    finally:
        first.stop()
        second.stop()
