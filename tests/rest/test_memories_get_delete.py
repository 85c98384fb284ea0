"""GET and DELETE /api/v1/memories/{id}, by full id and by the 12-hex short id."""

from __future__ import annotations

import httpx
import pytest

from .helpers import MEMORIES, SESSIONS, assert_error, counts, list_memories, remember, search


async def test_get_by_full_id_returns_the_memory(api: httpx.AsyncClient) -> None:
    created = await remember(api, "find me", tags=["t"])
    r = await api.get(f"{MEMORIES}/{created['memory_id']}")
    assert r.status_code == 200
    assert r.json() == created


async def test_get_by_short_id_returns_the_memory(api: httpx.AsyncClient) -> None:
    created = await remember(api, "short")
    await remember(api, "another one")
    short = created["memory_id"][-12:]
    r = await api.get(f"{MEMORIES}/{short}")
    assert r.status_code == 200
    assert r.json() == created


async def test_get_by_short_id_with_hash_and_upper_case_is_accepted(api: httpx.AsyncClient) -> None:
    created = await remember(api, "cited in context as (#abcdef012345)")
    short = created["memory_id"][-12:]
    assert (await api.get(f"{MEMORIES}/%23{short}")).json()["memory_id"] == created["memory_id"]
    upper = created["memory_id"].upper()
    assert (await api.get(f"{MEMORIES}/{upper}")).json()["memory_id"] == created["memory_id"]


@pytest.mark.parametrize(
    "ref",
    [
        "0190aaaa-bbbb-7ccc-8ddd-eeeeeeeeeeee",  # well-formed, unknown
        "eeeeeeeeeeee",  # well-formed short id, unknown
        "not-an-id",
        "abc",
        "' OR 1=1 --",
        "%25",
        "_",
        "%00",
    ],
)
async def test_get_unknown_or_malformed_id_is_404_json(api: httpx.AsyncClient, ref: str) -> None:
    await remember(api, "present")
    assert_error(await api.get(f"{MEMORIES}/{ref}"), 404, "not_found")


async def test_get_does_not_match_content_like_the_original_did(api: httpx.AsyncClient) -> None:
    await remember(api, "the text needle-123 is in here")
    assert_error(await api.get(f"{MEMORIES}/needle-123"), 404, "not_found")


async def test_delete_returns_204_with_no_body(api: httpx.AsyncClient) -> None:
    created = await remember(api, "forget me")
    r = await api.delete(f"{MEMORIES}/{created['memory_id']}")
    assert r.status_code == 204
    assert r.content == b""


async def test_deleted_memory_is_gone_from_every_read(api: httpx.AsyncClient) -> None:
    r = await api.post(SESSIONS, json={"agent_id": "a1", "session_id": "s-del"})
    assert r.status_code == 201
    keep = await remember(api, "keep this one", session_id="s-del", tags=["zap"])
    gone = await remember(api, "forget this one", session_id="s-del", tags=["zap"])
    assert (await api.delete(f"{MEMORIES}/{gone['memory_id']}")).status_code == 204

    assert_error(await api.get(f"{MEMORIES}/{gone['memory_id']}"), 404, "not_found")
    assert_error(await api.get(f"{MEMORIES}/{gone['memory_id'][-12:]}"), 404, "not_found")
    assert [m["memory_id"] for m in (await list_memories(api))["memories"]] == [keep["memory_id"]]
    assert (await list_memories(api, tags="zap"))["count"] == 1
    assert (await search(api, content_contains="forget"))["count"] == 0
    assert (await search(api, content_contains="this one"))["count"] == 1
    assert (await api.get(f"{SESSIONS}/s-del/memories")).json()["count"] == 1
    assert (await api.get("/api/v1/agents/a1/memories")).json()["count"] == 1
    context = (await api.post(f"{SESSIONS}/s-del/context", json={})).json()
    assert "forget this one" not in context["context"]
    assert "keep this one" in context["context"]
    assert context["memory_count"] == 1
    stats = (await api.get("/api/v1/agents/a1/stats")).json()
    assert stats["memory_count"] == 1


async def test_delete_by_short_id_works(api: httpx.AsyncClient) -> None:
    created = await remember(api, "short delete")
    assert (await api.delete(f"{MEMORIES}/{created['memory_id'][-12:]}")).status_code == 204
    assert (await counts(api))[0] == 0


async def test_delete_twice_is_404_the_second_time(api: httpx.AsyncClient) -> None:
    created = await remember(api, "once")
    assert (await api.delete(f"{MEMORIES}/{created['memory_id']}")).status_code == 204
    assert_error(await api.delete(f"{MEMORIES}/{created['memory_id']}"), 404, "not_found")


@pytest.mark.parametrize(
    "ref", ["0190aaaa-bbbb-7ccc-8ddd-eeeeeeeeeeee", "eeeeeeeeeeee", "junk", "' OR 1=1 --"]
)
async def test_delete_unknown_id_is_404_and_deletes_nothing(
    api: httpx.AsyncClient, ref: str
) -> None:
    await remember(api, "survivor")
    assert_error(await api.delete(f"{MEMORIES}/{ref}"), 404, "not_found")
    assert (await counts(api))[0] == 1


async def test_a_deleted_memorys_dedup_key_can_be_used_again(api: httpx.AsyncClient) -> None:
    first = await remember(api, "same", dedup_key="k1")
    assert (await api.delete(f"{MEMORIES}/{first['memory_id']}")).status_code == 204
    again = await remember(api, "same", dedup_key="k1")
    assert again["memory_id"] != first["memory_id"]
