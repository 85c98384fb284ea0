"""Scenario 1: single-memory create, 16 concurrent clients (``wrk -t2 -c16``).

Bodies come from ``wrk/create.lua`` (unique, realistic, agents ``wrk-agent-NN``).
Any non-2xx answer or socket error fails the scenario. Durability check: the
agents' stored memory counts grow by at least the number of 2xx answers (and by
at most 16 more: requests in flight when wrk stopped).
"""

from __future__ import annotations

import random
from typing import Any

from .. import loadgen
from ..progress import note
from ..result import Result
from ..sizes import Size
from . import Ctx

THREADS, CONNS = 2, 16
AGENTS = [f"wrk-agent-{i:02d}" for i in range(8)]


def names(_size: Size) -> list[str]:
    return ["create_single"]


def _stored(ctx: Ctx) -> int:
    total = 0
    with ctx.http() as http:
        for agent in AGENTS:
            answer = http.get(f"/api/v1/agents/{agent}/stats")
            if answer.status_code == 200:
                total += int(answer.json()["memory_count"])
            elif answer.status_code != 404:
                raise RuntimeError(f"stats of {agent}: HTTP {answer.status_code}")
    return total


def _fallback_body(n: int) -> dict[str, Any]:
    rng = random.Random(n)
    return {
        "agent_id": rng.choice(AGENTS),
        "event_type": "tool_call",
        "content": f"step py-{n}: called http_get in {rng.randrange(3000)} ms",
        "tags": ["api"],
        "importance": round(rng.random(), 2),
    }


def run(ctx: Ctx) -> list[Result]:
    assert ctx.server is not None
    seconds = ctx.size.single_seconds
    before = _stored(ctx)
    note(f"{ctx.store} create_single: {seconds}s of load")
    with ctx.profiled("create_single"):
        if loadgen.wrk_path():
            summary = loadgen.run_wrk(
                ctx.server.url, ctx.server.key, ctx.run_id, seconds, threads=THREADS, conns=CONNS
            )
            generator = f"wrk -t{THREADS} -c{CONNS} -d{seconds}s (create.lua)"
        else:
            summary = loadgen.run_python(
                ctx.server.url, ctx.server.key, seconds, CONNS, _fallback_body
            )
            generator = f"python httpx, {CONNS} connections (wrk not installed)"
    result = Result("create_single", ctx.store, generator=generator)
    sockets = sum(summary[k] for k in ("connect", "read", "write", "timeout"))
    ok = summary["requests"] - summary["non2xx"]
    result.requests = summary["requests"]
    result.errors = summary["non2xx"] + sockets
    result.throughput = round(ok / (summary["duration_us"] / 1e6), 1)
    result.latency_ms = {
        k: round(summary[f"{k}_us"] / 1000, 3) for k in ("p50", "p95", "p99", "max", "mean")
    }
    stored = _stored(ctx) - before
    result.extra = {
        "created_2xx": ok,
        "stored": stored,
        "non2xx": summary["non2xx"],
        "socket_errors": sockets,
    }
    if summary["non2xx"]:
        result.fail(
            f"{summary['non2xx']} non-2xx answers; wrk stderr: {summary.get('stderr', '')[:300]}"
        )
    if sockets:
        result.fail(f"{sockets} socket errors (connect/read/write/timeout)")
    if not ok <= stored <= ok + CONNS:
        result.fail(f"{ok} answers were 201 but {stored} memories were stored")
    if ok == 0:
        result.fail("no request succeeded")
    result.peak_rss_mib = ctx.rss()
    return [result]
