"""store_memory, log_decision, search_memories and forget_memory through the SDK's
in-memory client, in both protocol eras, over real services on SQLite."""

from __future__ import annotations

from datetime import datetime

from mcp import Client
from memtrace_mcp.service import Services

from .conftest import AGENT
from .helpers import fails, ok, text_of


def is_iso_utc(value: str) -> bool:
    return value.endswith("Z") and datetime.fromisoformat(value).utcoffset() is not None


async def test_store_memory_returns_the_new_id_and_iso_time_for_the_configured_agent(
    client: Client,
) -> None:
    stored = await ok(client, "store_memory", {"content": "Deployed v2.3 to staging"})
    assert len(stored["memory_id"]) == 36
    assert is_iso_utc(stored["time"])
    assert stored["agent_id"] == AGENT
    assert (stored["memory_type"], stored["event_type"]) == ("episodic", "general")


async def test_store_memory_keeps_every_given_field(client: Client, services: Services) -> None:
    from memtrace_mcp.service.auth import LOCAL_PRINCIPAL

    stored = await ok(
        client,
        "store_memory",
        {
            "content": "Alice owns billing",
            "memory_type": "entity",
            "event_type": "ownership",
            "session_id": "sess-1",
            "tags": ["billing", "people"],
            "importance": 0.8,
            "metadata": {"team": "payments"},
            "dedup_key": "alice-billing",
            "agent_id": "other-agent",
        },
    )
    memory = await services.memories.get(LOCAL_PRINCIPAL, stored["memory_id"])
    assert memory.agent_id == "other-agent" and memory.session_id == "sess-1"
    assert memory.tags == ["billing", "people"] and memory.importance == 0.8
    assert memory.metadata == {"team": "payments"} and memory.dedup_key == "alice-billing"


async def test_storing_the_same_content_twice_is_a_duplicate_error_naming_the_first_id(
    client: Client,
) -> None:
    first = await ok(client, "store_memory", {"content": "same thing"})
    error = await fails(client, "store_memory", {"content": "same thing"})
    assert error.startswith("duplicate:")
    assert first["memory_id"] in error and "Nothing new was stored" in error


async def test_a_bad_argument_is_a_tool_error_naming_the_field(client: Client) -> None:
    error = await fails(client, "store_memory", {"content": "x", "session_id": "has spaces"})
    assert error.startswith("invalid_request: session_id:")
    assert "call store_memory again" in error
    error = await fails(client, "store_memory", {"content": "x", "importance": 2})
    assert "importance:" in error
    error = await fails(client, "store_memory", {})
    assert "content: " in error and "required" in error


async def test_limits_enforced_by_the_core_come_back_as_tool_errors(client: Client) -> None:
    error = await fails(client, "store_memory", {"content": "x" * (64 * 1024 + 1)})
    assert error.startswith("invalid_request: content is larger than 65536 bytes")
    error = await fails(client, "store_memory", {"content": "x", "metadata": {"k": "v" * 20_000}})
    assert "metadata is larger than" in error


async def test_log_decision_stores_a_decision_whose_reasoning_search_shows(client: Client) -> None:
    stored = await ok(
        client,
        "log_decision",
        {"decision": "Use PostgreSQL for orders", "reasoning": "needs transactions"},
    )
    assert (stored["memory_type"], stored["event_type"]) == ("decision", "decision")
    found = await ok(client, "search_memories", {"memory_types": ["decision"]})
    assert found["results"][0]["memory_id"] == stored["memory_id"]
    assert found["results"][0]["reasoning"] == "needs transactions"


async def test_log_decision_requires_reasoning(client: Client) -> None:
    error = await fails(client, "log_decision", {"decision": "Do it"})
    assert "reasoning" in error


async def test_search_finds_by_substring_and_returns_compact_hits(client: Client) -> None:
    await ok(client, "store_memory", {"content": "The STAGING deploy failed", "event_type": "error"})
    await ok(client, "store_memory", {"content": "unrelated"})
    found = await ok(client, "search_memories", {"query": "staging"})
    assert found["count"] == 1 and found["has_more"] is False and found["next_offset"] is None
    hit = found["results"][0]
    assert hit["content"] == "The STAGING deploy failed" and hit["content_truncated"] is False
    assert is_iso_utc(hit["time"]) and hit["event_type"] == "error"
    assert set(hit) == {
        "memory_id", "time", "agent_id", "session_id", "memory_type", "event_type",
        "content", "content_truncated", "tags", "importance", "reasoning",
    }


