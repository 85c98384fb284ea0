"""Scenario 2: batch create, 1000 memories per request, two connections, bodies
built before the clock starts. For Arc, also the rate the shipper drains the
backlog into Arc: ``/ready``'s ``backlog`` is polled until it reaches 0.
"""

from __future__ import annotations

import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx

from ..datasets import Dataset
from ..progress import Progress
from ..result import Result, summarize
from ..sizes import Size
from . import Ctx

BATCH = 1_000
CONNS = 2
DRAIN_DEADLINE_S = 900.0


def names(_size: Size) -> list[str]:
    return ["create_batch"]


class BacklogWatch(threading.Thread):
    """Polls ``/ready`` every 50 ms: (monotonic time, backlog) samples."""

    def __init__(self, url: str) -> None:
        super().__init__(daemon=True)
        self.url = url
        self.samples: list[tuple[float, int]] = []
        self.stopping = threading.Event()

    def run(self) -> None:
        with httpx.Client(timeout=10) as http:
            while not self.stopping.is_set():
                try:
                    body = http.get(f"{self.url}/ready").json()
                    self.samples.append((time.monotonic(), int(body.get("backlog", 0))))
                except (httpx.HTTPError, ValueError):
                    pass
                self.stopping.wait(0.05)

    def backlog(self) -> int:
        return self.samples[-1][1] if self.samples else 0


def _bodies(ctx: Ctx) -> list[bytes]:
    count = ctx.size.batch_requests * BATCH
    dataset = Dataset(
        ctx.size, memories=count, context_sessions=(), seed=int(ctx.run_id[:6], 16), seq_base=10**9
    )
    return [
        json.dumps({"memories": [i.body() for i in chunk]}).encode()
        for chunk in dataset.chunks(BATCH)
    ]


def run(ctx: Ctx) -> list[Result]:
    assert ctx.server is not None
    bodies = _bodies(ctx)
    result = Result(
        "create_batch",
        ctx.store,
        unit="memories/s",
        generator=f"httpx, {CONNS} connections, {BATCH} memories per request (pre-built bodies)",
    )
    latencies: list[float] = []
    stored = 0
    lock = threading.Lock()
    watch = BacklogWatch(ctx.server.url)
    if ctx.store == "arc":  # the embedded store has no backlog
        watch.start()

    def send(http: httpx.Client, body: bytes) -> None:
        nonlocal stored
        t0 = time.perf_counter()
        answer = http.post(
            "/api/v1/memories", content=body, headers={"content-type": "application/json"}
        )
        elapsed = time.perf_counter() - t0
        with lock:
            if answer.status_code != 201:
                result.errors += 1
                result.fail(f"HTTP {answer.status_code}: {answer.text[:200]}")
                return
            got: dict[str, Any] = answer.json()
            latencies.append(elapsed)
            stored += got["count"]
            if got["count"] != BATCH or got["duplicates"]:
                result.fail(
                    f"stored {got['count']} of {BATCH}, {len(got['duplicates'])} duplicates"
                )
            bar.advance(BATCH)

    clients = [ctx.http(timeout=300) for _ in range(CONNS)]
    try:
        with (
            Progress(f"{ctx.store} create_batch", len(bodies) * BATCH, "memories") as bar,
            ctx.profiled("create_batch"),
        ):
            started = time.monotonic()
            with ThreadPoolExecutor(CONNS) as pool:
                list(pool.map(lambda ib: send(clients[ib[0] % CONNS], ib[1]), enumerate(bodies)))
            acked = time.monotonic()
        result.requests = len(bodies)
        result.throughput = round(stored / (acked - started), 1)
        result.latency_ms = summarize(latencies)
        result.extra = {"memories": stored, "requests": len(bodies)}
        if ctx.store == "arc":
            _drain(ctx, result, watch, started, acked, stored)
    finally:
        watch.stopping.set()
        if watch.is_alive():
            watch.join(timeout=5)
        for client in clients:
            client.close()
    result.peak_rss_mib = ctx.rss()
    return [result]


def _drain(
    ctx: Ctx, result: Result, watch: BacklogWatch, started: float, acked: float, stored: int
) -> None:
    """Wait for the backlog to reach 0; record how fast it got there."""
    time.sleep(0.2)
    at_ack = next((b for t, b in reversed(watch.samples) if t <= acked), watch.backlog())
    peak = max((b for _, b in watch.samples), default=0)
    with Progress(f"{ctx.store} backlog drain", max(at_ack, 1), "memories") as bar:
        deadline = time.monotonic() + DRAIN_DEADLINE_S
        while watch.backlog() > 0 and time.monotonic() < deadline:
            bar.set(max(at_ack - watch.backlog(), 0))
            time.sleep(0.05)
    drained = next((t for t, b in watch.samples if t >= acked and b == 0), None)
    if drained is None:
        result.fail(f"backlog still {watch.backlog()} after {DRAIN_DEADLINE_S:.0f}s")
        return
    result.extra.update(
        {
            "backlog_peak": peak,
            "backlog_at_last_ack": at_ack,
            "drain_s_after_last_ack": round(drained - acked, 3),
            # Memories acknowledged and shipped, per second, from the first request on.
            "end_to_end_per_s": round(stored / (drained - started), 1),
            # The backlog left at the last acknowledgement over the time to empty it.
            "drain_per_s": round(at_ack / (drained - acked), 1)
            if at_ack and drained > acked
            else None,
        }
    )
