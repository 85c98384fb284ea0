"""Behaviour of the stand-in as a process and its configurable Arc traps, beyond the
golden recordings: signals, restarts, crashes, caches, timeouts and tokens."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable

import httpx
import msgpack
import pytest

from .fixtures import REPO_ROOT, ArcServer

pytestmark = pytest.mark.arc

H10 = 1_768_471_200_000_000  # 2026-01-15T10:00:00Z in µs
H11 = H10 + 3_600_000_000
Factory = Callable[..., ArcServer]


def _client(server: ArcServer, token: str | None = None, timeout: float = 10) -> httpx.Client:
    auth = {"Authorization": f"Bearer {token or server.admin_token}"}
    return httpx.Client(base_url=server.url, headers=auth, timeout=timeout)


def _write(
    client: httpx.Client, db: str, columns: dict[str, list[object]], m: str = "memories"
) -> httpx.Response:
    body = msgpack.packb({"m": m, "columns": columns})
    return client.post("/api/v1/write/msgpack", content=body, headers={"x-arc-database": db})


def _query(client: httpx.Client, db: str, sql: str) -> httpx.Response:
    return client.post("/api/v1/query", json={"sql": sql}, headers={"x-arc-database": db})


def _ids(response: httpx.Response) -> list[str]:
    assert response.status_code == 200, response.text
    return [row[0] for row in response.json()["data"]]


def test_flushed_rows_land_in_hour_directories_as_parquet(arc_standin_factory: Factory) -> None:
    server = arc_standin_factory(max_buffer_age_ms=600_000)
    with _client(server) as client:
        assert (
            _write(client, "layout", {"time": [H10, H11], "memory_id": ["a", "b"]}).status_code
            == 204
        )
        server.flush()
    assert server.data_dir is not None
    for hour in ("10", "11"):
        files = list(
            (server.data_dir / "layout" / "memories" / "2026" / "01" / "15" / hour).glob(
                "*.parquet"
            )
        )
        assert len(files) == 1 and files[0].name.startswith("memories_2026")


def test_sigterm_flushes_buffered_rows_before_exit(arc_standin_factory: Factory) -> None:
    server = arc_standin_factory(max_buffer_age_ms=600_000)
    with _client(server) as client:
        _write(client, "term", {"time": [H10], "memory_id": ["kept"]})
    server.restart(graceful=True)
    with _client(server) as client:
        assert _ids(_query(client, "term", "SELECT memory_id FROM memories")) == ["kept"]


def test_sigkill_loses_buffered_rows(arc_standin_factory: Factory) -> None:
    server = arc_standin_factory(max_buffer_age_ms=600_000)
    with _client(server) as client:
        _write(client, "killed", {"time": [H10], "memory_id": ["lost"]})
    server.restart(graceful=False)
    with _client(server) as client:
        answer = _query(client, "killed", "SELECT memory_id FROM memories").json()
    assert answer["columns"] == [] and answer["data"] == []


def test_tokens_survive_a_restart(arc_standin_factory: Factory) -> None:
    server = arc_standin_factory()
    reader = server.create_token("reader", ["read"])
    server.restart()
    with _client(server, reader) as client:
        assert client.get("/api/v1/auth/verify").json()["permissions"] == ["read"]


def test_sigstop_freezes_requests_until_sigcont(arc_standin_factory: Factory) -> None:
    server = arc_standin_factory()
    server.stop()
    try:
        with pytest.raises(httpx.ReadTimeout):
            httpx.get(f"{server.url}/health", timeout=httpx.Timeout(5, read=0.3))
    finally:
        server.cont()
    assert httpx.get(f"{server.url}/health", timeout=5).status_code == 200


def test_background_flush_of_an_empty_column_name_kills_the_process(
    arc_standin_factory: Factory,
) -> None:
    server = arc_standin_factory(max_buffer_age_ms=50)
    with _client(server) as client:
        assert _write(client, "poison", {"time": [H10], "": [1]}).status_code == 204
    assert server.process is not None
    assert server.process.exit_code(timeout_s=10) == 2  # like Arc's unrecovered Go panic
    assert "index out of range" in server.process.log_tail()


def test_the_crash_can_be_turned_off_and_the_poison_batch_is_dropped(
    arc_standin_factory: Factory,
) -> None:
    server = arc_standin_factory(max_buffer_age_ms=50, crash_on_background_panic=False)
    with _client(server) as client:
        _write(client, "poison", {"time": [H10], "": [1], "v": [2]})
        _write(client, "poison", {"time": [H10], "v": [3]}, m="healthy")
        deadline = time.monotonic() + 10
        while not (rows := _query(client, "poison", "SELECT v FROM healthy").json()["data"]):
            assert time.monotonic() < deadline
            time.sleep(0.02)  # waiting for the 50 ms background flush, bounded
        assert rows == [[3]]
        assert _query(client, "poison", "SELECT count(*) FROM empty_name").json()["columns"] == []


def test_time_bounded_queries_miss_a_new_hour_while_the_glob_cache_lasts(
    arc_standin_factory: Factory,
) -> None:
    server = arc_standin_factory(max_buffer_age_ms=600_000)
    sql = "SELECT memory_id FROM memories WHERE time >= '2026-01-15T00:00:00Z' ORDER BY memory_id"
    with _client(server) as client:
        _write(client, "trap", {"time": [H10], "memory_id": ["a"]})
        server.flush()
        assert _ids(_query(client, "trap", sql)) == ["a"]
        _write(client, "trap", {"time": [H11], "memory_id": ["b"]})
        server.flush()
        assert _ids(_query(client, "trap", sql)) == ["a"]  # stale, as on Arc
        assert _ids(
            _query(client, "trap", "SELECT memory_id FROM memories ORDER BY memory_id")
        ) == ["a", "b"]


def test_turning_the_path_caches_off_makes_time_bounded_queries_fresh(
    arc_standin_factory: Factory,
) -> None:
    server = arc_standin_factory(
        max_buffer_age_ms=600_000, glob_cache_ttl_s=0, partition_cache_ttl_s=0
    )
    sql = "SELECT memory_id FROM memories WHERE time >= '2026-01-15T00:00:00Z' ORDER BY memory_id"
    with _client(server) as client:
        _write(client, "fresh", {"time": [H10], "memory_id": ["a"]})
        server.flush()
        assert _ids(_query(client, "fresh", sql)) == ["a"]
        _write(client, "fresh", {"time": [H11], "memory_id": ["b"]})
        server.flush()
        assert _ids(_query(client, "fresh", sql)) == ["a", "b"]


def test_a_query_running_past_the_timeout_answers_504(arc_standin_factory: Factory) -> None:
    server = arc_standin_factory(query_timeout_s=0.2)
    with _client(server) as client:
        answer = client.post(
            "/api/v1/query", json={"sql": "SELECT count(*) FROM range(1000000000000) t(i)"}
        )
    assert answer.status_code == 504
    assert answer.json()["error"] == "Query timed out"


def test_read_only_and_write_only_tokens_are_held_to_their_permission(
    arc_standin: ArcServer,
) -> None:
    reader = arc_standin.create_token("test-reader", ["read"])
    writer = arc_standin.create_token("test-writer", ["write"])
    with _client(arc_standin, reader) as client:
        assert _query(client, "perm", "SELECT 1 AS one").status_code == 200
        assert _write(client, "perm", {"time": [H10], "v": [1]}).status_code == 403
    with _client(arc_standin, writer) as client:
        assert _write(client, "perm", {"time": [H10], "v": [1]}).status_code == 204
        assert _query(client, "perm", "SELECT 1 AS one").status_code == 403


def test_process_helpers_skip_when_the_server_is_a_real_arc() -> None:
    real = ArcServer("http://arc.example:8000", "token")
    with pytest.raises(pytest.skip.Exception, match="real Arc"):
        real.kill()


def test_cli_refuses_an_admin_token_shorter_than_arc_allows(tmp_path) -> None:  # type: ignore[no-untyped-def]
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "tests.arc_standin",
            "--data-dir",
            str(tmp_path),
            "--token",
            "short",
        ],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "at least 32 characters" in done.stderr
