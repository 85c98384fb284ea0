"""start_session, end_session, get_session_context and the session-context
resource through the in-memory client, in both protocol eras."""

from __future__ import annotations

import pytest

from mcp import Client, MCPError
from memtrace_mcp.service.context import count_tokens

from .conftest import AGENT
from .helpers import fails, ok, text_of


async def test_start_session_returns_an_id_and_says_there_is_no_history_yet(
    client: Client,
) -> None:
    result = await client.call_tool("start_session", {"metadata": {"task": "fix login"}})
    started = result.structured_content
    assert not result.is_error and started is not None
    assert started["session_id"].startswith("sess_") and started["agent_id"] == AGENT
    assert started["status"] == "active" and started["created_at"].endswith("Z")
    assert started["history"]["memory_count"] == 0 and started["history"]["context"] == ""
    assert started["session_id"] in text_of(result)
    assert "No earlier memories" in text_of(result)


async def test_start_session_shows_recent_history_across_sessions_errors_first(
    client: Client,
) -> None:
    old = (await ok(client, "start_session", {}))["session_id"]
    await ok(client, "store_memory", {"content": "Ran the migrations", "session_id": old})
    await ok(client, "store_memory", {"content": "Tests broke on CI", "event_type": "error"})
    await ok(client, "log_decision", {"decision": "Pin pydantic", "reasoning": "2.15 broke us"})
    await ok(client, "store_memory", {"content": "someone else", "agent_id": "teammate"})
    result = await client.call_tool("start_session", {})
    history = result.structured_content["history"]  # type: ignore[index]
    assert history["memory_count"] == 3
    context = history["context"]
    assert context.startswith(f"## Recent History (agent {AGENT})")
    assert context.index("### Errors") > context.index("### Decisions Made")
    assert "Tests broke on CI" in context and "(reasoning: 2.15 broke us)" in context
    assert "someone else" not in context
    assert context in text_of(result)


async def test_start_session_history_stays_within_its_token_budget(client: Client) -> None:
    for i in range(20):
        await ok(client, "store_memory", {"content": f"step {i}: " + "detail " * 40})
    history = (await ok(client, "start_session", {"history_tokens": 100}))["history"]
    assert history["truncated"] is True
    assert history["token_count"] <= 100 and count_tokens(history["context"]) <= 100


async def test_start_session_accepts_a_chosen_id_once(client: Client) -> None:
    assert (await ok(client, "start_session", {"session_id": "my-task"}))["session_id"] == "my-task"
    error = await fails(client, "start_session", {"session_id": "my-task"})
    assert error.startswith("conflict:") and "already exists" in error


async def test_end_session_closes_it_and_is_idempotent(client: Client) -> None:
    session_id = (await ok(client, "start_session", {}))["session_id"]
    ended = await ok(client, "end_session", {"session_id": session_id})
    assert ended["status"] == "closed" and ended["closed_at"].endswith("Z")
    again = await ok(client, "end_session", {"session_id": session_id})
    assert again["closed_at"] == ended["closed_at"]


async def test_ending_an_unknown_session_is_a_not_found_error(client: Client) -> None:
    error = await fails(client, "end_session", {"session_id": "sess_nope"})
    assert error.startswith("not_found: session 'sess_nope' not found")


async def test_get_session_context_returns_markdown_text_and_counts(client: Client) -> None:
    session_id = (await ok(client, "start_session", {}))["session_id"]
    stored = await ok(client, "store_memory", {"content": "Opened PR 42", "session_id": session_id})
    await ok(client, "log_decision", {"decision": "Squash", "reasoning": "clean", "session_id": session_id})
    result = await client.call_tool("get_session_context", {"session_id": session_id})
    assert not result.is_error
    context = result.structured_content
    assert context is not None and context["memory_count"] == 2 and context["truncated"] is False
    assert text_of(result) == context["context"]
    assert context["context"].startswith(f"## Session Context ({session_id})")
    assert f"(#{stored['memory_id'][-12:]})" in context["context"]


async def test_get_session_context_keeps_to_max_tokens(client: Client) -> None:
    session_id = (await ok(client, "start_session", {}))["session_id"]
    for i in range(30):
        await ok(client, "store_memory", {"content": f"event {i} " + "x" * 300, "session_id": session_id})
    context = await ok(client, "get_session_context", {"session_id": session_id, "max_tokens": 200})
    assert context["truncated"] is True and context["token_count"] <= 200
    assert context["memory_count"] == 30


async def test_get_session_context_rejects_a_budget_below_fifty(client: Client) -> None:
    error = await fails(client, "get_session_context", {"session_id": "s", "max_tokens": 10})
    assert error.startswith("invalid_request: max_tokens:")


async def test_get_session_context_filters_by_type(client: Client) -> None:
    session_id = (await ok(client, "start_session", {}))["session_id"]
    await ok(client, "store_memory", {"content": "did a thing", "session_id": session_id})
    await ok(client, "log_decision", {"decision": "chose", "reasoning": "why", "session_id": session_id})
    context = await ok(
        client, "get_session_context", {"session_id": session_id, "include_types": ["decision"]}
    )
    assert context["memory_count"] == 1 and "did a thing" not in context["context"]


async def test_context_of_an_unknown_session_is_a_not_found_error(client: Client) -> None:
    error = await fails(client, "get_session_context", {"session_id": "sess_missing"})
    assert error.startswith("not_found:")


async def test_session_context_resource_reads_the_same_markdown(client: Client) -> None:
    session_id = (await ok(client, "start_session", {}))["session_id"]
    await ok(client, "store_memory", {"content": "resource me", "session_id": session_id})
    read = await client.read_resource(f"memtrace://sessions/{session_id}/context")
    (contents,) = read.contents
    assert contents.mime_type == "text/markdown"
    tool = await ok(client, "get_session_context", {"session_id": session_id})
    assert contents.text == tool["context"]  # type: ignore[union-attr]


async def test_reading_the_context_resource_of_an_unknown_session_is_not_found(
    client: Client,
) -> None:
    with pytest.raises(MCPError) as raised:
        await client.read_resource("memtrace://sessions/sess_missing/context")
    assert raised.value.error.code == -32602
    assert "not_found: session 'sess_missing' not found" in raised.value.error.message
