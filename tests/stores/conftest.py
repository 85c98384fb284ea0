"""The store contract suite runs once per backend: every test here takes
``services`` built over the backend named by the ``backend`` parameter.

``arc`` is the Arc store on the Arc stand-in, or on a real Arc when
``MEMTRACE_TEST_ARC_URL`` and ``MEMTRACE_TEST_ARC_TOKEN`` are set; its tests carry
the ``arc`` marker, so ``pytest -m arc`` runs exactly them."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from memtrace_mcp.config import Settings
from memtrace_mcp.service import Services
from memtrace_mcp.wiring import open_services

from ..support.arc import arc_database, arc_settings  # noqa: F401 (fixture)

BACKENDS = ["sqlite", pytest.param("arc", marks=pytest.mark.arc)]


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def backend_settings(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> Settings:
    if backend == "arc":
        arc = request.getfixturevalue("arc_standin")
        database = request.getfixturevalue("arc_database")
        return arc_settings(arc, tmp_path / "data", database)
    return Settings(data_dir=tmp_path / "data")


@pytest.fixture
async def services(backend_settings: Settings) -> AsyncIterator[Services]:
    async with open_services(backend_settings) as opened:
        yield opened
