"""/api/v1/sessions: create, list, get, PUT/PATCH, memories (contract §7)."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from .helpers import AGENTS, SESSIONS, assert_error, contents, counts, remember


async def create(api: httpx.AsyncClient, **body: object) -> dict:  # type: ignore[type-arg]
    r = await api.post(SESSIONS, json={"agent_id": "agent_abc", **body})
    assert r.status_code == 201, r.text
    return r.json()  # type: ignore[no-any-return]


async def test_create_returns_201_with_every_field(api: httpx.AsyncClient) -> None:
    before = datetime.now(UTC) - timedelta(seconds=1)
    session = await create(api, metadata={"task": "product_research"})
    assert re.fullmatch(r"sess_[0-9a-f]{16,}", session["id"]), session["id"]
    assert session["org_id"] == "org_default"
    assert session["agent_id"] == "agent_abc"
    assert session["status"] == "active"
    assert session["metadata"] == {"task": "product_research"}
    assert session["closed_at"] is None
    assert session["created_at"] == session["updated_at"]
    assert session["created_at"].endswith("Z")
    assert before <= datetime.fromisoformat(session["created_at"]) <= datetime.now(UTC)


async def test_create_without_metadata_has_an_empty_object(api: httpx.AsyncClient) -> None:
    assert (await create(api))["metadata"] == {}


async def test_generated_session_ids_are_unique(api: httpx.AsyncClient) -> None:
    ids = {(await create(api))["id"] for _ in range(20)}
    assert len(ids) == 20


async def test_create_with_a_client_chosen_id_uses_it(api: httpx.AsyncClient) -> None:
    session = await create(api, session_id="my-session.1:a")
    assert session["id"] == "my-session.1:a"
    assert (await api.get(f"{SESSIONS}/my-session.1:a")).json() == session


async def test_create_with_a_taken_id_is_409_conflict_and_changes_nothing(
    api: httpx.AsyncClient,
) -> None:
    first = await create(api, session_id="taken", metadata={"v": 1})
    r = await api.post(
        SESSIONS, json={"agent_id": "someone", "session_id": "taken", "metadata": {"v": 2}}
    )
    assert_error(r, 409, "conflict")
    assert (await api.get(f"{SESSIONS}/taken")).json() == first
    assert (await api.get(SESSIONS)).json()["count"] == 1


async def test_concurrent_creates_of_one_session_id_make_one_session(
    api: httpx.AsyncClient,
) -> None:
    responses = await asyncio.gather(
        *(
            api.post(SESSIONS, json={"agent_id": f"a{i}", "session_id": "contested"})
            for i in range(20)
        )
    )
    assert sorted(r.status_code for r in responses) == [201] + [409] * 19
    winner = next(r.json() for r in responses if r.status_code == 201)
    assert (await api.get(f"{SESSIONS}/contested")).json() == winner
    assert (await api.get(SESSIONS)).json()["count"] == 1


async def test_create_registers_the_agent_if_unknown(api: httpx.AsyncClient) -> None:
    await create(api, agent_id="newcomer")
    assert (await api.get(f"{AGENTS}/newcomer")).status_code == 200


async def test_get_unknown_session_is_404(api: httpx.AsyncClient) -> None:
    assert_error(await api.get(f"{SESSIONS}/sess_nope"), 404, "not_found")


async def test_list_filters_by_agent_and_status_newest_first(api: httpx.AsyncClient) -> None:
    assert (await api.get(SESSIONS)).json() == {"sessions": [], "count": 0}
    a1 = await create(api, agent_id="a")
    a2 = await create(api, agent_id="a")
    b1 = await create(api, agent_id="b")
    assert (await api.put(f"{SESSIONS}/{a1['id']}", json={"status": "closed"})).status_code == 200

    def ids(r: httpx.Response) -> list[str]:
        assert r.status_code == 200
        body = r.json()
        assert body["count"] == len(body["sessions"])
        return [s["id"] for s in body["sessions"]]

    assert ids(await api.get(SESSIONS)) == [b1["id"], a2["id"], a1["id"]]
    assert ids(await api.get(SESSIONS, params={"agent_id": "a"})) == [a2["id"], a1["id"]]
    assert ids(await api.get(SESSIONS, params={"agent_id": "b"})) == [b1["id"]]
    assert ids(await api.get(SESSIONS, params={"agent_id": "c"})) == []
    assert ids(await api.get(SESSIONS, params={"status": "active"})) == [b1["id"], a2["id"]]
    assert ids(await api.get(SESSIONS, params={"status": "closed"})) == [a1["id"]]
    assert ids(await api.get(SESSIONS, params={"agent_id": "a", "status": "active"})) == [a2["id"]]
    # List entries carry metadata (clients match sessions on it).
    listed = (await api.get(SESSIONS, params={"agent_id": "b"})).json()["sessions"][0]
    assert listed == (await api.get(f"{SESSIONS}/{b1['id']}")).json()


@pytest.mark.parametrize("method", ["PUT", "PATCH"])
async def test_closing_sets_closed_at_and_reopening_clears_it(
    api: httpx.AsyncClient, method: str
) -> None:
    session = await create(api)
    url = f"{SESSIONS}/{session['id']}"
    closed = await api.request(method, url, json={"status": "closed"})
    assert closed.status_code == 200
    body = closed.json()
    assert body["status"] == "closed"
    assert body["closed_at"] is not None
    assert datetime.fromisoformat(body["updated_at"]) > datetime.fromisoformat(
        session["updated_at"]
    )
    assert body["created_at"] == session["created_at"]
    assert (await api.get(url)).json() == body

    reopened = (await api.request(method, url, json={"status": "active"})).json()
    assert reopened["status"] == "active"
    assert reopened["closed_at"] is None
    assert (await api.get(url)).json() == reopened


async def test_closing_a_closed_session_keeps_the_first_closed_at(api: httpx.AsyncClient) -> None:
    session = await create(api)
    url = f"{SESSIONS}/{session['id']}"
    first = (await api.put(url, json={"status": "closed"})).json()
    second = (await api.put(url, json={"status": "closed"})).json()
    assert second["status"] == "closed"
    assert second["closed_at"] == first["closed_at"]


@pytest.mark.parametrize("method", ["PUT", "PATCH"])
async def test_metadata_is_merged_and_null_removes_a_key(
    api: httpx.AsyncClient, method: str
) -> None:
    session = await create(api, metadata={"task": "research", "step": 1, "keep": True})
    url = f"{SESSIONS}/{session['id']}"
    r = await api.request(
        method, url, json={"metadata": {"step": 2, "task": None, "new": {"n": [1]}}}
    )
    assert r.status_code == 200
    assert r.json()["metadata"] == {"step": 2, "keep": True, "new": {"n": [1]}}
    assert r.json()["status"] == "active"
    assert (await api.get(url)).json()["metadata"] == {"step": 2, "keep": True, "new": {"n": [1]}}
    # Removing a key that is not there is fine.
    r = await api.request(method, url, json={"metadata": {"absent": None}})
    assert r.json()["metadata"] == {"step": 2, "keep": True, "new": {"n": [1]}}


async def test_status_and_metadata_update_together(api: httpx.AsyncClient) -> None:
    session = await create(api, metadata={"a": 1})
    body = (
        await api.patch(
            f"{SESSIONS}/{session['id']}", json={"status": "closed", "metadata": {"b": 2}}
        )
    ).json()
    assert body["status"] == "closed" and body["metadata"] == {"a": 1, "b": 2}


async def test_an_empty_update_changes_nothing_but_updated_at(api: httpx.AsyncClient) -> None:
    session = await create(api, metadata={"a": 1})
    body = (await api.put(f"{SESSIONS}/{session['id']}", json={})).json()
    assert body["status"] == "active" and body["metadata"] == {"a": 1} and body["closed_at"] is None


@pytest.mark.parametrize("method", ["PUT", "PATCH"])
@pytest.mark.parametrize("status", ["done", "Closed", "ACTIVE", "", "paused", 1, True, None])
async def test_status_other_than_active_or_closed_is_400_and_changes_nothing(
    api: httpx.AsyncClient, method: str, status: object
) -> None:
    session = await create(api)
    url = f"{SESSIONS}/{session['id']}"
    r = await api.request(method, url, json={"status": status, "metadata": {"x": 1}})
    if status is None:  # null means "leave the status alone"
        assert r.status_code == 200
        return
    assert_error(r, 400, "invalid_request", field="status")
    assert (await api.get(url)).json() == session


@pytest.mark.parametrize("method", ["PUT", "PATCH"])
async def test_updating_an_unknown_session_is_404(api: httpx.AsyncClient, method: str) -> None:
    assert_error(
        await api.request(method, f"{SESSIONS}/sess_nope", json={"status": "closed"}),
        404,
        "not_found",
    )
    assert (await counts(api))[2] == 0


# --- /sessions/{id}/memories --------------------------------------------------------


async def test_session_memories_lists_only_that_sessions_memories(api: httpx.AsyncClient) -> None:
    session = await create(api)
    sid = session["id"]
    await remember(api, "in session 1", session_id=sid, memory_type="decision")
    await remember(api, "elsewhere", session_id="other")
    await remember(api, "no session")
    await remember(api, "in session 2", session_id=sid, agent_id="helper", tags=["t"])
    body = (await api.get(f"{SESSIONS}/{sid}/memories")).json()
    assert contents(body) == ["in session 2", "in session 1"]
    assert body["count"] == 2 and body["has_more"] is False
    url = f"{SESSIONS}/{sid}/memories"
    assert contents((await api.get(url, params={"memory_type": "decision"})).json()) == [
        "in session 1"
    ]
    assert contents((await api.get(url, params={"agent_id": "helper"})).json()) == ["in session 2"]
    assert contents((await api.get(url, params={"tags": "t"})).json()) == ["in session 2"]
    assert contents((await api.get(url, params={"order": "asc", "limit": 1})).json()) == [
        "in session 1"
    ]
    assert contents((await api.get(url, params={"session_id": "other"})).json()) == [
        "in session 2",
        "in session 1",
    ]


async def test_memories_under_a_never_created_session_are_accepted_and_listed(
    api: httpx.AsyncClient,
) -> None:
    created = await remember(api, "orphan", session_id="never-created")
    assert created["session_id"] == "never-created"
    body = (await api.get(f"{SESSIONS}/never-created/memories")).json()
    assert contents(body) == ["orphan"]
    assert_error(await api.get(f"{SESSIONS}/never-created"), 404, "not_found")


async def test_session_memories_of_an_unknown_session_are_empty(api: httpx.AsyncClient) -> None:
    await remember(api, "x")
    assert (await api.get(f"{SESSIONS}/ghost/memories")).json() == {
        "memories": [],
        "count": 0,
        "has_more": False,
    }
