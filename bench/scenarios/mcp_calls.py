"""The MCP round trips shared by the stdio and Streamable HTTP scenarios, through
the official ``mcp`` SDK client: ``store_memory`` then ``search_memories``, one
call in flight, each answer checked."""

from __future__ import annotations

import importlib.util
import time
from collections.abc import Awaitable, Callable
from typing import Any

from ..datasets import COMMON_NEEDLE
from ..result import Result, summarize

SEARCH_LIMIT = 10


def sdk_missing() -> str | None:
    """Why the MCP scenarios cannot run here, or None."""
    if importlib.util.find_spec("mcp") is None:
        return "the mcp SDK is not installed"
    return None


async def timed(
    result: Result,
    n: int,
    call: Callable[[int], Awaitable[str | None]],
    progress: Callable[[], None],
    warmup: int = 3,
) -> None:
    """The async twin of ``result.sequential`` (the SDK client is async)."""
    for i in range(warmup):
        await call(-1 - i)
    latencies = []
    started = time.perf_counter()
    for i in range(n):
        t0 = time.perf_counter()
        try:
            wrong = await call(i)
        except Exception as exc:  # noqa: BLE001 - counted and reported
            result.errors += 1
            result.fail(f"call {i}: {type(exc).__name__}: {exc}"[:300])
            continue
        latencies.append(time.perf_counter() - t0)
        if wrong is not None:
            result.fail(f"call {i}: {wrong}"[:300])
        progress()
    elapsed = time.perf_counter() - started
    result.requests = n
    result.throughput = round(len(latencies) / elapsed, 1) if elapsed > 0 else 0.0
    result.latency_ms = summarize(latencies)


def _text(answer: Any) -> str:
    return "".join(getattr(block, "text", "") for block in answer.content)[:200]


async def round_trips(
    client: Any, run_id: str, n: int, store: Result, search: Result, progress: Callable[[], None]
) -> None:
    async def store_one(i: int) -> str | None:
        answer = await client.call_tool(
            "store_memory",
            {
                "content": f"step mcp-{run_id}-{store.scenario}-{i}:"
                f" the payments api hit a {COMMON_NEEDLE}",
                "event_type": "observation",
                "tags": ["bench", "payments"],
                "importance": 0.4,
            },
        )
        if answer.is_error:
            return f"store_memory failed: {_text(answer)}"
        if (
            not isinstance(answer.structured_content, dict)
            or "memory_id" not in answer.structured_content
        ):
            return "store_memory answered without a memory_id"
        return None

    async def search_one(_i: int) -> str | None:
        answer = await client.call_tool(
            "search_memories",
            {
                "query": COMMON_NEEDLE,
                "agent_id": "*",
                "limit": SEARCH_LIMIT,
            },
        )
        if answer.is_error:
            return f"search_memories failed: {_text(answer)}"
        hits = (answer.structured_content or {}).get("results")
        if not isinstance(hits, list) or not 0 < len(hits) <= SEARCH_LIMIT:
            return (
                f"search_memories returned {hits if not isinstance(hits, list) else len(hits)} hits"
            )
        bad = [
            h
            for h in hits
            if COMMON_NEEDLE not in h["content"].lower() and not h["content_truncated"]
        ]
        return f"{len(bad)} hits lack the needle" if bad else None

    await timed(store, n, store_one, progress)
    await timed(search, n, search_one, progress)
