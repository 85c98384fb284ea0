"""API keys and authentication (contract §3): headers, scopes, admin-only key
management, immediate revocation."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable

import httpx
import pytest

from memtrace_mcp.config import Settings

from .conftest import client_for
from .helpers import AGENTS, KEYS, MEMORIES, SEARCH, SESSIONS, assert_error, counts, remember

# Every route under /api/v1 with a harmless request.
PROTECTED = [
    ("GET", MEMORIES, None),
    ("POST", MEMORIES, {"agent_id": "a", "content": "x"}),
    ("GET", f"{MEMORIES}/0190aaaa-bbbb-7ccc-8ddd-eeeeeeeeeeee", None),
    ("DELETE", f"{MEMORIES}/0190aaaa-bbbb-7ccc-8ddd-eeeeeeeeeeee", None),
    ("POST", SEARCH, {}),
    ("GET", AGENTS, None),
    ("POST", AGENTS, {"name": "n"}),
    ("GET", f"{AGENTS}/a", None),
    ("GET", f"{AGENTS}/a/stats", None),
    ("GET", f"{AGENTS}/a/memories", None),
    ("DELETE", f"{AGENTS}/a", None),
    ("GET", SESSIONS, None),
    ("POST", SESSIONS, {"agent_id": "a"}),
    ("GET", f"{SESSIONS}/s", None),
    ("PUT", f"{SESSIONS}/s", {"status": "closed"}),
    ("PATCH", f"{SESSIONS}/s", {"status": "closed"}),
    ("GET", f"{SESSIONS}/s/memories", None),
    ("POST", f"{SESSIONS}/s/context", {}),
    ("GET", KEYS, None),
    ("POST", KEYS, {"name": "k"}),
    ("DELETE", f"{KEYS}/key_0000", None),
]


@pytest.fixture(scope="module")
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="module")
async def keyless(
    module_dirs: Callable[[str], Settings],
) -> AsyncIterator[tuple[httpx.AsyncClient, str]]:
    """(client without a key, the admin key) on an app shared by read-only tests."""
    async with client_for(module_dirs("auth")) as client:
        key = client.headers.pop("x-api-key")
        yield client, key


async def make_key(api: httpx.AsyncClient, name: str, scopes: list[str] | None = None) -> dict:  # type: ignore[type-arg]
    body: dict[str, object] = {"name": name}
    if scopes is not None:
        body["scopes"] = scopes
    r = await api.post(KEYS, json=body)
    assert r.status_code == 201, r.text
    return r.json()  # type: ignore[no-any-return]


@pytest.mark.parametrize(("method", "path", "body"), PROTECTED)
async def test_every_api_route_refuses_a_request_without_a_key(
    keyless: tuple[httpx.AsyncClient, str], method: str, path: str, body: object
) -> None:
    client, key = keyless
    before = await counts_with(client, key)
    r = await client.request(method, path, json=body)
    assert_error(r, 401, "unauthorized")
    assert await counts_with(client, key) == before


@pytest.mark.parametrize(
    "headers",
    [
        {"x-api-key": "mtk_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="},
        {"x-api-key": "not-a-key"},
        {"x-api-key": "' OR 1=1 --"},
        {"Authorization": "Bearer mtk_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="},
        {"Authorization": "Basic dXNlcjpwYXNz"},
        {"Authorization": "Bearer"},
        {"Authorization": ""},
        {"x-api-key": ""},
    ],
)
async def test_invalid_keys_are_401_json(
    keyless: tuple[httpx.AsyncClient, str], headers: dict[str, str]
) -> None:
    client, _ = keyless
    assert_error(await client.get(MEMORIES, headers=headers), 401, "unauthorized")
    assert_error(
        await client.post(MEMORIES, json={"agent_id": "a", "content": "x"}, headers=headers),
        401,
        "unauthorized",
    )


async def test_the_key_is_accepted_as_x_api_key_or_bearer(
    keyless: tuple[httpx.AsyncClient, str],
) -> None:
    client, key = keyless
    for headers in (
        {"x-api-key": key},
        {"X-API-KEY": key},
        {"Authorization": f"Bearer {key}"},
        {"authorization": f"bearer {key}"},
    ):
        r = await client.get(MEMORIES, headers=headers)
        assert r.status_code == 200, headers


async def test_a_key_in_the_query_string_is_not_accepted(
    keyless: tuple[httpx.AsyncClient, str],
) -> None:
    client, key = keyless
    assert_error(
        await client.get(MEMORIES, params={"api_key": key, "x-api-key": key}), 401, "unauthorized"
    )


async def counts_with(client: httpx.AsyncClient, key: str) -> tuple[int, int, int, int]:
    """(memories, agents, sessions, keys) as the admin sees them."""
    h = {"x-api-key": key}
    got = [
        await client.get(p, headers=h) for p in (f"{MEMORIES}?limit=1000", AGENTS, SESSIONS, KEYS)
    ]
    assert all(r.status_code == 200 for r in got)
    return tuple(r.json()["count"] for r in got)  # type: ignore[return-value]


async def test_a_refused_write_changes_nothing(app_client: tuple[httpx.AsyncClient, str]) -> None:
    client, key = app_client
    r = await client.post(
        MEMORIES, json={"agent_id": "a", "content": "x"}, headers={"x-api-key": "mtk_bad"}
    )
    assert r.status_code == 401
    client.headers["x-api-key"] = key
    assert await counts(client) == (0, 0, 0)


# --- key management ---------------------------------------------------------------


async def test_admin_creates_a_key_shown_once_and_listed_without_its_secret(
    api: httpx.AsyncClient,
) -> None:
    created = await make_key(api, "ci-bot")
    assert re.fullmatch(r"mtk_[A-Za-z0-9_-]{43}=", created["key"])
    assert created["name"] == "ci-bot"
    assert created["org_id"] == "org_default"
    assert created["scopes"] == ["read", "write"]
    assert created["revoked_at"] is None
    assert created["key"].startswith(created["prefix"])
    listed = (await api.get(KEYS)).json()
    assert listed["count"] == len(listed["keys"]) == 2  # the bootstrap admin key and this one
    entry = next(k for k in listed["keys"] if k["id"] == created["id"])
    assert "key" not in entry
    assert created["key"] not in (await api.get(KEYS)).text
    assert {k: v for k, v in created.items() if k != "key"} == entry


async def test_a_new_key_works_immediately(
    app_client: tuple[httpx.AsyncClient, str], api: httpx.AsyncClient
) -> None:
    created = await make_key(api, "fresh")
    client, _ = app_client
    r = await client.post(
        MEMORIES,
        json={"agent_id": "a", "content": "by the new key"},
        headers={"x-api-key": created["key"]},
    )
    assert r.status_code == 201
    assert r.json()["org_id"] == "org_default"


async def test_revoked_key_is_refused_on_its_next_request(api: httpx.AsyncClient) -> None:
    created = await make_key(api, "short-lived")
    headers = {"x-api-key": created["key"]}
    assert (await api.get(MEMORIES, headers=headers)).status_code == 200
    r = await api.delete(f"{KEYS}/{created['id']}")
    assert r.status_code == 204 and r.content == b""
    assert_error(await api.get(MEMORIES, headers=headers), 401, "unauthorized")
    assert_error(
        await api.post(MEMORIES, json={"agent_id": "a", "content": "x"}, headers=headers),
        401,
        "unauthorized",
    )
    entry = next(k for k in (await api.get(KEYS)).json()["keys"] if k["id"] == created["id"])
    assert entry["revoked_at"] is not None
    assert (await counts(api))[0] == 0


async def test_revoking_twice_or_an_unknown_key_is_404(api: httpx.AsyncClient) -> None:
    created = await make_key(api, "once")
    assert (await api.delete(f"{KEYS}/{created['id']}")).status_code == 204
    assert_error(await api.delete(f"{KEYS}/{created['id']}"), 404, "not_found")
    assert_error(await api.delete(f"{KEYS}/key_doesnotexist"), 404, "not_found")


async def test_an_admin_can_revoke_its_own_key(
    app_client: tuple[httpx.AsyncClient, str], api: httpx.AsyncClient
) -> None:
    second = await make_key(api, "second-admin", ["admin"])
    client, first_key = app_client
    own = next(k for k in (await api.get(KEYS)).json()["keys"] if k["name"] == "admin")
    assert (await api.delete(f"{KEYS}/{own['id']}")).status_code == 204
    assert_error(await client.get(KEYS, headers={"x-api-key": first_key}), 401, "unauthorized")
    assert (await client.get(KEYS, headers={"x-api-key": second["key"]})).status_code == 200


@pytest.mark.parametrize("scopes", [["read"], ["write"], ["read", "write"]])
async def test_key_management_is_admin_only(api: httpx.AsyncClient, scopes: list[str]) -> None:
    target = await make_key(api, "target")
    weak = await make_key(api, "weak", scopes)
    headers = {"x-api-key": weak["key"]}
    assert_error(await api.get(KEYS, headers=headers), 403, "forbidden")
    assert_error(
        await api.post(KEYS, json={"name": "escalate", "scopes": ["admin"]}, headers=headers),
        403,
        "forbidden",
    )
    assert_error(await api.delete(f"{KEYS}/{target['id']}", headers=headers), 403, "forbidden")
    listed = (await api.get(KEYS)).json()
    assert listed["count"] == 3
    assert all(k["revoked_at"] is None for k in listed["keys"])


async def test_a_read_key_can_read_but_not_write(api: httpx.AsyncClient) -> None:
    existing = await remember(api, "readable")
    sess = (await api.post(SESSIONS, json={"agent_id": "a1"})).json()
    reader = {"x-api-key": (await make_key(api, "reader", ["read"]))["key"]}
    for method, path in [
        ("GET", MEMORIES),
        ("GET", f"{MEMORIES}/{existing['memory_id']}"),
        ("GET", AGENTS),
        ("GET", f"{AGENTS}/a1"),
        ("GET", f"{AGENTS}/a1/stats"),
        ("GET", f"{AGENTS}/a1/memories"),
        ("GET", SESSIONS),
        ("GET", f"{SESSIONS}/{sess['id']}"),
        ("GET", f"{SESSIONS}/{sess['id']}/memories"),
    ]:
        assert (await api.request(method, path, headers=reader)).status_code == 200, path
    assert (await api.post(SEARCH, json={}, headers=reader)).status_code == 200
    assert (
        await api.post(f"{SESSIONS}/{sess['id']}/context", json={}, headers=reader)
    ).status_code == 200
    before = await counts(api)
    for method, path, body in [
        ("POST", MEMORIES, {"agent_id": "a1", "content": "nope"}),
        ("POST", MEMORIES, {"memories": [{"agent_id": "a1", "content": "nope"}]}),
        ("DELETE", f"{MEMORIES}/{existing['memory_id']}", None),
        ("POST", AGENTS, {"name": "nope"}),
        ("DELETE", f"{AGENTS}/a1", None),
        ("POST", SESSIONS, {"agent_id": "a1"}),
        ("PUT", f"{SESSIONS}/{sess['id']}", {"status": "closed"}),
        ("PATCH", f"{SESSIONS}/{sess['id']}", {"metadata": {"x": 1}}),
    ]:
        assert_error(await api.request(method, path, json=body, headers=reader), 403, "forbidden")
    assert await counts(api) == before
    assert (await api.get(f"{SESSIONS}/{sess['id']}")).json() == sess


async def test_a_write_only_key_can_write_but_not_read(api: httpx.AsyncClient) -> None:
    writer = {"x-api-key": (await make_key(api, "writer", ["write"]))["key"]}
    r = await api.post(MEMORIES, json={"agent_id": "a1", "content": "written"}, headers=writer)
    assert r.status_code == 201
    assert_error(await api.get(MEMORIES, headers=writer), 403, "forbidden")
    assert_error(await api.post(SEARCH, json={}, headers=writer), 403, "forbidden")
    assert_error(
        await api.get(f"{MEMORIES}/{r.json()['memory_id']}", headers=writer), 403, "forbidden"
    )


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "name"),
        ({"name": ""}, "name"),
        ({"name": "   "}, "name"),
        ({"name": "x" * 129}, "name"),
        ({"name": 5}, "name"),
        ({"name": None}, "name"),
        ({"name": "k", "scopes": []}, "scopes"),
        ({"name": "k", "scopes": ["root"]}, "scopes"),
        ({"name": "k", "scopes": "admin"}, "scopes"),
        ({"name": "k", "scopes": ["read", "write", "admin", "read"]}, "scopes"),
        ({"name": "k", "scopes": [None]}, "scopes"),
    ],
)
async def test_bad_key_requests_are_400_and_create_nothing(
    api: httpx.AsyncClient,
    body: dict,
    field: str,  # type: ignore[type-arg]
) -> None:
    assert_error(await api.post(KEYS, json=body), 400, "invalid_request", field=field)
    assert (await api.get(KEYS)).json()["count"] == 1
