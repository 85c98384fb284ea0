"""The printed table (Markdown, so it pastes into the README) and the JSON file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .result import Result

_VERDICT_MARK = {"PASS": "PASS", "MISS": "MISS", "n/a": "n/a"}


def _num(value: float | None, digits: int = 1) -> str:
    if value is None:
        return "–"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    return f"{value:.{digits}f}"


def _targets(result: Result) -> str:
    parts = []
    for t in result.targets:
        star = "*" if "note" in t else ""
        parts.append(f"{t['target'].replace(' ', '')} {_VERDICT_MARK[t['verdict']]}{star}")
    return "; ".join(parts)


def table(results: list[Result]) -> str:
    head = [
        "store",
        "scenario",
        "n",
        "throughput",
        "p50 ms",
        "p95 ms",
        "p99 ms",
        "errors",
        "peak RSS MiB",
        "target → verdict",
    ]
    rows = [head, ["---"] * len(head)]
    for r in results:
        if r.status == "unavailable":
            rows.append([r.store, r.scenario, "", "unavailable", "", "", "", "", "", r.reason])
            continue
        lat = r.latency_ms or {}
        unit = r.unit if r.throughput is not None else ""
        verdicts = _targets(r)
        if r.status == "failed":
            verdicts = f"FAILED: {r.failed_checks[0] if r.failed_checks else r.reason}; {verdicts}"
        rows.append(
            [
                r.store,
                r.scenario,
                str(r.requests or ""),
                f"{_num(r.throughput)} {unit}".strip(),
                _num(lat.get("p50"), 2),
                _num(lat.get("p95"), 2),
                _num(lat.get("p99"), 2),
                str(r.errors),
                _num(r.peak_rss_mib),
                verdicts,
            ]
        )
    return "\n".join("| " + " | ".join(row) + " |" for row in rows)


def generators(results: list[Result]) -> str:
    seen = [f"- {r.store} {r.scenario}: {r.generator}" for r in results if r.generator]
    return "Load generators (all in processes other than the server's):\n" + "\n".join(seen)


def header(run: dict[str, Any]) -> str:
    m = run["machine"]
    lines = [
        f"memtrace-mcp bench — size {run['size']}, {run['finished_at']}",
        (
            f"machine: {m['cores']} cores, {m['ram_gib']} GiB RAM, {m['cpu_model']},"
            f" Python {m['python']}, SQLite {m['sqlite']}, {m['wrk']}"
        ),
        (
            f"load average at start {m['load_average_at_start']},"
            f" at end {run['load_average_at_end']} (other work on the machine skews the figures)"
        ),
    ]
    for store, info in run["stores"].items():
        lines.append(
            f"{store}: {info.get('backend', '')} — {info.get('status', '')}"
            + (f": {info['reason']}" if info.get("reason") else "")
        )
        if ds := info.get("dataset"):
            lines.append(
                f"  data set: {ds['memories']:,} memories at rest ({ds['agents']} agents,"
                f" {ds['sessions']:,} sessions, {ds['time_spread']}), built in {ds['build_s']}s;"
                f" data dir {ds['data_dir_mib']} MiB"
                f" = {ds['kib_per_1k_memories']} KiB per 1k memories"
                + (
                    f"; search index built in {ds['search_index_s']}s"
                    f" ({ds['search_index_per_s']:,} memories/s)"
                    if ds.get("search_index_per_s")
                    else ""
                )
                + (
                    f"; reads ran after the journal was handed to Arc"
                    f" ({ds['journal_retired_after_s']}s after the drain)"
                    if ds.get("journal_retired_after_s")
                    else ""
                )
            )
    return "\n".join(lines)


def footer() -> str:
    return (
        "PASS/MISS are informational (the bench never fails on timing); * = target set for"
        " another size (1M memories) than this run's."
    )


def render(run: dict[str, Any], results: list[Result]) -> str:
    return "\n\n".join([header(run), table(results), footer(), generators(results)])


def write_json(path: Path, run: dict[str, Any], results: list[Result]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    doc = {**run, "results": [r.to_json() for r in results]}
    path.write_text(json.dumps(doc, indent=2, default=str) + "\n")
