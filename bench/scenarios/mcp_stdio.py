"""Scenario 5: MCP over stdio, as Claude Desktop runs it: the SDK client spawns
``python -m memtrace_mcp`` (no arguments) over a data dir of 5k memories.

Measures process start to the first ``tools/list`` answer (several cold starts),
then ``store_memory`` and ``search_memories`` round trips, and the stdio server's
peak RSS (its VmHWM, read from /proc while the session is open).
"""

from __future__ import annotations

import importlib.util
import os
import sys
import time
from pathlib import Path

import anyio

from ..datasets import Dataset
from ..loader import load_at_rest, load_over_api
from ..procs import children, memtrace_server, peak_rss_mib
from ..progress import Progress
from ..result import Result, summarize, unavailable
from ..sizes import Size
from . import Ctx
from .mcp_calls import SEARCH_LIMIT, round_trips, sdk_missing

NAMES = ["mcp_stdio_start", "mcp_stdio_store", "mcp_stdio_search"]
GENERATOR = "mcp SDK client, stdio subprocess, sequential (1 in flight)"
DEADLINE_S = 600


def names(_size: Size) -> list[str]:
    return list(NAMES)


def _missing() -> str | None:
    if reason := sdk_missing():
        return reason
    if importlib.util.find_spec("memtrace_mcp.transports.mcp.stdio") is None:
        return (
            "memtrace_mcp.transports.mcp.stdio does not exist (the stdio MCP face is not built yet)"
        )
    return None


def _prepare(ctx: Ctx, data_dir: Path, env: dict[str, str]) -> Dataset:
    dataset = Dataset(ctx.size, memories=ctx.size.stdio_memories, context_sessions=(), seed=23)
    if ctx.store == "embedded":
        load_at_rest(data_dir, dataset, "stdio data set")
    else:  # Arc: through a server on the same data dir and Arc database, then stopped
        with memtrace_server(data_dir, env) as server:
            load_over_api(server.url, server.key, dataset, "stdio data set")
    return dataset


def _server_pid() -> int | None:
    for pid in children(os.getpid()):
        try:
            if b"memtrace_mcp" in Path(f"/proc/{pid}/cmdline").read_bytes():
                return pid
        except OSError:
            continue
    return None


def run(ctx: Ctx) -> list[Result]:
    if reason := _missing():
        return [unavailable(name, ctx.store, reason) for name in NAMES]
    from mcp.client.stdio import stdio_client

    from mcp import Client, StdioServerParameters

    data_dir = ctx.work / f"{ctx.store}-stdio" / "data"
    env = dict(ctx.env)
    if "MEMTRACE_ARC_DATABASE" in env:  # its own Arc database, beside its own journal
        env["MEMTRACE_ARC_DATABASE"] += "_stdio"
    dataset = _prepare(ctx, data_dir, env)
    params = StdioServerParameters(
        command=sys.executable,
        args=["-m", "memtrace_mcp"],
        cwd=str(data_dir.parent),
        env={
            "MEMTRACE_DATA_DIR": str(data_dir),
            "MEMTRACE_AGENT_ID": "bench-stdio",
            "MEMTRACE_LOG_LEVEL": "warning",
            **env,
        },
    )
    start = Result(
        "mcp_stdio_start",
        ctx.store,
        unit="starts/s",
        generator="mcp SDK client: spawn, initialize, tools/list",
    )
    store = Result("mcp_stdio_store", ctx.store, generator=GENERATOR)
    search = Result(
        "mcp_stdio_search",
        ctx.store,
        generator=f"{GENERATOR}, query + agent_id '*', limit {SEARCH_LIMIT}",
    )
    n, starts = ctx.size.mcp_calls, ctx.size.mcp_starts
    errlog = (ctx.work / f"{ctx.store}-stdio" / "server-stderr.log").open("w")

    async def main() -> None:
        with (
            anyio.fail_after(DEADLINE_S),
            Progress(f"{ctx.store} mcp over stdio", starts + 2 * n, "steps") as bar,
        ):
            times = []
            for _ in range(starts):
                t0 = time.perf_counter()
                async with Client(stdio_client(params, errlog=errlog)) as client:
                    tools = await client.list_tools()
                    times.append(time.perf_counter() - t0)
                    if not any(t.name == "search_memories" for t in tools.tools):
                        start.fail("tools/list has no search_memories")
                bar.advance()
            start.requests = starts
            start.latency_ms = summarize(times)
            start.throughput = round(len(times) / sum(times), 2)
            async with Client(stdio_client(params, errlog=errlog)) as client:
                await client.list_tools()
                pid = _server_pid()
                with ctx.profiled("mcp_stdio", pid=pid):
                    await round_trips(client, ctx.run_id, n, store, search, bar.advance)
                search.peak_rss_mib = peak_rss_mib(pid) if pid else None

    try:
        anyio.run(main)
    finally:
        errlog.close()
    store.peak_rss_mib = search.peak_rss_mib
    for result in (start, store, search):
        result.extra["memories_at_rest"] = dataset.truth.total
    return [start, store, search]
