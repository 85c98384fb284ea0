"""/health and /ready: public liveness and readiness (contract §10)."""

from __future__ import annotations

import re

import httpx


async def test_health_answers_without_a_key(app_client: tuple[httpx.AsyncClient, str]) -> None:
    client, _ = app_client
    r = await client.get("/health")
    assert r.status_code == 200
    body = r.json()
    assert body["status"] == "ok"
    assert body["service"] == "memtrace"
    assert re.fullmatch(r"(\d+h)?(\d+m)?\d+s", body["uptime"]), body["uptime"]


async def test_ready_reports_the_embedded_store_without_a_key(
    app_client: tuple[httpx.AsyncClient, str],
) -> None:
    client, _ = app_client
    r = await client.get("/ready")
    assert r.status_code == 200
    assert r.json() == {
        "status": "ready",
        "store": "embedded",
        "arc": "not_configured",
        "backlog": 0,
    }


async def test_health_and_ready_ignore_a_bad_key(app_client: tuple[httpx.AsyncClient, str]) -> None:
    client, _ = app_client
    for path in ("/health", "/ready"):
        r = await client.get(path, headers={"x-api-key": "mtk_not-a-real-key"})
        assert r.status_code == 200, path
