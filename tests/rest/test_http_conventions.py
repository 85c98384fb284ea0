"""HTTP conventions (contract §1, §4): JSON errors only, exact paths with no
redirects, GET ignores bodies, 404/405 as JSON, any Content-Type for JSON bodies."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import httpx
import pytest

from memtrace_mcp.config import Settings

from ..support.server import ServerProcess, start_server
from .conftest import client_for
from .helpers import AGENTS, KEYS, MEMORIES, SEARCH, SESSIONS, assert_error, remember


@pytest.fixture(scope="module")
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="module")
async def shared(module_dirs: Callable[[str], Settings]) -> AsyncIterator[httpx.AsyncClient]:
    """An app with agent a1 and session s1, shared by tests that change nothing."""
    async with client_for(module_dirs("conventions")) as client:
        await remember(client, "present", agent_id="a1", session_id="s1")
        assert (
            await client.post(SESSIONS, json={"agent_id": "a1", "session_id": "s1"})
        ).status_code == 201
        yield client


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", f"{MEMORIES}/"),
        ("POST", f"{MEMORIES}/"),
        ("GET", f"{AGENTS}/"),
        ("POST", f"{AGENTS}/"),
        ("GET", f"{SESSIONS}/"),
        ("POST", f"{SEARCH}/"),
        ("GET", f"{KEYS}/"),
        ("GET", "/health/"),
        ("GET", "/ready/"),
        ("GET", f"{AGENTS}/a1/stats/"),
        ("POST", f"{SESSIONS}/s1/context/"),
    ],
)
async def test_a_trailing_slash_is_404_json_not_a_redirect(
    shared: httpx.AsyncClient, method: str, path: str
) -> None:
    r = await shared.request(method, path, json={"agent_id": "a", "content": "x"})
    assert "location" not in r.headers
    assert_error(r, 404, "not_found")


@pytest.mark.parametrize(
    "path",
    [
        "/nope",
        "/api/v1/nope",
        "/api/v2/memories",
        "/API/V1/MEMORIES",
        "/api/v1",
        "/api",
        "/api/v1/memories/a/b",
        "/api/v1/agents/a/nope",
    ],
)
async def test_an_unknown_route_is_404_json_with_or_without_a_key(
    shared: httpx.AsyncClient, path: str
) -> None:
    assert_error(await shared.get(path), 404, "not_found")
    assert_error(await shared.get(path, headers={"x-api-key": ""}), 404, "not_found")
    assert_error(await shared.post(path, json={}), 404, "not_found")


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("PUT", MEMORIES, {"GET", "POST"}),
        ("DELETE", MEMORIES, {"GET", "POST"}),
        ("PATCH", f"{MEMORIES}/abc", {"GET", "DELETE"}),
        ("GET", SEARCH, {"POST"}),
        ("DELETE", SEARCH, {"POST"}),
        ("PUT", AGENTS, {"GET", "POST"}),
        ("POST", f"{AGENTS}/a1", {"GET", "DELETE"}),
        ("PATCH", f"{AGENTS}/a1", {"GET", "DELETE"}),
        ("POST", f"{AGENTS}/a1/stats", {"GET"}),
        ("DELETE", SESSIONS, {"GET", "POST"}),
        ("POST", f"{SESSIONS}/s1", {"GET", "PUT", "PATCH"}),
        ("DELETE", f"{SESSIONS}/s1", {"GET", "PUT", "PATCH"}),
        ("GET", f"{SESSIONS}/s1/context", {"POST"}),
        ("POST", "/health", {"GET"}),
        ("PUT", KEYS, {"GET", "POST"}),
    ],
)
async def test_a_wrong_method_is_405_json_with_allow(
    shared: httpx.AsyncClient, method: str, path: str, allowed: set[str]
) -> None:
    r = await shared.request(method, path)
    assert_error(r, 405, "method_not_allowed")
    listed = {m.strip() for m in r.headers.get("allow", "").split(",") if m.strip()}
    assert listed == allowed, r.headers


GET_BODIES = [b"", b"garbage{", b'{"agent_id": "other", "limit": 0}', b"\xff\x00", b"[1, 2]"]
GET_CONTENT_TYPES = [
    None,
    "application/json",
    "application/xml",
    "text/plain",
    "multipart/form-data; boundary=x",
]


@pytest.mark.parametrize(
    "path",
    [
        MEMORIES,
        AGENTS,
        SESSIONS,
        KEYS,
        f"{AGENTS}/a1",
        f"{AGENTS}/a1/stats",
        f"{AGENTS}/a1/memories",
        f"{SESSIONS}/s1",
        f"{SESSIONS}/s1/memories",
        "/health",
        "/ready",
    ],
)
async def test_get_ignores_the_body_and_content_type(shared: httpx.AsyncClient, path: str) -> None:
    api = shared
    expected = (await api.get(path)).json()
    for body in GET_BODIES:
        for content_type in GET_CONTENT_TYPES:
            headers = {"content-type": content_type} if content_type else {}
            r = await api.request("GET", path, content=body, headers=headers)
            assert r.status_code == 200, (body, content_type, r.text)
            if path not in ("/health",):
                assert r.json() == expected, (body, content_type)


async def test_get_with_a_body_returns_the_same_as_without(api: httpx.AsyncClient) -> None:
    await remember(api, "one", agent_id="a1")
    await remember(api, "two", agent_id="a2")
    plain = await api.get(MEMORIES)
    with_body = await api.request(
        "GET", MEMORIES, content=b'{"agent_id": "a1"}', headers={"content-type": "application/json"}
    )
    assert with_body.json() == plain.json()


@pytest.mark.parametrize(
    "content_type",
    [
        None,
        "application/json",
        "text/plain",
        "application/x-www-form-urlencoded",
        "application/json; charset=utf-8",
        "application/vnd.api+json",
    ],
)
async def test_a_json_body_is_read_whatever_the_content_type(
    api: httpx.AsyncClient, content_type: str | None
) -> None:
    headers = {"content-type": content_type} if content_type else {}
    r = await api.post(MEMORIES, content=b'{"agent_id": "a1", "content": "typed"}', headers=headers)
    assert r.status_code == 201, r.text
    assert r.json()["content"] == "typed"


async def test_success_and_error_responses_are_json(api: httpx.AsyncClient) -> None:
    for r in [
        await api.get(MEMORIES),
        await api.post(MEMORIES, json={"agent_id": "a1", "content": "j"}),
        await api.get("/health"),
        await api.get("/api/v1/nope"),
        await api.post(MEMORIES, json={}),
    ]:
        assert r.headers["content-type"].startswith("application/json"), r.request.url


async def test_no_content_responses_have_no_body(api: httpx.AsyncClient) -> None:
    created = await remember(api, "bye", agent_id="a9")
    for r in [
        await api.delete(f"{MEMORIES}/{created['memory_id']}"),
        await api.delete(f"{AGENTS}/a9"),
    ]:
        assert r.status_code == 204
        assert r.content == b""


async def test_401_carries_www_authenticate(app_client: tuple[httpx.AsyncClient, str]) -> None:
    client, _ = app_client
    r = await client.get(MEMORIES)
    assert_error(r, 401, "unauthorized")
    assert r.headers.get("www-authenticate", "").lower().startswith("bearer")


async def test_unknown_query_parameters_are_ignored(api: httpx.AsyncClient) -> None:
    await remember(api, "q")
    r = await api.get(MEMORIES, params={"surprise": "1", "org_id": "org_other"})
    assert r.status_code == 200 and r.json()["count"] == 1


async def test_percent_encoded_path_ids_are_decoded(api: httpx.AsyncClient) -> None:
    assert (
        await api.post(SESSIONS, json={"agent_id": "bot.v2:prod", "session_id": "run:1.a"})
    ).status_code == 201
    assert (await api.get(f"{SESSIONS}/run%3A1.a")).json()["id"] == "run:1.a"
    assert (await api.get(f"{AGENTS}/bot.v2%3Aprod")).json()["id"] == "bot.v2:prod"


async def test_openapi_and_docs_are_served_without_a_key(
    app_client: tuple[httpx.AsyncClient, str],
) -> None:
    client, _ = app_client
    doc = await client.get("/openapi.json")
    assert doc.status_code == 200
    paths = doc.json()["paths"]
    for path in [
        "/api/v1/memories",
        "/api/v1/memories/{memory_id}",
        "/api/v1/search",
        "/api/v1/agents",
        "/api/v1/agents/{agent_id}",
        "/api/v1/agents/{agent_id}/stats",
        "/api/v1/agents/{agent_id}/memories",
        "/api/v1/sessions",
        "/api/v1/sessions/{session_id}",
        "/api/v1/sessions/{session_id}/memories",
        "/api/v1/sessions/{session_id}/context",
        "/api/v1/keys",
        "/api/v1/keys/{key_id}",
        "/health",
        "/ready",
    ]:
        assert path in paths, path
    docs = await client.get("/docs")
    assert docs.status_code == 200 and "text/html" in docs.headers["content-type"]


# --- over a real socket ---------------------------------------------------------------------


@pytest.fixture
def small_server(tmp_path: Path) -> Iterator[ServerProcess]:
    proc = start_server(tmp_path / "small", env={"MEMTRACE_MAX_BODY_BYTES": "4096"})
    try:
        yield proc
    finally:
        proc.stop()


def test_over_a_socket_conventions_hold(small_server: ServerProcess) -> None:
    assert small_server.admin_key
    with httpx.Client(
        base_url=small_server.url, headers={"x-api-key": small_server.admin_key}
    ) as client:
        assert_error(client.get(f"{MEMORIES}/"), 404, "not_found")
        assert_error(client.get("/nope"), 404, "not_found")
        assert_error(client.put(MEMORIES), 405, "method_not_allowed")
        assert (
            client.request(
                "GET", MEMORIES, content=b"garbage", headers={"content-type": "text/xml"}
            ).status_code
            == 200
        )
        # Over the limit with Content-Length, and chunked without it: 413, nothing stored.
        big = b'{"agent_id": "a", "content": "' + b"x" * 8000 + b'"}'
        assert_error(client.post(MEMORIES, content=big), 413, "payload_too_large")
        assert_error(
            client.post(MEMORIES, content=iter([big[:3000], big[3000:]])), 413, "payload_too_large"
        )
    with httpx.Client(
        base_url=small_server.url, headers={"x-api-key": small_server.admin_key}
    ) as client:
        assert client.post(MEMORIES, json={"agent_id": "a", "content": "small"}).status_code == 201
        assert client.get(MEMORIES).json()["count"] == 1
