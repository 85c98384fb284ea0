"""The machine a run was on: cores, RAM, CPU model, Python, and how busy it was."""

from __future__ import annotations

import os
import platform
import sqlite3
from pathlib import Path
from typing import Any

from memtrace_mcp import __version__

from .loadgen import wrk_version


def _first(path: str, prefix: str) -> str | None:
    try:
        for line in Path(path).read_text().splitlines():
            if line.startswith(prefix):
                return line.split(":", 1)[1].strip()
    except OSError:
        return None
    return None


def load_average() -> list[float]:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return []


def describe() -> dict[str, Any]:
    mem_kib = _first("/proc/meminfo", "MemTotal")
    return {
        "cores": os.cpu_count(),
        "ram_gib": round(int(mem_kib.split()[0]) / 1024 / 1024, 1) if mem_kib else None,
        "cpu_model": _first("/proc/cpuinfo", "model name") or platform.processor() or "unknown",
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "os": platform.platform(),
        "sqlite": sqlite3.sqlite_version,
        "memtrace_mcp": __version__,
        "wrk": wrk_version(),
        "load_average_at_start": load_average(),
    }
