"""Runs the selected scenario groups on one store: builds its data set, starts
its processes, and always stops them."""

from __future__ import annotations

import contextlib
import os
import secrets
import sqlite3
import time
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx

from memtrace_mcp.config import Settings

from .datasets import Dataset
from .loader import load_at_rest, load_over_api
from .procs import arc_standin, dir_bytes, memtrace_server, peak_rss_mib
from .profiling import Profiler
from .progress import Progress, note
from .result import Result, unavailable
from .scenarios import (
    GROUPS,
    SERVER_GROUPS,
    Ctx,
    context,
    create_batch,
    create_single,
    mcp_http,
    mcp_stdio,
    reads,
)
from .sizes import Size

MODULES = {
    "reads": reads,
    "context": context,
    "mcp_http": mcp_http,
    "create_single": create_single,
    "create_batch": create_batch,
    "mcp_stdio": mcp_stdio,
}
assert tuple(MODULES) == (*SERVER_GROUPS, "mcp_stdio") and set(MODULES) == set(GROUPS)
BACKLOG_DEADLINE_S = 1800.0


def all_unavailable(store: str, size: Size, groups: list[str], reason: str) -> list[Result]:
    names = [n for g in groups for n in MODULES[g].names(size)]
    if any(g in SERVER_GROUPS for g in groups):
        names.append("http_server")
    return [unavailable(n, store, reason) for n in names]


def run_group(group: str, ctx: Ctx) -> list[Result]:
    """One group; a crash fails its scenarios, and the run goes on."""
    try:
        return list(MODULES[group].run(ctx))
    except Exception as exc:  # noqa: BLE001 - reported per scenario, never hidden
        note(f"{ctx.store} {group} crashed:\n{traceback.format_exc()}")
        reason = f"{type(exc).__name__}: {exc}"[:500]
        return [
            Result(n, ctx.store, status="failed", reason=reason)
            for n in MODULES[group].names(ctx.size)
        ]


def _dataset_info(dataset: Dataset, build_s: float, data_dir: Path, spread: str) -> dict[str, Any]:
    size = dir_bytes(data_dir)
    truth = dataset.truth
    return {
        "memories": truth.total,
        "agents": len(truth.agents),
        "sessions": len(truth.sessions),
        "context_sessions": {str(k): v for k, v in truth.context_sessions.items()},
        "rare_needle_matches": truth.rare,
        "common_needle_matches": truth.common,
        "time_spread": spread,
        "build_s": round(build_s, 1),
        "data_dir_bytes": size,
        "data_dir_mib": round(size / 2**20, 1),
        "kib_per_1k_memories": round(size / 1024 / (truth.total / 1000), 1),
    }


def _server_row(ctx: Ctx, info: dict[str, Any]) -> Result:
    assert ctx.server is not None
    size = dir_bytes(ctx.server.data_dir)
    row = Result("http_server", ctx.store, unit="", generator="")
    row.peak_rss_mib = peak_rss_mib(ctx.server.pid)
    row.extra = {
        "data_dir_bytes_at_end": size,
        "memories_at_rest": info.get("dataset", {}).get("memories"),
    }
    return row


def _serve_groups(ctx: Ctx, groups: list[str], info: dict[str, Any]) -> list[Result]:
    results = []
    for group in (g for g in SERVER_GROUPS if g in groups):
        results += run_group(group, ctx)
    results.append(_server_row(ctx, info))
    return results


def run_embedded(ctx: Ctx, groups: list[str]) -> tuple[dict[str, Any], list[Result]]:
    info: dict[str, Any] = {"backend": "embedded SQLite (WAL, synchronous=FULL)", "status": "ok"}
    results: list[Result] = []
    if any(g in SERVER_GROUPS for g in groups):
        dataset = Dataset(ctx.size)
        data_dir = ctx.work / "embedded" / "data"
        started = time.monotonic()
        index_s = load_at_rest(data_dir, dataset, "embedded data set")
        spread = f"times spread over {ctx.size.weeks} weeks (bench-only loader, data at rest)"
        info["dataset"] = _dataset_info(dataset, time.monotonic() - started, data_dir, spread)
        info["dataset"]["search_index_s"] = round(index_s, 1)
        info["dataset"]["search_index_per_s"] = round(dataset.total / index_s) if index_s else None
        ctx.truth = dataset.truth
        with memtrace_server(data_dir, ctx.env) as server:
            ctx.server = server
            results += _serve_groups(ctx, groups, info)
        ctx.server = None
    if "mcp_stdio" in groups:
        results += run_group("mcp_stdio", ctx)
    return info, results


