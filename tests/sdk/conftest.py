"""The published ``memtrace-sdk`` 0.2.0 against a real ``memtrace-mcp serve``.

One server per module keeps the suite fast; every test works under agent and session
names of its own (``names``), so tests never see each other's data."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from ..support.server import ServerProcess, start_server


@pytest.fixture(scope="module")
def sdk_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    proc = start_server(Path(tmp_path_factory.mktemp("sdk")) / "data")
    assert proc.admin_key, proc.log()
    try:
        yield proc
    finally:
        proc.stop()


class Names:
    """Unique names for one test: ``names.agent`` , ``names("x")``."""

    def __init__(self) -> None:
        self.tag = uuid.uuid4().hex[:10]
        self.agent = f"agent-{self.tag}"

    def __call__(self, prefix: str) -> str:
        return f"{prefix}-{self.tag}"


@pytest.fixture
def names() -> Names:
    return Names()
