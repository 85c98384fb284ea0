import httpx


async def test_created_memory_can_be_read_back_by_id(api: httpx.AsyncClient) -> None:
    created = await api.post("/api/v1/memories", json={"agent_id": "a1", "content": "hello"})
    assert created.status_code == 201
    memory_id = created.json()["memory_id"]
    got = await api.get(f"/api/v1/memories/{memory_id}")
    assert got.status_code == 200
    assert got.json()["content"] == "hello"


def test_server_process_answers_with_bootstrap_key(server) -> None:  # type: ignore[no-untyped-def]
    assert server.admin_key and server.admin_key.startswith("mtk_")
    r = httpx.get(f"{server.url}/api/v1/agents", headers={"x-api-key": server.admin_key})
    assert r.status_code == 200
