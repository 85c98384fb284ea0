"""POST /api/v1/memories: single and batch create (contract §5)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from .helpers import AGENTS, MEMORIES, assert_error, counts, remember

UUID7 = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")

FULL = {
    "agent_id": "agent_web_crawler",
    "session_id": "sess_abc123",
    "memory_type": "decision",
    "event_type": "page_crawled",
    "content": "Crawled https://example.com — found 3 product pages",
    "metadata": {"url": "https://example.com", "pages_found": 3, "nested": {"a": [1, 2, None]}},
    "tags": ["crawling", "products"],
    "importance": 0.7,
    "dedup_key": "crawl_example_2026-02-07",
    "parent_id": "0190aaaa-bbbb-7ccc-8ddd-eeeeeeeeeeee",
}


async def test_single_create_returns_201_with_every_field_and_server_fields(
    api: httpx.AsyncClient,
) -> None:
    before = datetime.now(UTC)
    r = await api.post(MEMORIES, json=FULL)
    assert r.status_code == 201, r.text
    body = r.json()
    for field, value in FULL.items():
        assert body[field] == value, field
    assert UUID7.match(body["memory_id"]), body["memory_id"]
    assert body["org_id"] == "org_default"
    assert body["time"].endswith("Z")
    stored_at = datetime.fromisoformat(body["time"])
    assert before - timedelta(seconds=1) <= stored_at <= datetime.now(UTC) + timedelta(seconds=1)


async def test_single_create_fills_the_documented_defaults(api: httpx.AsyncClient) -> None:
    body = await remember(api, "minimal")
    assert body["memory_type"] == "episodic"
    assert body["event_type"] == "general"
    assert body["importance"] == 0
    assert body["tags"] == []
    assert body["metadata"] == {}
    assert body["session_id"] is None
    assert body["parent_id"] is None
    # No dedup_key sent: the first 32 hex chars of SHA-256(agent|event|content).
    assert re.fullmatch(r"[0-9a-f]{32}", body["dedup_key"])


async def test_generated_dedup_key_matches_the_original_service_formula(
    api: httpx.AsyncClient,
) -> None:
    import hashlib

    body = await remember(api, "x" * 300, event_type="crawl")
    expected = hashlib.sha256(b"a1|crawl|" + b"x" * 200).hexdigest()[:32]
    assert body["dedup_key"] == expected


async def test_created_memory_reads_back_identically(api: httpx.AsyncClient) -> None:
    created = (await api.post(MEMORIES, json=FULL)).json()
    got = await api.get(f"{MEMORIES}/{created['memory_id']}")
    assert got.status_code == 200
    assert got.json() == created


async def test_memory_ids_are_unique_and_sort_by_creation_time(api: httpx.AsyncClient) -> None:
    ids = [(await remember(api, f"memory {i}"))["memory_id"] for i in range(20)]
    assert len(set(ids)) == 20
    assert ids == sorted(ids)


async def test_first_write_registers_an_unknown_agent(api: httpx.AsyncClient) -> None:
    assert (await api.get(f"{AGENTS}/fresh-agent")).status_code == 404
    await remember(api, agent_id="fresh-agent")
    agent = await api.get(f"{AGENTS}/fresh-agent")
    assert agent.status_code == 200
    assert agent.json()["id"] == agent.json()["name"] == "fresh-agent"
    assert agent.json()["last_active_at"] is not None


async def test_unknown_fields_in_the_body_are_ignored(api: httpx.AsyncClient) -> None:
    body = await remember(api, "extra", surprise="ignored", org_id="org_someone_else")
    assert "surprise" not in body
    assert body["org_id"] == "org_default"


@pytest.mark.parametrize(
    "content",
    [
        'it\'s a "quoted" string',
        "100% of_the_time",
        r"back\slash \\ double \n not-a-newline",
        "' OR 1=1 --",
        '"; DROP TABLE memories; --',
        "emoji 🧠🚀 and ZWJ 👩‍💻",
        "RTL עברית العربية mixed",
        "école ÉCOLE straße",
        "line one\nline two\ttabbed\r\n",
        '{"json": [1, 2]}',
        "  leading and trailing spaces  ",
        "日本語のテキスト",
    ],
)
async def test_weird_but_valid_content_is_stored_and_round_trips_exactly(
    api: httpx.AsyncClient, content: str
) -> None:
    created = await remember(api, content)
    assert created["content"] == content
    got = await api.get(f"{MEMORIES}/{created['memory_id']}")
    assert got.json()["content"] == content
    listed = (await api.get(MEMORIES)).json()["memories"]
    assert [m["content"] for m in listed] == [content]


async def test_weird_metadata_round_trips_exactly(api: httpx.AsyncClient) -> None:
    metadata = {
        "quote": 'it\'s "x"',
        "pct": "100%_",
        "emoji": "🧠",
        "bs": "a\\b",
        "nul": "a\u0000b",
        "deep": {"list": [1, 2.5, True, None, {"k": "v"}]},
        "": "empty key",
    }
    created = await remember(api, "with metadata", metadata=metadata)
    got = await api.get(f"{MEMORIES}/{created['memory_id']}")
    assert got.json()["metadata"] == metadata


async def test_metadata_at_the_limits_is_accepted(api: httpx.AsyncClient) -> None:
    nested: dict[str, object] = {}
    for _ in range(31):
        nested = {"k": nested}  # 32 levels, the most allowed
    created = await remember(api, "deep", metadata=nested)
    assert created["metadata"] == nested
    big = {"k": "x" * (16 * 1024 - 8)}  # {"k":"…"} is 8 bytes of framing: exactly 16 KiB
    assert (await remember(api, "big", metadata=big))["metadata"] == big


async def test_content_of_exactly_64_kib_is_accepted(api: httpx.AsyncClient) -> None:
    created = await remember(api, "x" * 64 * 1024)
    assert len(created["content"]) == 64 * 1024


async def test_boundary_values_are_accepted(api: httpx.AsyncClient) -> None:
    created = await remember(
        api,
        "boundaries",
        agent_id="a" * 128,
        session_id="S" + "x" * 127,
        event_type="e" * 64,
        tags=[f"t{i}" for i in range(32)],
        importance=1.0,
        dedup_key="k" * 256,
        parent_id="0:a.b-c_d",
    )
    assert created["agent_id"] == "a" * 128
    assert len(created["tags"]) == 32
    zero = await remember(api, "zero importance", importance=0)
    assert zero["importance"] == 0


# --- batch ----------------------------------------------------------------------


async def test_batch_create_returns_201_with_stored_memories_count_and_no_duplicates(
    api: httpx.AsyncClient,
) -> None:
    r = await api.post(
        MEMORIES,
        json={
            "memories": [
                {"agent_id": "agent_1", "content": "First memory", "memory_type": "episodic"},
                {"agent_id": "agent_1", "content": "Second memory", "memory_type": "decision"},
                {"agent_id": "agent_2", "content": "Third memory", "tags": ["x"]},
            ]
        },
    )
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["count"] == 3
    assert body["duplicates"] == []
    assert [m["content"] for m in body["memories"]] == [
        "First memory",
        "Second memory",
        "Third memory",
    ]
    assert [m["memory_type"] for m in body["memories"]] == ["episodic", "decision", "episodic"]
    assert all(UUID7.match(m["memory_id"]) for m in body["memories"])
    for m in body["memories"]:
        got = await api.get(f"{MEMORIES}/{m['memory_id']}")
        assert got.json() == m
    assert await counts(api) == (3, 2, 0)


async def test_batch_of_1000_is_accepted(api: httpx.AsyncClient) -> None:
    items = [{"agent_id": "bulk", "content": f"item {i}"} for i in range(1000)]
    r = await api.post(MEMORIES, json={"memories": items})
    assert r.status_code == 201, r.text
    assert r.json()["count"] == 1000
    page = (await api.get(MEMORIES, params={"limit": 1000})).json()
    assert page["count"] == 1000 and page["has_more"] is False


async def test_batch_validation_is_all_or_nothing_and_names_the_index(
    api: httpx.AsyncClient,
) -> None:
    items = [{"agent_id": "a1", "content": f"ok {i}"} for i in range(5)]
    items[3] = {"agent_id": "a1", "content": ""}
    r = await api.post(MEMORIES, json={"memories": items})
    assert_error(r, 400, "invalid_request", field="memories[3].content")
    assert await counts(api) == (0, 0, 0)


async def test_batch_with_oversized_content_names_the_index(api: httpx.AsyncClient) -> None:
    items = [
        {"agent_id": "a1", "content": "ok"},
        {"agent_id": "a1", "content": "x" * (64 * 1024 + 1)},
    ]
    r = await api.post(MEMORIES, json={"memories": items})
    assert_error(r, 400, "invalid_request", field="memories[1].content")
    assert await counts(api) == (0, 0, 0)
