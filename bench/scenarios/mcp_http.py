"""Scenario 6: MCP over Streamable HTTP (``/mcp`` on the measured server, the
admin key): ``store_memory`` and ``search_memories`` round trips."""

from __future__ import annotations

import time

import anyio
import httpx

from ..progress import Progress
from ..result import Result, unavailable
from ..sizes import Size
from . import Ctx
from .mcp_calls import SEARCH_LIMIT, round_trips, sdk_missing

NAMES = ["mcp_http_store", "mcp_http_search"]
GENERATOR = "mcp SDK client, Streamable HTTP, sequential (1 in flight)"
DEADLINE_S = 600


def names(_size: Size) -> list[str]:
    return list(NAMES)


def _missing(ctx: Ctx) -> str | None:
    assert ctx.server is not None
    if reason := sdk_missing():
        return reason
    probe = httpx.post(f"{ctx.server.url}/mcp", json={}, headers={"x-api-key": ctx.server.key})
    if probe.status_code == 404:
        return "the server has no /mcp route (MCP over Streamable HTTP is not wired in yet)"
    return None


def run(ctx: Ctx) -> list[Result]:
    if reason := _missing(ctx):
        return [unavailable(name, ctx.store, reason) for name in NAMES]
    assert ctx.server is not None
    server = ctx.server
    store = Result("mcp_http_store", ctx.store, generator=GENERATOR)
    search = Result(
        "mcp_http_search",
        ctx.store,
        generator=f"{GENERATOR}, query + agent_id '*', limit {SEARCH_LIMIT}",
    )
    n = ctx.size.mcp_calls

    async def main() -> None:
        import httpx2
        from mcp.client.streamable_http import streamable_http_client

        from mcp import Client

        with anyio.fail_after(DEADLINE_S):
            t0 = time.perf_counter()
            async with (
                httpx2.AsyncClient(headers={"x-api-key": server.key}, timeout=60) as http,
                Client(streamable_http_client(f"{server.url}/mcp", http_client=http)) as client,
            ):
                await client.list_tools()
                connected = time.perf_counter() - t0
                store.extra["connect_and_list_tools_ms"] = round(connected * 1000, 1)
                with (
                    Progress(f"{ctx.store} mcp over http", 2 * n, "calls") as bar,
                    ctx.profiled("mcp_http"),
                ):
                    await round_trips(client, ctx.run_id, n, store, search, bar.advance)

    anyio.run(main)
    for result in (store, search):
        result.peak_rss_mib = ctx.rss()
    return [store, search]
