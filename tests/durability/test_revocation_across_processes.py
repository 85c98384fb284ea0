"""A running server caches the keys it has checked; a revocation made by another
process (the CLI, a second server) must still refuse the key on its next request."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import httpx

from tests.support.server import start_server


def _cli(data_dir: Path, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "memtrace_mcp", *args, "--data-dir", str(data_dir)],
        capture_output=True, text=True, check=True, timeout=60,
    )
    return done.stdout


def _list_memories(url: str, key: str) -> int:
    return httpx.get(f"{url}/api/v1/memories", headers={"x-api-key": key}, timeout=10).status_code


def test_a_key_revoked_by_the_cli_is_refused_by_a_running_server_on_its_next_request(
    tmp_path: Path,
) -> None:
    server = start_server(tmp_path / "data")
    try:
        created = json.loads(
            _cli(server.data_dir, "keys", "create", "--name", "cli-revoked", "--json")
        )
        for _ in range(3):  # checked, then served from the server's cache
            assert _list_memories(server.url, created["key"]) == 200
        _cli(server.data_dir, "keys", "revoke", created["id"])
        assert _list_memories(server.url, created["key"]) == 401
    finally:
        server.stop()


def test_a_key_revoked_through_one_server_is_refused_by_another_at_once(tmp_path: Path) -> None:
    first = start_server(tmp_path / "shared")
    second = start_server(tmp_path / "shared")
    try:
        assert first.admin_key is not None
        admin = {"x-api-key": first.admin_key}
        created = httpx.post(
            f"{first.url}/api/v1/keys", json={"name": "short-lived"}, headers=admin, timeout=10
        ).json()
        for server in (first, second, second):
            assert _list_memories(server.url, created["key"]) == 200
        revoked = httpx.delete(f"{first.url}/api/v1/keys/{created['id']}", headers=admin, timeout=10)
        assert revoked.status_code == 204
        assert _list_memories(second.url, created["key"]) == 401
        assert _list_memories(first.url, created["key"]) == 401
        # The other keys are unaffected: entries are re-checked, not lost.
        assert _list_memories(second.url, first.admin_key) == 200
    finally:
        first.stop()
        second.stop()
