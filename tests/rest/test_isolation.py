"""Tenancy (contract §3): two orgs with data; endpoint by endpoint, neither key can
read, list, search, count, update or delete the other org's memories, agents or
sessions. The answer is 404 or empty, never the data."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

import httpx
import pytest

from memtrace_mcp.config import Settings

from ..support.server import ServerProcess
from .conftest import OtherOrg, client_for, second_org
from .helpers import AGENTS, KEYS, MEMORIES, SEARCH, SESSIONS, assert_error


@dataclass
class Tenant:
    name: str
    api: httpx.AsyncClient
    org_id: str
    memory: dict  # type: ignore[type-arg]
    session: dict  # type: ignore[type-arg]
    key_id: str


async def seed(api: httpx.AsyncClient, name: str, org_id: str) -> Tenant:
    """An agent, a session and a few memories whose text names the org."""
    assert (
        await api.post(AGENTS, json={"name": f"{name}-agent", "description": f"{name} secret"})
    ).status_code == 201
    r = await api.post(
        SESSIONS,
        json={
            "agent_id": f"{name}-agent",
            "session_id": f"{name}-session",
            "metadata": {"secret": name},
        },
    )
    assert r.status_code == 201
    session = r.json()
    memories = []
    for i, (memory_type, event_type) in enumerate(
        [("episodic", "general"), ("decision", "decision"), ("entity", "error")]
    ):
        r = await api.post(
            MEMORIES,
            json={
                "agent_id": f"{name}-agent",
                "session_id": session["id"],
                "memory_type": memory_type,
                "event_type": event_type,
                "content": f"{name} secret memory {i}",
                "tags": ["shared-tag", name],
                "importance": 0.9,
                "dedup_key": f"shared-dedup-{i}",
            },
        )
        assert r.status_code == 201, r.text
        assert r.json()["org_id"] == org_id
        memories.append(r.json())
    keys = (await api.get(KEYS)).json()["keys"]
    return Tenant(name, api, org_id, memories[0], session, keys[0]["id"])


@pytest.fixture
async def tenants(api: httpx.AsyncClient, other_org: OtherOrg) -> tuple[Tenant, Tenant]:
    """Two freshly seeded orgs, for tests that write."""
    return await seed(api, "alpha", "org_default"), await seed(
        other_org.api, "beta", other_org.org_id
    )


@pytest.fixture(scope="module")
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="module")
async def seeded(module_dirs: Callable[[str], Settings]) -> AsyncIterator[tuple[Tenant, Tenant]]:
    """Two seeded orgs on one app, shared by the tests that only try (and must fail)
    to reach across: each of them also checks that nothing changed."""
    settings = module_dirs("isolation")
    async with client_for(settings) as api, second_org(settings, api) as other:
        yield await seed(api, "alpha", "org_default"), await seed(other.api, "beta", other.org_id)


def pairs(tenants: tuple[Tenant, Tenant]) -> list[tuple[Tenant, Tenant]]:
    a, b = tenants
    return [(a, b), (b, a)]


async def test_each_org_sees_its_own_data(seeded: tuple[Tenant, Tenant]) -> None:
    for me in seeded:
        page = (await me.api.get(MEMORIES)).json()
        assert page["count"] == 3
        assert all(m["org_id"] == me.org_id and me.name in m["content"] for m in page["memories"])


async def test_memory_by_id_and_short_id_is_404_across_orgs(seeded: tuple[Tenant, Tenant]) -> None:
    for me, them in pairs(seeded):
        assert_error(await me.api.get(f"{MEMORIES}/{them.memory['memory_id']}"), 404, "not_found")
        assert_error(
            await me.api.get(f"{MEMORIES}/{them.memory['memory_id'][-12:]}"), 404, "not_found"
        )


async def test_memory_delete_is_404_across_orgs_and_the_memory_survives(
    seeded: tuple[Tenant, Tenant],
) -> None:
    for me, them in pairs(seeded):
        assert_error(
            await me.api.delete(f"{MEMORIES}/{them.memory['memory_id']}"), 404, "not_found"
        )
        assert_error(
            await me.api.delete(f"{MEMORIES}/{them.memory['memory_id'][-12:]}"), 404, "not_found"
        )
        assert (await them.api.get(f"{MEMORIES}/{them.memory['memory_id']}")).status_code == 200


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"agent_id": "{them}-agent"},
        {"session_id": "{them}-session"},
        {"tags": "{them}"},
        {"tags": "shared-tag"},
        {"memory_type": "decision"},
        {"event_type": "error"},
        {"since": "1h", "limit": 1000},
    ],
)
async def test_list_never_returns_the_other_orgs_memories(
    seeded: tuple[Tenant, Tenant], params: dict
) -> None:  # type: ignore[type-arg]
    for me, them in pairs(seeded):
        filled = {
            k: (v.format(them=them.name) if isinstance(v, str) else v) for k, v in params.items()
        }
        body = (await me.api.get(MEMORIES, params=filled)).json()
        assert all(m["org_id"] == me.org_id for m in body["memories"])
        assert them.name not in json.dumps(body)


@pytest.mark.parametrize(
    "query",
    [
        {},
        {"content_contains": "{them} secret"},
        {"content_contains": "secret"},
        {"content_contains": "ph"},  # a needle shorter than a trigram: the scan path
        {"content_contains": "ta"},
        {"agent_id": "{them}-agent"},
        {"session_id": "{them}-session"},
        {"tags": ["{them}"]},
        {"min_importance": 0.5, "memory_types": ["decision", "entity"], "event_types": ["error"]},
    ],
)
async def test_search_never_returns_the_other_orgs_memories(
    seeded: tuple[Tenant, Tenant], query: dict
) -> None:  # type: ignore[type-arg]
    for me, them in pairs(seeded):
        filled = json.loads(json.dumps(query).replace("{them}", them.name))
        r = await me.api.post(SEARCH, json=filled)
        assert r.status_code == 200
        body = r.json()
        assert all(m["org_id"] == me.org_id for m in body["results"])
        assert them.name not in json.dumps(body["results"])


async def test_agents_of_the_other_org_are_invisible(seeded: tuple[Tenant, Tenant]) -> None:
    for me, them in pairs(seeded):
        listed = (await me.api.get(AGENTS)).json()
        assert [a["id"] for a in listed["agents"]] == [f"{me.name}-agent"]
        assert_error(await me.api.get(f"{AGENTS}/{them.name}-agent"), 404, "not_found")
        assert_error(await me.api.get(f"{AGENTS}/{them.name}-agent/stats"), 404, "not_found")
        body = (await me.api.get(f"{AGENTS}/{them.name}-agent/memories")).json()
        assert body == {"memories": [], "count": 0, "has_more": False}


async def test_stats_count_only_the_callers_org(tenants: tuple[Tenant, Tenant]) -> None:
    a, b = tenants
    # Both orgs use the same agent name here: counts must still be per org.
    for t in tenants:
        assert (
            await t.api.post(
                MEMORIES,
                json={"agent_id": "same-name", "content": f"{t.name} x", "event_type": "error"},
            )
        ).status_code == 201
    await a.api.post(MEMORIES, json={"agent_id": "same-name", "content": "alpha only"})
    await b.api.post(SESSIONS, json={"agent_id": "same-name"})
    stats_a = (await a.api.get(f"{AGENTS}/same-name/stats")).json()
    stats_b = (await b.api.get(f"{AGENTS}/same-name/stats")).json()
    assert (stats_a["memory_count"], stats_a["errors_24h"], stats_a["session_count"]) == (2, 1, 0)
    assert (stats_b["memory_count"], stats_b["errors_24h"], stats_b["session_count"]) == (1, 1, 1)


async def test_agent_delete_is_404_across_orgs_and_removes_nothing(
    seeded: tuple[Tenant, Tenant],
) -> None:
    for me, them in pairs(seeded):
        assert_error(await me.api.delete(f"{AGENTS}/{them.name}-agent"), 404, "not_found")
        assert_error(
            await me.api.delete(f"{AGENTS}/{them.name}-agent", params={"purge": "true"}),
            404,
            "not_found",
        )
        assert (await them.api.get(f"{AGENTS}/{them.name}-agent")).status_code == 200
        assert (await them.api.get(f"{SESSIONS}/{them.session['id']}")).status_code == 200
        assert (await them.api.get(MEMORIES)).json()["count"] == 3


async def test_purging_a_same_named_agent_only_touches_the_callers_org(
    tenants: tuple[Tenant, Tenant],
) -> None:
    a, b = tenants
    for t in tenants:
        assert (
            await t.api.post(MEMORIES, json={"agent_id": "twin", "content": f"{t.name} twin"})
        ).status_code == 201
    assert (await a.api.delete(f"{AGENTS}/twin", params={"purge": "true"})).status_code == 204
    assert (await a.api.get(MEMORIES, params={"agent_id": "twin"})).json()["count"] == 0
    assert (await b.api.get(MEMORIES, params={"agent_id": "twin"})).json()["count"] == 1
    assert (await b.api.get(f"{AGENTS}/twin")).status_code == 200


async def test_sessions_of_the_other_org_are_invisible(seeded: tuple[Tenant, Tenant]) -> None:
    for me, them in pairs(seeded):
        listed = (await me.api.get(SESSIONS)).json()
        assert [s["id"] for s in listed["sessions"]] == [me.session["id"]]
        assert (await me.api.get(SESSIONS, params={"agent_id": f"{them.name}-agent"})).json()[
            "count"
        ] == 0
        assert_error(await me.api.get(f"{SESSIONS}/{them.session['id']}"), 404, "not_found")
        body = (await me.api.get(f"{SESSIONS}/{them.session['id']}/memories")).json()
        assert body == {"memories": [], "count": 0, "has_more": False}
        assert_error(
            await me.api.post(f"{SESSIONS}/{them.session['id']}/context", json={}), 404, "not_found"
        )


@pytest.mark.parametrize("method", ["PUT", "PATCH"])
async def test_session_update_is_404_across_orgs_and_changes_nothing(
    seeded: tuple[Tenant, Tenant], method: str
) -> None:
    for me, them in pairs(seeded):
        r = await me.api.request(
            method,
            f"{SESSIONS}/{them.session['id']}",
            json={"status": "closed", "metadata": {"secret": None, "pwned": True}},
        )
        assert_error(r, 404, "not_found")
        assert (await them.api.get(f"{SESSIONS}/{them.session['id']}")).json() == them.session


async def test_ids_names_and_dedup_keys_are_per_org(tenants: tuple[Tenant, Tenant]) -> None:
    for me, them in pairs(tenants):
        # The other org's session id, agent name and dedup key are free in mine.
        r = await me.api.post(SESSIONS, json={"agent_id": "x", "session_id": them.session["id"]})
        assert r.status_code == 201 and r.json()["org_id"] == me.org_id
        r = await me.api.post(AGENTS, json={"name": f"{them.name}-agent"})
        assert r.status_code == 201 and r.json()["org_id"] == me.org_id
    # seed() used the same dedup keys in both orgs and both were stored (3 each).
    for t in tenants:
        assert (await t.api.get(MEMORIES)).json()["count"] == 3


async def test_keys_of_the_other_org_are_invisible_and_cannot_be_revoked(
    seeded: tuple[Tenant, Tenant],
) -> None:
    for me, them in pairs(seeded):
        keys = (await me.api.get(KEYS)).json()["keys"]
        assert {k["org_id"] for k in keys} == {me.org_id}
        assert them.key_id not in [k["id"] for k in keys]
        assert_error(await me.api.delete(f"{KEYS}/{them.key_id}"), 404, "not_found")
        assert (await them.api.get(KEYS)).status_code == 200  # their key still works


async def test_the_org_comes_from_the_key_never_the_request(tenants: tuple[Tenant, Tenant]) -> None:
    for me, them in pairs(tenants):
        r = await me.api.post(
            MEMORIES, json={"agent_id": "a", "content": f"spoof {me.name}", "org_id": them.org_id}
        )
        assert r.status_code == 201 and r.json()["org_id"] == me.org_id
        body = (await me.api.get(MEMORIES, params={"org_id": them.org_id})).json()
        assert all(m["org_id"] == me.org_id for m in body["memories"])
        r = await me.api.post(SEARCH, json={"org_id": them.org_id, "content_contains": them.name})
        assert r.json()["count"] == 0
        r = await me.api.post(AGENTS, json={"name": f"spoof-{me.name}", "org_id": them.org_id})
        assert r.json()["org_id"] == me.org_id
        r = await me.api.post(SESSIONS, json={"agent_id": "a", "org_id": them.org_id})
        assert r.json()["org_id"] == me.org_id
        r = await me.api.post(KEYS, json={"name": "spoofed", "org_id": them.org_id})
        assert r.status_code == 201 and r.json()["org_id"] == me.org_id
        assert all(
            m["org_id"] == them.org_id for m in (await them.api.get(MEMORIES)).json()["memories"]
        )


def cli(data_dir: str, *args: str) -> object:
    out = subprocess.run(
        [sys.executable, "-m", "memtrace_mcp", *args, "--data-dir", data_dir, "--json"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return json.loads(out.stdout)


async def test_an_org_and_key_made_with_the_cli_are_isolated_on_a_running_server(
    server: ServerProcess,
) -> None:
    org = cli(str(server.data_dir), "orgs", "create", "CLI Org")
    assert isinstance(org, dict)
    key = cli(str(server.data_dir), "keys", "create", "--org", org["id"], "--name", "cli-key")
    assert isinstance(key, dict) and key["org_id"] == org["id"]
    async with (
        httpx.AsyncClient(
            base_url=server.url, headers={"x-api-key": server.admin_key or ""}
        ) as admin,
        httpx.AsyncClient(base_url=server.url, headers={"x-api-key": key["key"]}) as tenant,
    ):
        mine = (
            await admin.post(MEMORIES, json={"agent_id": "a", "content": "default org secret"})
        ).json()
        theirs = (
            await tenant.post(MEMORIES, json={"agent_id": "a", "content": "cli org secret"})
        ).json()
        assert theirs["org_id"] == org["id"]
        assert_error(await tenant.get(f"{MEMORIES}/{mine['memory_id']}"), 404, "not_found")
        assert_error(await admin.get(f"{MEMORIES}/{theirs['memory_id']}"), 404, "not_found")
        assert [m["content"] for m in (await tenant.get(MEMORIES)).json()["memories"]] == [
            "cli org secret"
        ]
        assert [m["content"] for m in (await admin.get(MEMORIES)).json()["memories"]] == [
            "default org secret"
        ]
        assert (await tenant.post(SEARCH, json={"content_contains": "default"})).json()[
            "count"
        ] == 0
        assert_error(await tenant.delete(f"{MEMORIES}/{mine['memory_id']}"), 404, "not_found")
        assert (await admin.get(f"{MEMORIES}/{mine['memory_id']}")).status_code == 200
