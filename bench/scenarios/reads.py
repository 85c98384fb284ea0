"""Scenario 3: list by agent / session / tag, search by content (a rare and a
common needle), by time window and by importance, and get by id; limit 50.

One request in flight, from the bench process (never the server's), rotating the
agent, session, tag, window or id on every request so no single cached answer is
timed. Every answer is checked against the data set's ground truth.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import httpx

from ..datasets import COMMON_NEEDLE, DAY_US, HIGH_IMPORTANCE, RARE_NEEDLE
from ..progress import Progress
from ..result import Result, sequential
from . import Ctx

LIMIT = 50
GENERATOR = "httpx, sequential (1 in flight)"
NAMES = [
    "list_by_agent",
    "list_by_session",
    "list_by_tag",
    "search_contains_rare",
    "search_contains_common",
    "search_time_window",
    "search_min_importance",
    "get_by_id",
]


def names(_size: object) -> list[str]:
    return list(NAMES)


def _ok(answer: httpx.Response) -> Any:
    if answer.status_code != 200:
        raise RuntimeError(f"HTTP {answer.status_code}: {answer.text[:200]}")
    return answer.json()


def _us(stamp: str) -> int:
    moment = datetime.fromisoformat(stamp)
    return int(moment.timestamp()) * 1_000_000 + moment.microsecond


def _page_wrong(
    items: list[dict[str, Any]], expected: int | None, keep: Callable[[dict[str, Any]], bool]
) -> str | None:
    if expected is not None and len(items) != expected:
        return f"{len(items)} results, expected {expected}"
    if len(items) > LIMIT:
        return f"{len(items)} results over limit {LIMIT}"
    bad = [m["memory_id"] for m in items if not keep(m)]
    if bad:
        return f"{len(bad)} results do not match the filter, e.g. {bad[0]}"
    times = [(_us(m["time"]), m["memory_id"]) for m in items]
    if times != sorted(times, reverse=True):
        return "results are not newest first"
    return None


def run(ctx: Ctx) -> list[Result]:
    truth = ctx.truth
    rng = random.Random(5)
    agents = sorted(truth.agents)
    sessions = sorted(s for s in truth.sessions if not s.startswith("sess_ctx_"))
    sessions = rng.sample(sessions, min(len(sessions), 500))
    tags = [t for t, _ in truth.tags.most_common(24)]
    ids = truth.sample_ids
    span = truth.last_us - truth.first_us
    windows = [truth.first_us + rng.randrange(max(span - DAY_US, 1)) for _ in range(64)]
    n = ctx.size.read_requests
    results: list[Result] = []
    with ctx.http() as http, Progress(f"{ctx.store} reads", n * len(NAMES), "requests") as bar:

        def listing(params: dict[str, Any]) -> list[dict[str, Any]]:
            return list(
                _ok(http.get("/api/v1/memories", params={**params, "limit": LIMIT}))["memories"]
            )

        def search(body: dict[str, Any]) -> list[dict[str, Any]]:
            return list(_ok(http.post("/api/v1/search", json={**body, "limit": LIMIT}))["results"])

        def by_agent(i: int) -> str | None:
            a = agents[i % len(agents)]
            return _page_wrong(
                listing({"agent_id": a}), min(LIMIT, truth.agents[a]), lambda m: m["agent_id"] == a
            )

        def by_session(i: int) -> str | None:
            s = sessions[i % len(sessions)]
            return _page_wrong(
                listing({"session_id": s}),
                min(LIMIT, truth.sessions[s]),
                lambda m: m["session_id"] == s,
            )

        def by_tag(i: int) -> str | None:
            t = tags[i % len(tags)]
            return _page_wrong(
                listing({"tags": t}), min(LIMIT, truth.tags[t]), lambda m: t in m["tags"]
            )

        def rare(_i: int) -> str | None:
            needle = RARE_NEEDLE.upper()  # matching is case-insensitive
            return _page_wrong(
                search({"content_contains": needle}),
                min(LIMIT, truth.rare),
                lambda m: RARE_NEEDLE in m["content"].lower(),
            )

        def common(_i: int) -> str | None:
            needle = COMMON_NEEDLE.capitalize()
            return _page_wrong(
                search({"content_contains": needle}),
                min(LIMIT, truth.common),
                lambda m: COMMON_NEEDLE in m["content"].lower(),
            )

        def window(i: int) -> str | None:
            lo = windows[i % len(windows)]
            hi = lo + DAY_US
            body = {"since": _iso(lo), "until": _iso(hi)}
            return _page_wrong(search(body), None, lambda m: lo <= _us(m["time"]) < hi)

        def important(_i: int) -> str | None:
            return _page_wrong(
                search({"min_importance": HIGH_IMPORTANCE}),
                min(LIMIT, truth.high_importance),
                lambda m: m["importance"] >= HIGH_IMPORTANCE,
            )

        def get(i: int) -> str | None:
            wanted = ids[i % len(ids)]
            got = _ok(http.get(f"/api/v1/memories/{wanted}"))
            return None if got["memory_id"] == wanted else f"asked {wanted}, got {got['memory_id']}"

        calls: dict[str, tuple[Callable[[int], str | None], str]] = {
            "list_by_agent": (by_agent, f"rotating {len(agents)} agents"),
            "list_by_session": (by_session, f"rotating {len(sessions)} sessions"),
            "list_by_tag": (by_tag, f"rotating {len(tags)} tags"),
            "search_contains_rare": (rare, f"{truth.rare} matches in {truth.total:,}"),
            "search_contains_common": (common, f"{truth.common:,} matches in {truth.total:,}"),
            "search_time_window": (window, "rotating 1-day windows"),
            "search_min_importance": (important, f"min_importance {HIGH_IMPORTANCE}"),
            "get_by_id": (get, f"rotating {len(ids)} ids"),
        }
        for name, (call, what) in calls.items():
            result = Result(name, ctx.store, generator=f"{GENERATOR}, {what}")
            with ctx.profiled(name):
                sequential(result, n, call, progress=bar.advance)
            result.peak_rss_mib = ctx.rss()
            results.append(result)
    return results


def _iso(us: int) -> str:
    seconds, micro = divmod(us, 1_000_000)
    moment = datetime.fromtimestamp(seconds, UTC).replace(microsecond=micro)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