@contextlib.contextmanager
def _arc_target(work: Path) -> Iterator[tuple[str, str, str]]:
    """(url, token, description): a real Arc when MEMTRACE_TEST_ARC_URL and
    MEMTRACE_TEST_ARC_TOKEN are set, else the stand-in as its own process."""
    url, token = os.environ.get("MEMTRACE_TEST_ARC_URL"), os.environ.get("MEMTRACE_TEST_ARC_TOKEN")
    if url and token:
        yield url, token, f"real Arc at {url} (MEMTRACE_TEST_ARC_URL)"
        return
    token = secrets.token_hex(24)
    with arc_standin(work / "arc" / "standin-data", token) as standin_url:
        yield (
            standin_url,
            token,
            "Arc stand-in (tests/arc_standin: DuckDB over Parquet), its own process",
        )


def _drain(left: Callable[[], int], label: str, what: str, every_s: float) -> float:
    """Poll ``left()`` every ``every_s`` until it is 0, with a progress bar and a
    deadline; return the seconds it took."""
    started = time.monotonic()
    first = left()
    with Progress(label, max(first, 1), "memories") as bar:
        while (n := left()) > 0:
            if time.monotonic() - started > BACKLOG_DEADLINE_S:
                raise TimeoutError(f"{what} still {n} after {BACKLOG_DEADLINE_S:.0f}s")
            bar.set(max(first - n, 0))
            time.sleep(every_s)
    return time.monotonic() - started


def _wait_backlog(url: str, label: str) -> None:
    with httpx.Client(timeout=30) as http:
        _drain(
            lambda: int(http.get(f"{url}/ready").json().get("backlog", 0)),
            label,
            "Arc backlog",
            0.1,
        )


def _wait_retired(data_dir: Path, label: str) -> float:
    """Wait until the server has handed every row to Arc and dropped it from its
    journal (after Arc's cache horizon), so reads measure Arc and not the local
    journal; return the seconds waited. Reads the data dir read-only."""
    uri = f"file:{Settings(data_dir=data_dir).db_path}?mode=ro"
    with contextlib.closing(sqlite3.connect(uri, uri=True, timeout=30)) as conn:
        return _drain(
            lambda: int(conn.execute("SELECT count(*) FROM arc_journal").fetchone()[0]),
            label,
            "Arc journal rows",
            1.0,
        )


def run_arc(ctx: Ctx, groups: list[str]) -> tuple[dict[str, Any], list[Result]]:
    info: dict[str, Any] = {"backend": "", "status": "ok"}
    with contextlib.ExitStack() as stack:
        try:
            url, token, info["backend"] = stack.enter_context(_arc_target(ctx.work))
        except Exception as exc:  # noqa: BLE001 - no Arc: say so and go on
            reason = f"no Arc to run against: {type(exc).__name__}: {exc}"[:400]
            info.update(status="unavailable", reason=reason)
            return info, all_unavailable("arc", ctx.size, groups, reason)
        ctx.env = {
            "MEMTRACE_ARC_URL": url,
            "MEMTRACE_ARC_TOKEN": token,
            "MEMTRACE_ARC_DATABASE": f"bench_{ctx.run_id}",
        }
        data_dir = ctx.work / "arc" / "data"
        results: list[Result] = []
        with memtrace_server(data_dir, ctx.env) as server:
            store = httpx.get(f"{server.url}/ready", timeout=30).json().get("store")
            if store != "arc":
                reason = (
                    f"the server ignored MEMTRACE_ARC_URL (/ready says store={store!r}):"
                    " the Arc store is not wired into memtrace_mcp yet"
                )
                info.update(status="unavailable", reason=reason)
                return info, all_unavailable("arc", ctx.size, groups, reason)
            if any(g in SERVER_GROUPS for g in groups):
                dataset = Dataset(ctx.size)
                started = time.monotonic()
                load_over_api(server.url, server.key, dataset, "Arc data set")
                _wait_backlog(server.url, "Arc data set: backlog drain")
                build_s = time.monotonic() - started
                # The quick smoke test does not wait out Arc's cache horizon (2 min).
                retired_s = (
                    0.0
                    if ctx.size.quick
                    else _wait_retired(data_dir, "Arc data set: journal handed over to Arc")
                )
                spread = "times are the load's own (loaded over the API; the server stamps time)"
                info["dataset"] = _dataset_info(dataset, build_s, data_dir, spread)
                if retired_s:
                    info["dataset"]["journal_retired_after_s"] = round(retired_s, 1)
                ctx.truth, ctx.server = dataset.truth, server
                results += _serve_groups(ctx, groups, info)
                ctx.server = None
        if "mcp_stdio" in groups:
            results += run_group("mcp_stdio", ctx)
        return info, results


def run_store(
    store: str, size: Size, groups: list[str], work: Path, run_id: str, profiler: Profiler | None
) -> tuple[dict[str, Any], list[Result]]:
    ctx = Ctx(store=store, size=size, run_id=run_id, work=work, profiler=profiler)
    return run_embedded(ctx, groups) if store == "embedded" else run_arc(ctx, groups)
