"""The targets of issue 6, and the PASS/MISS verdict of each figure against them.

Informational only: the bench never fails on timing. A target set for a size
(``at``) is still compared at other sizes, and the verdict says so.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .result import Result


@dataclass(frozen=True)
class Target:
    store: str  # "embedded" | "arc"
    scenario: str
    metric: str  # "throughput", "p50", "p95", "p99", "peak_rss_mib", or an ``extra`` key
    op: str  # ">=" or "<="
    value: float
    unit: str
    at: str = ""  # the size the issue sets it for ("1m", "5k memories"), "" for any


_LIST = ("list_by_agent", "list_by_session", "list_by_tag")
_FILTERED = ("search_time_window", "search_min_importance")
_CONTAINS = ("search_contains_rare", "search_contains_common")

TARGETS: tuple[Target, ...] = (
    # Embedded store
    Target("embedded", "create_batch", "throughput", ">=", 50_000, "memories/s"),
    Target("embedded", "create_single", "throughput", ">=", 2_500, "req/s"),
    Target("embedded", "create_single", "p99", "<=", 50, "ms"),
    *(Target("embedded", s, "p95", "<=", 20, "ms", "1m") for s in _LIST + _FILTERED),
    *(Target("embedded", s, "p95", "<=", 50, "ms", "1m") for s in _CONTAINS),
    Target("embedded", "get_by_id", "p95", "<=", 5, "ms", "1m"),
    Target("embedded", "context_10k", "p95", "<=", 30, "ms"),
    Target("embedded", "mcp_stdio_start", "p50", "<=", 1_000, "ms"),
    Target("embedded", "mcp_stdio_store", "p50", "<=", 1.5, "ms"),
    Target("embedded", "mcp_stdio_search", "p50", "<=", 3, "ms", "5k memories"),
    Target("embedded", "mcp_stdio_search", "peak_rss_mib", "<=", 120, "MiB", "5k memories"),
    Target("embedded", "http_server", "peak_rss_mib", "<=", 300, "MiB", "1m"),
    # Arc store (the floor: a real Arc v26.06.3 on 2 cores, at 1M memories)
    Target("arc", "create_batch", "throughput", ">=", 50_000, "memories/s"),
    Target("arc", "create_batch", "drain_per_s", ">=", 100_000, "memories/s"),
    *(Target("arc", s, "p95", "<=", 80, "ms", "1m") for s in _LIST),
    *(Target("arc", s, "p95", "<=", 400, "ms", "1m") for s in _CONTAINS),
    Target("arc", "get_by_id", "p95", "<=", 10, "ms", "1m"),
    Target("arc", "context_1k", "p95", "<=", 80, "ms", "1m"),
)


def _value(result: Result, metric: str) -> float | None:
    if metric == "throughput":
        return result.throughput
    if metric == "peak_rss_mib":
        return result.peak_rss_mib
    if metric in ("p50", "p95", "p99"):
        return (result.latency_ms or {}).get(metric)
    value = result.extra.get(metric)
    return float(value) if isinstance(value, int | float) else None


def judge(result: Result, size: str) -> None:
    """Attach each applicable target and its verdict to ``result``."""
    for t in TARGETS:
        if t.store != result.store or t.scenario != result.scenario:
            continue
        value = _value(result, t.metric) if result.status == "ok" else None
        if value is None:
            verdict = "n/a"
        else:
            met = value >= t.value if t.op == ">=" else value <= t.value
            verdict = "PASS" if met else "MISS"
        entry: dict[str, Any] = {
            "metric": t.metric,
            "target": f"{t.metric} {t.op} {t.value:g} {t.unit}",
            "value": value,
            "verdict": verdict,
            "set_for": t.at or "any size",
        }
        if t.at == "1m" and size != "1m":
            entry["note"] = f"target set for 1M memories; this run is {size}"
        result.targets.append(entry)
