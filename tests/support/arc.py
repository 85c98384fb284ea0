"""Settings for a memtrace whose memories go to an Arc: the stand-in, or a real Arc
given by ``MEMTRACE_TEST_ARC_URL`` / ``MEMTRACE_TEST_ARC_TOKEN`` (see
``tests/arc_standin/fixtures.py``). Each test gets a database of its own."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from memtrace_mcp.config import Settings
from tests.arc_standin.fixtures import ArcServer


def arc_settings(arc: ArcServer, data_dir: Path, database: str, **overrides: object) -> Settings:
    """Quick to notice an outage and to ship: tests wait on conditions, not clocks."""
    values: dict[str, object] = {
        "data_dir": data_dir,
        "arc_url": arc.url,
        "arc_token": arc.admin_token,
        "arc_database": database,
        "arc_timeout_s": 3.0,
        "arc_read_timeout_s": 2.0,
        "arc_flush_interval_ms": 50,
        **overrides,
    }
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


def arc_env(arc: ArcServer, database: str, **extra: str) -> dict[str, str]:
    """The same, as a ``memtrace-mcp serve`` process's environment."""
    return {
        "MEMTRACE_ARC_URL": arc.url,
        "MEMTRACE_ARC_TOKEN": arc.admin_token,
        "MEMTRACE_ARC_DATABASE": database,
        "MEMTRACE_ARC_TIMEOUT_S": "3",
        "MEMTRACE_ARC_READ_TIMEOUT_S": "2",
        "MEMTRACE_ARC_FLUSH_INTERVAL_MS": "50",
        **extra,
    }


@pytest.fixture
def arc_database(arc_standin: ArcServer) -> Iterator[str]:
    """A fresh database name; dropped afterwards on a real Arc (best effort)."""
    name = f"mt_test_{secrets.token_hex(6)}"
    yield name
    if not arc_standin.is_standin:
        try:
            httpx.delete(
                f"{arc_standin.url}/api/v1/databases/{name}",
                params={"confirm": "true"},
                headers={"Authorization": f"Bearer {arc_standin.admin_token}"},
                timeout=30,
            )
        except httpx.HTTPError:
            pass
