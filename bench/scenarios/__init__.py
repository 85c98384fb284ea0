"""The scenario groups. Each module has ``run(ctx) -> list[Result]`` and
``names(size) -> list[str]`` (its scenario names, used to report the whole group
as failed or unavailable when it cannot run)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from ..datasets import Truth
from ..procs import Server, peak_rss_mib
from ..profiling import Profiler
from ..sizes import Size

# Run order on one server: reads see exactly the loaded data set, writes come last.
SERVER_GROUPS = ("reads", "context", "mcp_http", "create_single", "create_batch")
GROUPS = (*SERVER_GROUPS, "mcp_stdio")


@dataclass
class Ctx:
    store: str  # "embedded" | "arc"
    size: Size
    run_id: str
    work: Path
    server: Server | None = None
    truth: Truth = field(default_factory=Truth)
    env: dict[str, str] = field(default_factory=dict)  # server env for this store (Arc settings)
    profiler: Profiler | None = None

    def http(self, timeout: float = 120) -> httpx.Client:
        assert self.server is not None
        return httpx.Client(
            base_url=self.server.url, headers={"x-api-key": self.server.key}, timeout=timeout
        )

    def rss(self) -> float | None:
        return peak_rss_mib(self.server.pid) if self.server else None

    @contextlib.contextmanager
    def profiled(self, label: str, pid: int | None = None) -> Iterator[None]:
        """py-spy on the server while ``label`` runs, when --profile is on."""
        target = pid if pid is not None else (self.server.pid if self.server else None)
        if self.profiler is None or target is None:
            yield
            return
        with self.profiler.record(f"{self.store}-{label}", target):
            yield


def ready(ctx: Ctx) -> dict[str, Any]:
    assert ctx.server is not None
    return dict(httpx.get(f"{ctx.server.url}/ready", timeout=30).json())
