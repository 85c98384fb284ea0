"""Dedup (contract §5): 409 for a single create, reported skips in a batch, exactly
one stored under concurrency."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import httpx

from ..support.server import ServerProcess
from .conftest import Timed
from .helpers import MEMORIES, assert_error, counts, list_memories, remember


async def test_second_identical_memory_is_409_duplicate_with_the_existing_id(
    api: httpx.AsyncClient,
) -> None:
    first = await remember(api, "crawled example.com", event_type="page_crawled")
    r = await api.post(
        MEMORIES,
        json={"agent_id": "a1", "content": "crawled example.com", "event_type": "page_crawled"},
    )
    body = assert_error(r, 409, "duplicate")
    assert body["memory_id"] == first["memory_id"]
    assert body["dedup_key"] == first["dedup_key"]
    assert (await counts(api))[0] == 1


async def test_client_dedup_key_decides_duplicates_whatever_the_content(
    api: httpx.AsyncClient,
) -> None:
    first = await remember(api, "one text", dedup_key="crawl_example_2026-02-07")
    r = await api.post(
        MEMORIES,
        json={
            "agent_id": "other",
            "content": "other text",
            "dedup_key": "crawl_example_2026-02-07",
        },
    )
    assert assert_error(r, 409, "duplicate")["memory_id"] == first["memory_id"]


async def test_generated_key_covers_agent_event_type_and_first_200_bytes(
    api: httpx.AsyncClient,
) -> None:
    base = "x" * 200
    await remember(api, base + " tail one")
    # Same agent, event type and first 200 bytes: a duplicate.
    r = await api.post(MEMORIES, json={"agent_id": "a1", "content": base + " tail two"})
    assert_error(r, 409, "duplicate")
    # A different agent, event type or head is not.
    await remember(api, base + " tail one", agent_id="a2")
    await remember(api, base + " tail one", event_type="other")
    await remember(api, "y" + base)
    # session, type, tags and metadata are not part of the key.
    r = await api.post(
        MEMORIES,
        json={
            "agent_id": "a1",
            "content": base,
            "session_id": "s9",
            "memory_type": "entity",
            "tags": ["t"],
            "metadata": {"m": 1},
        },
    )
    assert_error(r, 409, "duplicate")
    assert (await counts(api))[0] == 4


async def test_duplicate_outside_the_window_is_stored(timed: Timed) -> None:
    timed.clock.set(datetime.now(UTC) - timedelta(hours=50))
    old = await remember(timed.api, "daily report")
    timed.clock.set(datetime.now(UTC) - timedelta(hours=25))  # 25 h after the first
    second = await remember(timed.api, "daily report")
    timed.clock.set(datetime.now(UTC) - timedelta(hours=2))  # 23 h after the second
    r = await timed.api.post(MEMORIES, json={"agent_id": "a1", "content": "daily report"})
    body = assert_error(r, 409, "duplicate")
    assert body["memory_id"] == second["memory_id"] != old["memory_id"]


async def test_batch_skips_and_reports_duplicates_of_stored_memories(
    api: httpx.AsyncClient,
) -> None:
    existing = await remember(api, "already here")
    r = await api.post(
        MEMORIES,
        json={
            "memories": [
                {"agent_id": "a1", "content": "new one"},
                {"agent_id": "a1", "content": "already here"},
                {"agent_id": "a1", "content": "new two"},
            ]
        },
    )
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["count"] == 2
    assert [m["content"] for m in body["memories"]] == ["new one", "new two"]
    assert body["duplicates"] == [
        {"index": 1, "memory_id": existing["memory_id"], "dedup_key": existing["dedup_key"]}
    ]
    assert (await counts(api))[0] == 3


async def test_duplicates_inside_one_batch_are_caught(api: httpx.AsyncClient) -> None:
    r = await api.post(
        MEMORIES,
        json={
            "memories": [
                {"agent_id": "a1", "content": "twice"},
                {"agent_id": "a1", "content": "once"},
                {"agent_id": "a1", "content": "twice"},
                {"agent_id": "a1", "content": "k", "dedup_key": "K"},
                {"agent_id": "a2", "content": "other content", "dedup_key": "K"},
            ]
        },
    )
    assert r.status_code == 201, r.text
    body = r.json()
    stored = {m["content"]: m for m in body["memories"]}
    assert sorted(stored) == ["k", "once", "twice"]
    assert body["count"] == 3
    assert body["duplicates"] == [
        {
            "index": 2,
            "memory_id": stored["twice"]["memory_id"],
            "dedup_key": stored["twice"]["dedup_key"],
        },
        {"index": 4, "memory_id": stored["k"]["memory_id"], "dedup_key": "K"},
    ]
    assert (await counts(api))[0] == 3


async def test_batch_of_only_duplicates_stores_nothing_and_says_so(api: httpx.AsyncClient) -> None:
    a = await remember(api, "a")
    r = await api.post(MEMORIES, json={"memories": [{"agent_id": "a1", "content": "a"}]})
    assert r.status_code == 201
    assert r.json() == {
        "memories": [],
        "count": 0,
        "duplicates": [{"index": 0, "memory_id": a["memory_id"], "dedup_key": a["dedup_key"]}],
    }


async def test_concurrent_identical_creates_through_asgi_store_exactly_one(
    api: httpx.AsyncClient,
) -> None:
    body = {"agent_id": "racer", "content": "same thing at once"}
    responses = await asyncio.gather(*(api.post(MEMORIES, json=body) for _ in range(50)))
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [201] + [409] * 49
    winner = next(r.json()["memory_id"] for r in responses if r.status_code == 201)
    assert {r.json()["memory_id"] for r in responses if r.status_code == 409} == {winner}
    assert (await list_memories(api, agent_id="racer"))["count"] == 1


async def test_100_concurrent_identical_creates_on_a_real_server_store_exactly_one(
    server: ServerProcess,
) -> None:
    assert server.admin_key
    body = {"agent_id": "racer", "content": "the very same memory", "event_type": "race"}
    limits = httpx.Limits(max_connections=100, max_keepalive_connections=100)
    async with httpx.AsyncClient(
        base_url=server.url, headers={"x-api-key": server.admin_key}, limits=limits, timeout=30
    ) as client:
        responses = await asyncio.gather(*(client.post(MEMORIES, json=body) for _ in range(100)))
        statuses = [r.status_code for r in responses]
        assert statuses.count(201) == 1, statuses
        assert statuses.count(409) == 99, statuses
        winner = next(r.json()["memory_id"] for r in responses if r.status_code == 201)
        for r in responses:
            if r.status_code == 409:
                assert r.json()["error"] == "duplicate"
                assert r.json()["memory_id"] == winner
        listed = (await client.get(MEMORIES, params={"agent_id": "racer"})).json()
        assert listed["count"] == 1
        assert listed["memories"][0]["memory_id"] == winner


async def test_concurrent_batches_with_the_same_items_store_each_once(
    api: httpx.AsyncClient,
) -> None:
    batch = {"memories": [{"agent_id": "b", "content": f"item {i}"} for i in range(10)]}
    responses = await asyncio.gather(*(api.post(MEMORIES, json=batch) for _ in range(10)))
    assert all(r.status_code == 201 for r in responses)
    assert sum(r.json()["count"] for r in responses) == 10
    assert sum(len(r.json()["duplicates"]) for r in responses) == 90
    assert (await list_memories(api, agent_id="b"))["count"] == 10
