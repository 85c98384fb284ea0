"""/api/v1/agents: register, list, get, stats, delete, memories (contract §6)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import httpx

from .conftest import Timed
from .helpers import (
    AGENTS,
    MEMORIES,
    SESSIONS,
    assert_error,
    contents,
    list_memories,
    remember,
    search,
)


async def test_register_returns_201_and_the_id_is_the_name(api: httpx.AsyncClient) -> None:
    before = datetime.now(UTC) - timedelta(seconds=1)
    r = await api.post(
        AGENTS,
        json={
            "name": "web_crawler",
            "description": "Crawls product pages",
            "config": {"max_depth": 3},
        },
    )
    assert r.status_code == 201, r.text
    agent = r.json()
    assert agent["id"] == agent["name"] == "web_crawler"
    assert agent["org_id"] == "org_default"
    assert agent["description"] == "Crawls product pages"
    assert agent["config"] == {"max_depth": 3}
    assert agent["last_active_at"] is None
    assert before <= datetime.fromisoformat(agent["created_at"]) <= datetime.now(UTC)
    assert agent["created_at"].endswith("Z")


async def test_register_with_only_a_name_has_empty_extras(api: httpx.AsyncClient) -> None:
    agent = (await api.post(AGENTS, json={"name": "bare"})).json()
    assert agent["description"] is None
    assert agent["config"] == {}


async def test_registering_a_taken_name_is_409_conflict(api: httpx.AsyncClient) -> None:
    assert (await api.post(AGENTS, json={"name": "dup"})).status_code == 201
    assert_error(
        await api.post(AGENTS, json={"name": "dup", "description": "again"}), 409, "conflict"
    )
    agent = (await api.get(f"{AGENTS}/dup")).json()
    assert agent["description"] is None  # the first registration stands
    assert (await api.get(AGENTS)).json()["count"] == 1


async def test_registering_an_agent_that_already_wrote_memories_is_409(
    api: httpx.AsyncClient,
) -> None:
    await remember(api, agent_id="implicit")
    assert_error(await api.post(AGENTS, json={"name": "implicit"}), 409, "conflict")


async def test_concurrent_registrations_of_one_name_make_one_agent(api: httpx.AsyncClient) -> None:
    responses = await asyncio.gather(*(api.post(AGENTS, json={"name": "racer"}) for _ in range(20)))
    assert sorted(r.status_code for r in responses) == [201] + [409] * 19
    assert (await api.get(AGENTS)).json()["count"] == 1


async def test_concurrent_first_writes_register_the_agent_once(api: httpx.AsyncClient) -> None:
    responses = await asyncio.gather(
        *(
            api.post(MEMORIES, json={"agent_id": "newbie", "content": f"write {i}"})
            for i in range(20)
        )
    )
    assert all(r.status_code == 201 for r in responses)
    assert [a["id"] for a in (await api.get(AGENTS)).json()["agents"]] == ["newbie"]
    assert (await list_memories(api, agent_id="newbie"))["count"] == 20


async def test_agent_names_are_case_sensitive(api: httpx.AsyncClient) -> None:
    assert (await api.post(AGENTS, json={"name": "Bot"})).status_code == 201
    assert (await api.post(AGENTS, json={"name": "bot"})).status_code == 201
    assert_error(await api.get(f"{AGENTS}/BOT"), 404, "not_found")


async def test_get_returns_the_registered_agent(api: httpx.AsyncClient) -> None:
    created = (await api.post(AGENTS, json={"name": "getme", "config": {"k": [1, "two"]}})).json()
    r = await api.get(f"{AGENTS}/getme")
    assert r.status_code == 200
    assert r.json() == created


async def test_get_unknown_agent_is_404(api: httpx.AsyncClient) -> None:
    assert_error(await api.get(f"{AGENTS}/ghost"), 404, "not_found")
    assert_error(await api.get(f"{AGENTS}/%27%20OR%201%3D1%20--"), 404, "not_found")


async def test_list_returns_every_agent_with_a_count(api: httpx.AsyncClient) -> None:
    assert (await api.get(AGENTS)).json() == {"agents": [], "count": 0}
    for name in ("one", "two"):
        assert (await api.post(AGENTS, json={"name": name})).status_code == 201
    await remember(api, agent_id="three")
    body = (await api.get(AGENTS)).json()
    assert body["count"] == 3
    assert sorted(a["id"] for a in body["agents"]) == ["one", "three", "two"]
    implicit = next(a for a in body["agents"] if a["id"] == "three")
    assert implicit["name"] == "three" and implicit["last_active_at"] is not None


async def test_writing_memories_moves_last_active_at_forward(timed: Timed) -> None:
    api, clock = timed.api, timed.clock
    await api.post(AGENTS, json={"name": "active"})
    assert (await api.get(f"{AGENTS}/active")).json()["last_active_at"] is None
    first = await remember(api, "one", agent_id="active")
    assert (await api.get(f"{AGENTS}/active")).json()["last_active_at"] == first["time"]
    # The SQLite store may let last_active_at lag a write by up to a second (it
    # throttles touches); it never goes backwards, and a write a minute later moves it.
    second = await remember(api, "two", agent_id="active")
    lagging = (await api.get(f"{AGENTS}/active")).json()["last_active_at"]
    assert dt(first["time"]) <= dt(lagging) <= dt(second["time"])
    clock.set(datetime.now(UTC) + timedelta(minutes=1))
    third = await remember(api, "three", agent_id="active")
    assert (await api.get(f"{AGENTS}/active")).json()["last_active_at"] == third["time"]


def dt(text: str) -> datetime:
    return datetime.fromisoformat(text)


# --- stats ----------------------------------------------------------------------


async def test_stats_count_everything_the_contract_lists(timed: Timed) -> None:
    api, clock = timed.api, timed.clock
    assert (await api.post(AGENTS, json={"name": "agent_abc"})).status_code == 201
    clock.set(datetime.now(UTC) - timedelta(days=2))
    await remember(api, "old error", agent_id="agent_abc", event_type="error")
    await remember(api, "old decision", agent_id="agent_abc", memory_type="decision")
    clock.set(datetime.now(UTC) - timedelta(hours=2))
    await remember(api, "recent error", agent_id="agent_abc", event_type="error")
    await remember(
        api, "recent entity error", agent_id="agent_abc", memory_type="entity", event_type="error"
    )
    await remember(api, "recent action", agent_id="agent_abc")
    last = await remember(api, "latest note", agent_id="agent_abc", memory_type="session")
    await remember(api, "someone else's error", agent_id="other", event_type="error")
    s1 = (await api.post(SESSIONS, json={"agent_id": "agent_abc"})).json()
    await api.post(SESSIONS, json={"agent_id": "agent_abc"})
    await api.post(SESSIONS, json={"agent_id": "other"})
    assert (await api.put(f"{SESSIONS}/{s1['id']}", json={"status": "closed"})).status_code == 200
    clock.set(datetime.now(UTC))

    r = await api.get(f"{AGENTS}/agent_abc/stats")
    assert r.status_code == 200
    assert r.json() == {
        "agent_id": "agent_abc",
        "memory_count": 6,
        "memories_24h": 4,
        "errors_24h": 2,
        "session_count": 2,
        "active_sessions": 1,
        "memory_types": {"episodic": 3, "decision": 1, "entity": 1, "session": 1},
        "last_active_at": last["time"],
    }


async def test_stats_of_an_agent_with_nothing_are_zero(api: httpx.AsyncClient) -> None:
    await api.post(AGENTS, json={"name": "idle"})
    stats = (await api.get(f"{AGENTS}/idle/stats")).json()
    assert stats == {
        "agent_id": "idle",
        "memory_count": 0,
        "memories_24h": 0,
        "errors_24h": 0,
        "session_count": 0,
        "active_sessions": 0,
        "memory_types": {},
        "last_active_at": None,
    }


async def test_stats_of_an_unknown_agent_are_404(api: httpx.AsyncClient) -> None:
    assert_error(await api.get(f"{AGENTS}/ghost/stats"), 404, "not_found")


# --- delete ---------------------------------------------------------------------


async def test_delete_returns_204_removes_the_agent_and_its_sessions_but_keeps_memories(
    api: httpx.AsyncClient,
) -> None:
    await api.post(AGENTS, json={"name": "doomed"})
    s = (await api.post(SESSIONS, json={"agent_id": "doomed"})).json()
    other = (await api.post(SESSIONS, json={"agent_id": "bystander"})).json()
    mem = await remember(api, "kept after delete", agent_id="doomed", session_id=s["id"])

    r = await api.delete(f"{AGENTS}/doomed")
    assert r.status_code == 204 and r.content == b""
    assert_error(await api.get(f"{AGENTS}/doomed"), 404, "not_found")
    assert_error(await api.get(f"{SESSIONS}/{s['id']}"), 404, "not_found")
    assert (await api.get(f"{SESSIONS}/{other['id']}")).status_code == 200
    assert [x["id"] for x in (await api.get(f"{SESSIONS}")).json()["sessions"]] == [other["id"]]
    assert (await api.get(f"{MEMORIES}/{mem['memory_id']}")).status_code == 200
    assert contents(await list_memories(api, agent_id="doomed")) == ["kept after delete"]
    assert "doomed" not in [a["id"] for a in (await api.get(AGENTS)).json()["agents"]]


async def test_delete_with_purge_forgets_the_agents_memories_too(api: httpx.AsyncClient) -> None:
    await api.post(AGENTS, json={"name": "purged"})
    s = (await api.post(SESSIONS, json={"agent_id": "purged"})).json()
    mine = await remember(api, "purge me", agent_id="purged", session_id=s["id"], tags=["p"])
    theirs = await remember(api, "keep me", agent_id="keeper", tags=["p"])

    assert (await api.delete(f"{AGENTS}/purged", params={"purge": "true"})).status_code == 204
    assert_error(await api.get(f"{MEMORIES}/{mine['memory_id']}"), 404, "not_found")
    assert (await api.get(f"{MEMORIES}/{theirs['memory_id']}")).status_code == 200
    assert contents(await list_memories(api)) == ["keep me"]
    assert contents(await list_memories(api, tags="p")) == ["keep me"]
    assert (await search(api, content_contains="purge"))["count"] == 0
    assert_error(await api.get(f"{AGENTS}/purged"), 404, "not_found")
    assert_error(await api.post(f"{SESSIONS}/{s['id']}/context", json={}), 404, "not_found")


async def test_purge_after_a_plain_delete_still_forgets_the_left_memories(
    api: httpx.AsyncClient,
) -> None:
    await remember(api, "left behind", agent_id="twice")
    assert (await api.delete(f"{AGENTS}/twice")).status_code == 204
    assert (await list_memories(api, agent_id="twice"))["count"] == 1
    assert (await api.delete(f"{AGENTS}/twice", params={"purge": "true"})).status_code == 204
    assert (await list_memories(api, agent_id="twice"))["count"] == 0


async def test_delete_unknown_agent_is_404(api: httpx.AsyncClient) -> None:
    assert_error(await api.delete(f"{AGENTS}/ghost"), 404, "not_found")
    assert_error(await api.delete(f"{AGENTS}/ghost", params={"purge": "true"}), 404, "not_found")


async def test_delete_twice_is_404_the_second_time(api: httpx.AsyncClient) -> None:
    await api.post(AGENTS, json={"name": "once"})
    assert (await api.delete(f"{AGENTS}/once")).status_code == 204
    assert_error(await api.delete(f"{AGENTS}/once"), 404, "not_found")


async def test_a_deleted_name_can_be_registered_again(api: httpx.AsyncClient) -> None:
    await api.post(AGENTS, json={"name": "phoenix", "description": "first"})
    assert (await api.delete(f"{AGENTS}/phoenix")).status_code == 204
    r = await api.post(AGENTS, json={"name": "phoenix", "description": "second"})
    assert r.status_code == 201
    assert r.json()["description"] == "second"


async def test_purge_flag_must_be_a_boolean(api: httpx.AsyncClient) -> None:
    await api.post(AGENTS, json={"name": "flag"})
    assert_error(
        await api.delete(f"{AGENTS}/flag", params={"purge": "maybe"}),
        400,
        "invalid_request",
        "purge",
    )
    assert (await api.get(f"{AGENTS}/flag")).status_code == 200


# --- /agents/{id}/memories ----------------------------------------------------------


async def test_agent_memories_lists_only_that_agents_memories(timed: Timed) -> None:
    api, clock = timed.api, timed.clock
    clock.set(datetime.now(UTC) - timedelta(days=3))
    await remember(api, "three days ago", agent_id="me", memory_type="decision")
    clock.set(datetime.now(UTC) - timedelta(minutes=5))
    await remember(api, "mine", agent_id="me", tags=["x"], event_type="error")
    await remember(api, "not mine", agent_id="you")
    clock.set(datetime.now(UTC))

    r = await api.get(f"{AGENTS}/me/memories")
    assert r.status_code == 200
    body = r.json()
    assert contents(body) == ["mine", "three days ago"]
    assert body["count"] == 2 and body["has_more"] is False
    assert contents((await api.get(f"{AGENTS}/me/memories", params={"since": "1h"})).json()) == [
        "mine"
    ]
    assert contents(
        (await api.get(f"{AGENTS}/me/memories", params={"memory_type": "decision"})).json()
    ) == ["three days ago"]
    assert contents(
        (await api.get(f"{AGENTS}/me/memories", params={"event_type": "error"})).json()
    ) == ["mine"]
    assert contents((await api.get(f"{AGENTS}/me/memories", params={"tags": "x"})).json()) == [
        "mine"
    ]
    page = (await api.get(f"{AGENTS}/me/memories", params={"limit": 1, "order": "asc"})).json()
    assert contents(page) == ["three days ago"] and page["has_more"] is True
    page = (await api.get(f"{AGENTS}/me/memories", params={"limit": 1, "offset": 1})).json()
    assert contents(page) == ["three days ago"] and page["has_more"] is False


async def test_agent_memories_path_wins_over_an_agent_id_query(api: httpx.AsyncClient) -> None:
    await remember(api, "mine", agent_id="me")
    await remember(api, "yours", agent_id="you")
    body = (await api.get(f"{AGENTS}/me/memories", params={"agent_id": "you"})).json()
    assert contents(body) == ["mine"]


async def test_agent_memories_of_an_unknown_agent_are_empty(api: httpx.AsyncClient) -> None:
    await remember(api, "someone's")
    body = (await api.get(f"{AGENTS}/ghost/memories")).json()
    assert body == {"memories": [], "count": 0, "has_more": False}
