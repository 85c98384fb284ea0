"""Load generators for the write scenarios: ``wrk`` with a Lua script (light on
CPU, as the issue asks for a 2-core machine), and a Python fallback for machines
without wrk. Either way the figure names the generator beside it.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from .procs import die_with_parent
from .result import summarize

LUA_CREATE = Path(__file__).parent / "wrk" / "create.lua"


def wrk_path() -> str | None:
    return shutil.which("wrk")


def wrk_version() -> str:
    path = wrk_path()
    if path is None:
        return "not installed"
    out = subprocess.run([path, "-v"], check=False, capture_output=True, text=True, timeout=10)
    return (out.stdout + out.stderr).splitlines()[0].strip()


def run_wrk(
    url: str, key: str, run_id: str, seconds: int, *, threads: int = 2, conns: int = 16
) -> dict[str, Any]:
    """``wrk -tT -cC -dSs`` with the create script; its BENCH_JSON summary."""
    path = wrk_path()
    assert path is not None
    argv = [
        path,
        f"-t{threads}",
        f"-c{conns}",
        f"-d{seconds}s",
        "--timeout",
        "10s",
        "-s",
        str(LUA_CREATE),
        url,
    ]
    env = {**os.environ, "MEMTRACE_BENCH_KEY": key, "MEMTRACE_BENCH_RUN": run_id}
    done = subprocess.run(
        argv,
        check=False,
        capture_output=True,
        text=True,
        env=env,
        timeout=seconds + 60,
        preexec_fn=die_with_parent,  # one C call (procs.py)
    )
    for line in done.stdout.splitlines():
        if line.startswith("BENCH_JSON "):
            summary: dict[str, Any] = json.loads(line.removeprefix("BENCH_JSON "))
            summary["stderr"] = done.stderr[-2000:]
            summary["argv"] = " ".join(argv[:-4] + ["create.lua", url])
            return summary
    raise RuntimeError(f"wrk printed no summary (exit {done.returncode}): {done.stderr[-2000:]}")


def run_python(
    url: str, key: str, seconds: float, conns: int, body: Callable[[int], dict[str, Any]]
) -> dict[str, Any]:
    """The fallback: ``conns`` asyncio workers over httpx for ``seconds``."""

    async def main() -> dict[str, Any]:
        latencies: list[float] = []
        non2xx = errors = 0
        counter = 0
        deadline = time.perf_counter() + seconds
        limits = httpx.Limits(max_connections=conns)
        async with httpx.AsyncClient(
            base_url=url, headers={"x-api-key": key}, limits=limits, timeout=10
        ) as http:

            async def worker() -> None:
                nonlocal non2xx, errors, counter
                while time.perf_counter() < deadline:
                    counter += 1
                    payload = body(counter)
                    t0 = time.perf_counter()
                    try:
                        answer = await http.post("/api/v1/memories", json=payload)
                    except httpx.HTTPError:
                        errors += 1
                        continue
                    latencies.append(time.perf_counter() - t0)
                    non2xx += not 200 <= answer.status_code < 300

            started = time.perf_counter()
            await asyncio.gather(*(worker() for _ in range(conns)))
            elapsed = time.perf_counter() - started
        lat = summarize(latencies)
        return {
            "requests": len(latencies) + errors,
            "duration_us": int(elapsed * 1e6),
            "non2xx": non2xx,
            "connect": 0,
            "read": errors,
            "write": 0,
            "timeout": 0,
            "status": non2xx,
            "p50_us": lat["p50"] * 1000,
            "p95_us": lat["p95"] * 1000,
            "p99_us": lat["p99"] * 1000,
            "max_us": lat["max"] * 1000,
            "mean_us": lat["mean"] * 1000,
            "argv": f"python httpx, {conns} connections",
        }

    return asyncio.run(main())