async def test_search_shortens_long_contents(client: Client) -> None:
    await ok(client, "store_memory", {"content": "long " * 400})
    hit = (await ok(client, "search_memories", {}))["results"][0]
    assert hit["content_truncated"] is True and len(hit["content"]) <= 501
    assert hit["content"].endswith("…")


async def test_search_defaults_to_ten_pages_with_next_offset_and_caps_at_fifty(
    client: Client,
) -> None:
    for i in range(12):
        await ok(client, "store_memory", {"content": f"note {i}"})
    first = await ok(client, "search_memories", {})
    assert first["count"] == 10 and first["has_more"] is True and first["next_offset"] == 10
    rest = await ok(client, "search_memories", {"offset": first["next_offset"]})
    assert rest["count"] == 2 and rest["has_more"] is False
    seen = {h["memory_id"] for h in first["results"] + rest["results"]}
    assert len(seen) == 12
    error = await fails(client, "search_memories", {"limit": 51})
    assert error.startswith("invalid_request: limit:")


async def test_search_covers_the_configured_agent_unless_asked_for_all(client: Client) -> None:
    await ok(client, "store_memory", {"content": "mine"})
    await ok(client, "store_memory", {"content": "theirs", "agent_id": "teammate"})
    mine = await ok(client, "search_memories", {})
    assert [h["content"] for h in mine["results"]] == ["mine"]
    everyone = await ok(client, "search_memories", {"agent_id": "*"})
    assert {h["content"] for h in everyone["results"]} == {"mine", "theirs"}
    theirs = await ok(client, "search_memories", {"agent_id": "teammate"})
    assert [h["content"] for h in theirs["results"]] == ["theirs"]


async def test_search_filters_by_tags_type_session_and_time(client: Client) -> None:
    await ok(client, "store_memory", {"content": "a", "tags": ["go", "prod"], "session_id": "s1"})
    await ok(client, "store_memory", {"content": "b", "tags": ["golang"], "memory_type": "entity"})
    assert (await ok(client, "search_memories", {"tags": ["go"]}))["count"] == 1
    assert (await ok(client, "search_memories", {"memory_types": ["entity"]}))["count"] == 1
    assert (await ok(client, "search_memories", {"session_id": "s1"}))["count"] == 1
    assert (await ok(client, "search_memories", {"since": "1h"}))["count"] == 2
    assert (await ok(client, "search_memories", {"until": "1h"}))["count"] == 0


async def test_a_bad_time_expression_is_a_tool_error_naming_since(client: Client) -> None:
    error = await fails(client, "search_memories", {"since": "yesterday"})
    assert error.startswith("invalid_request: since must be a relative time")


async def test_forget_memory_removes_it_from_search(client: Client) -> None:
    stored = await ok(client, "store_memory", {"content": "secret token"})
    forgotten = await ok(client, "forget_memory", {"memory_id": stored["memory_id"]})
    assert forgotten == {"memory_id": stored["memory_id"], "forgotten": True}
    assert (await ok(client, "search_memories", {"query": "secret"}))["count"] == 0


async def test_forget_memory_accepts_the_short_id_shown_in_context(client: Client) -> None:
    stored = await ok(client, "store_memory", {"content": "cite me"})
    short = "#" + stored["memory_id"][-12:]
    await ok(client, "forget_memory", {"memory_id": short})
    assert (await ok(client, "search_memories", {}))["count"] == 0


async def test_forgetting_an_unknown_memory_is_a_not_found_error(client: Client) -> None:
    error = await fails(client, "forget_memory", {"memory_id": "01a20122-cf67-7377-9b21-59c431bb3036"})
    assert error.startswith("not_found:") and "search_memories" in error


async def test_tool_text_is_the_structured_result_as_compact_json(client: Client) -> None:
    import json

    result = await client.call_tool("store_memory", {"content": "json please"})
    assert json.loads(text_of(result)) == result.structured_content
    assert "\n" not in text_of(result)
