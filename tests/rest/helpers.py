"""Small helpers shared by the REST tests: create things, count things, check errors."""

from __future__ import annotations

import re
from typing import Any

import httpx

MEMORIES = "/api/v1/memories"
AGENTS = "/api/v1/agents"
SESSIONS = "/api/v1/sessions"
SEARCH = "/api/v1/search"
KEYS = "/api/v1/keys"


async def remember(
    api: httpx.AsyncClient, content: str = "something happened", **fields: Any
) -> dict[str, Any]:
    """Store one memory (agent ``a1`` unless given) and return its JSON; asserts 201."""
    body = {"agent_id": "a1", "content": content, **fields}
    r = await api.post(MEMORIES, json=body)
    assert r.status_code == 201, r.text
    return r.json()  # type: ignore[no-any-return]


async def list_memories(api: httpx.AsyncClient, **params: Any) -> dict[str, Any]:
    r = await api.get(MEMORIES, params=params)
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


async def search(api: httpx.AsyncClient, **body: Any) -> dict[str, Any]:
    r = await api.post(SEARCH, json=body)
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


def contents(page: dict[str, Any], key: str = "memories") -> list[str]:
    return [m["content"] for m in page[key]]


async def counts(api: httpx.AsyncClient) -> tuple[int, int, int]:
    """(memories, agents, sessions) the caller's org holds."""
    mem = await api.get(MEMORIES, params={"limit": 1000})
    agents = await api.get(AGENTS)
    sessions = await api.get(SESSIONS)
    assert mem.status_code == agents.status_code == sessions.status_code == 200
    assert mem.json()["has_more"] is False, "counting helper assumes < 1000 memories"
    return mem.json()["count"], agents.json()["count"], sessions.json()["count"]


def assert_error(
    response: httpx.Response, status: int, code: str, field: str | None = None
) -> dict[str, Any]:
    """The contract's error shape: JSON ``{"error", "message"}``, never ``detail``;
    for bad input the message names the field."""
    assert response.status_code == status, (response.status_code, response.text)
    assert response.headers["content-type"].startswith("application/json"), response.headers
    body = response.json()
    assert isinstance(body, dict), body
    assert "detail" not in body, body
    assert body["error"] == code, body
    assert isinstance(body["message"], str) and body["message"], body
    if field:
        # The field by its own name, not as part of another word (event_types ≠ event_type).
        named = re.search(rf"(?<![A-Za-z0-9_]){re.escape(field)}(?![A-Za-z0-9_])", body["message"])
        assert named, f"message does not name {field!r}: {body['message']!r}"
    return body  # type: ignore[no-any-return]
