"""What a client sees before calling anything: tools, schemas, annotations, the
resource template, the server's instructions; in both protocol eras."""

from __future__ import annotations

import json
from typing import Any

from jsonschema import Draft202012Validator
from mcp.types import Tool
from pydantic import TypeAdapter

from mcp import Client
from memtrace_mcp.models import EVENT_TYPE_PATTERN, ID_PATTERN, TAG_PATTERN
from memtrace_mcp.transports.mcp.server import lean_schema
from memtrace_mcp.transports.mcp.shapes import SearchHits

from .conftest import AGENT

TOOLS = {
    "store_memory",
    "search_memories",
    "get_session_context",
    "start_session",
    "end_session",
    "log_decision",
    "forget_memory",
}


async def tools_by_name(client: Client) -> dict[str, Tool]:
    return {tool.name: tool for tool in (await client.list_tools()).tools}


async def test_the_seven_contract_tools_are_listed_and_no_more_than_eight(client: Client) -> None:
    tools = await tools_by_name(client)
    assert set(tools) == TOOLS
    assert len(tools) <= 8


async def test_annotations_say_which_tools_read_write_or_destroy(client: Client) -> None:
    tools = await tools_by_name(client)
    for name, tool in tools.items():
        hints = tool.annotations
        assert hints is not None, name
        assert hints.open_world_hint is False, name
    for name in ("search_memories", "get_session_context"):
        assert tools[name].annotations.read_only_hint is True  # type: ignore[union-attr]
        assert tools[name].annotations.idempotent_hint is True  # type: ignore[union-attr]
    for name in ("store_memory", "log_decision", "start_session", "end_session", "forget_memory"):
        assert tools[name].annotations.read_only_hint is False  # type: ignore[union-attr]
    forget = tools["forget_memory"].annotations
    assert forget is not None and forget.destructive_hint is True and forget.idempotent_hint is True
    for name in ("store_memory", "log_decision", "start_session", "end_session"):
        assert tools[name].annotations.destructive_hint is False  # type: ignore[union-attr]


async def test_every_description_says_what_comes_back_and_gives_an_example(client: Client) -> None:
    for tool in (await tools_by_name(client)).values():
        description = tool.description or ""
        assert "Returns" in description, tool.name
        assert "Example: {" in description, tool.name
        assert len(description) < 1200, tool.name
        assert tool.title, tool.name


def props(tool: Tool) -> dict[str, Any]:
    return tool.input_schema["properties"]  # type: ignore[no-any-return]


def branch(schema: dict[str, Any]) -> dict[str, Any]:
    """The non-null branch of an optional argument's schema."""
    for option in schema.get("anyOf", [schema]):
        if option.get("type") != "null":
            return option
    raise AssertionError(schema)


async def test_argument_schemas_carry_the_core_constraints(client: Client) -> None:
    tools = await tools_by_name(client)
    store = props(tools["store_memory"])
    assert tools["store_memory"].input_schema["required"] == ["content"]
    assert store["content"]["minLength"] == 1
    assert store["agent_id"]["pattern"] == ID_PATTERN
    assert branch(store["session_id"])["pattern"] == ID_PATTERN
    assert store["event_type"]["pattern"] == EVENT_TYPE_PATTERN
    assert branch(store["tags"])["items"]["pattern"] == TAG_PATTERN
    assert branch(store["tags"])["maxItems"] == 32
    assert store["memory_type"]["enum"] == ["episodic", "session", "decision", "entity"]
    assert (store["importance"]["minimum"], store["importance"]["maximum"]) == (0.0, 1.0)
    search = props(tools["search_memories"])
    assert (search["limit"]["default"], search["limit"]["maximum"]) == (10, 50)
    assert search["order"]["enum"] == ["asc", "desc"]
    context = props(tools["get_session_context"])
    assert (context["max_tokens"]["minimum"], context["max_tokens"]["maximum"]) == (50, 200_000)
    assert tools["get_session_context"].input_schema["required"] == ["session_id"]
    assert tools["log_decision"].input_schema["required"] == ["decision", "reasoning"]
    assert tools["forget_memory"].input_schema["required"] == ["memory_id"]


async def test_agent_id_is_optional_everywhere_and_defaults_to_the_configured_agent(
    client: Client,
) -> None:
    for tool in (await tools_by_name(client)).values():
        schema = props(tool).get("agent_id")
        if schema is not None:
            assert "agent_id" not in tool.input_schema.get("required", []), tool.name
            assert schema["default"] == AGENT, tool.name


async def test_every_tool_declares_an_output_schema(client: Client) -> None:
    for tool in (await tools_by_name(client)).values():
        assert tool.output_schema and tool.output_schema.get("type") == "object", tool.name


def test_output_schemas_are_published_lean_and_accept_exactly_what_they_did() -> None:
    """Output schemas go out with references inlined and optional types as type
    lists (cheaper for clients to check every result against): the same
    verdict as pydantic's own schema on good and bad results."""
    hit = {
        "memory_id": "0190f1e2-7a3b-7c4d-8e5f-3f9a1c2b7d4e", "time": "2026-11-22T08:00:00Z",
        "agent_id": "a", "session_id": None, "memory_type": "episodic", "event_type": "e",
        "content": "ünïcode", "content_truncated": False, "tags": ["x"], "importance": 0.4,
    }  # fmt: skip
    good = {"results": [hit, {**hit, "session_id": "s", "reasoning": "why"}], "count": 2,
            "has_more": False, "next_offset": None}  # fmt: skip
    bad = [
        {**good, "results": [{**hit, "session_id": 5}]},
        {**good, "results": [{**hit, "tags": [1]}]},
        {**good, "next_offset": "10"},
        {**good, "results": [{k: v for k, v in hit.items() if k != "content"}]},
        {**good, "count": None},
    ]
    original = TypeAdapter(SearchHits).json_schema()
    lean = lean_schema(original)
    assert "$defs" in original and "$defs" not in json.dumps(lean)
    assert "anyOf" not in json.dumps(lean)
    for doc in [good, *bad]:
        assert Draft202012Validator(lean).is_valid(doc) == Draft202012Validator(
            original
        ).is_valid(doc), doc
    assert Draft202012Validator(lean).is_valid(good)
    assert not any(Draft202012Validator(lean).is_valid(doc) for doc in bad)


def test_a_recursive_schema_keeps_its_definitions() -> None:
    tree = {
        "$defs": {"Node": {"type": "object", "properties": {
            "kids": {"type": "array", "items": {"$ref": "#/$defs/Node"}},
            "name": {"anyOf": [{"type": "string"}, {"type": "null"}]}}}},
        "$ref": "#/$defs/Node",
    }  # fmt: skip
    lean = lean_schema(tree)
    doc = {"kids": [{"kids": [{"name": None}], "name": "b"}], "name": "a"}
    assert Draft202012Validator(lean).is_valid(doc)
    assert not Draft202012Validator(lean).is_valid({"kids": [{"kids": [{"name": 3}]}]})


async def test_session_context_is_offered_as_a_resource_template(client: Client) -> None:
    templates = (await client.list_resource_templates()).resource_templates
    assert [t.uri_template for t in templates] == ["memtrace://sessions/{session_id}/context"]
    assert templates[0].mime_type == "text/markdown"


async def test_server_introduces_itself_with_instructions_for_a_model(client: Client) -> None:
    if client.protocol_version == "2026-07-28" or client.server_info is not None:
        assert client.instructions and "start_session" in client.instructions
