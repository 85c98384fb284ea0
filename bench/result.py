"""One measured figure set, and the timing helpers that fill it."""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

Status = Literal["ok", "failed", "unavailable"]
MAX_CHECK_MESSAGES = 5
BUDGET_S = 90.0  # longest a sequential latency scenario runs


@dataclass
class Result:
    scenario: str
    store: str
    status: Status = "ok"
    generator: str = ""
    unit: str = "req/s"
    throughput: float | None = None
    requests: int = 0
    errors: int = 0
    latency_ms: dict[str, float] | None = None
    peak_rss_mib: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    failed_checks: list[str] = field(default_factory=list)
    reason: str = ""
    targets: list[dict[str, Any]] = field(default_factory=list)

    def fail(self, message: str) -> None:
        """Record a wrong answer; the scenario fails, the run goes on."""
        self.status = "failed"
        if len(self.failed_checks) < MAX_CHECK_MESSAGES:
            self.failed_checks.append(message)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def unavailable(scenario: str, store: str, reason: str) -> Result:
    return Result(scenario, store, status="unavailable", reason=reason)


def percentile(sorted_values: Sequence[float], p: float) -> float:
    """Nearest-rank percentile of an ascending sequence."""
    if not sorted_values:
        return 0.0
    rank = max(1, math.ceil(p / 100 * len(sorted_values)))
    return sorted_values[min(rank, len(sorted_values)) - 1]


def summarize(latencies_s: Sequence[float]) -> dict[str, float]:
    ms = sorted(v * 1000 for v in latencies_s)
    if not ms:
        return {"p50": 0.0, "p95": 0.0, "p99": 0.0, "max": 0.0, "mean": 0.0}
    return {
        "p50": round(percentile(ms, 50), 3),
        "p95": round(percentile(ms, 95), 3),
        "p99": round(percentile(ms, 99), 3),
        "max": round(ms[-1], 3),
        "mean": round(sum(ms) / len(ms), 3),
    }


def sequential(
    result: Result,
    n: int,
    call: Callable[[int], str | None],
    *,
    warmup: int = 3,
    progress: Callable[[], None] | None = None,
    budget_s: float = BUDGET_S,
) -> None:
    """Time ``n`` calls one after another (closed loop, one in flight) into
    ``result``, stopping early once ``budget_s`` has passed (a pathologically slow
    query must not hold a 1M run for hours; ``requests`` says how many ran). A call
    returns None when its answer is right, or what was wrong; an exception counts
    as an error."""
    for i in range(warmup):
        with contextlib.suppress(Exception):  # a failing call shows up in the timed calls
            call(-1 - i)
    latencies: list[float] = []
    started = time.perf_counter()
    done = 0
    for i in range(n):
        if time.perf_counter() - started > budget_s:
            result.extra["stopped_after_s"] = budget_s
            break
        done += 1
        t0 = time.perf_counter()
        try:
            wrong = call(i)
        except Exception as exc:  # noqa: BLE001 - counted and reported, the run goes on
            result.errors += 1
            result.fail(f"request {i}: {type(exc).__name__}: {exc}"[:300])
            continue
        latencies.append(time.perf_counter() - t0)
        if wrong is not None:
            result.fail(f"request {i}: {wrong}"[:300])
        if progress is not None:
            progress()
    elapsed = time.perf_counter() - started
    result.requests = done
    result.throughput = round(len(latencies) / elapsed, 1) if elapsed > 0 else 0.0
    result.latency_ms = summarize(latencies)
