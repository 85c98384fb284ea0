"""The store contract suite runs once per backend: every test here takes
``services`` built over the backend named by the ``backend`` parameter."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from memtrace_mcp.config import Settings
from memtrace_mcp.service import Services
from memtrace_mcp.wiring import open_services

BACKENDS = ["sqlite"]


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def backend_settings(backend: str, tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data")


@pytest.fixture
async def services(backend_settings: Settings) -> AsyncIterator[Services]:
    async with open_services(backend_settings) as opened:
        yield opened
