"""Fixtures for the Arc store's own tests (every module here is marked ``arc``)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from memtrace_mcp import ids
from memtrace_mcp.config import Settings
from memtrace_mcp.service import Services
from memtrace_mcp.wiring import build_runtime
from tests.arc_standin.fixtures import ArcServer

from ..support.arc import arc_database, arc_settings  # noqa: F401 (fixture)

# A private stand-in's path caches expire after these (Arc: 30 s and 60 s), so a
# horizon just above their sum lets rows retire from the journal within seconds.
QUICK_CACHES = {"glob_cache_ttl_s": 0.5, "partition_cache_ttl_s": 1.0}
QUICK_HORIZON_S = 2.0


@pytest.fixture
def quick_arc(arc_standin_factory: Callable[..., ArcServer]) -> ArcServer:
    return arc_standin_factory(**QUICK_CACHES)


@pytest.fixture
def quick_settings(quick_arc: ArcServer, tmp_path: Path) -> Settings:
    return arc_settings(quick_arc, tmp_path / "data", "quick", arc_cache_horizon_s=QUICK_HORIZON_S)


@asynccontextmanager
async def opened(
    settings: Settings, clock: Callable[[], int] = ids.next_time_us
) -> AsyncIterator[Services]:
    runtime = build_runtime(settings, clock)
    await runtime.start()
    try:
        yield runtime.services
    finally:
        await runtime.stop()
