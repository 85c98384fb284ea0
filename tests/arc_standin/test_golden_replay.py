"""Fidelity proof: every recorded exchange with a real Arc v26.06.3 replays identically.

One stand-in per recorded server profile (main, slow, nodelete) is started, the whole
file is replayed once in recorded order (later cases depend on earlier writes), and
each case is then its own test. Cases in ``expected_failures.txt`` must still fail.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from .fixtures import ArcServer, start_standin
from .golden import (
    GOLDEN_DIR,
    PROFILES,
    Exchange,
    Replayer,
    compare,
    load_exchanges,
    load_expected_failures,
)

pytestmark = pytest.mark.arc

GOLDEN_FILE = GOLDEN_DIR / "exchanges.jsonl"
EXCHANGES: list[Exchange] = load_exchanges(GOLDEN_FILE)  # missing recordings fail, never skip
EXPECTED_FAILURES = load_expected_failures()
# What memtrace's Arc client relies on; none of it may be excused.
CLIENT_CRITICAL_GROUPS = {"health", "query", "write", "visibility", "partition_cache", "delete"}


@pytest.fixture(scope="module")
def golden_outcomes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, list[str]]]:
    base = tmp_path_factory.mktemp("golden")
    token = "golden-admin-token-for-the-arc-standin-replay"

    def start(profile: str) -> ArcServer:
        return start_standin(base / profile, PROFILES[profile], admin_token=token)

    with ThreadPoolExecutor(len(PROFILES)) as pool:
        servers = dict(zip(PROFILES, pool.map(start, PROFILES), strict=True))
    clients = {
        name: httpx.Client(base_url=server.url, timeout=60) for name, server in servers.items()
    }
    try:
        roots = {name: str(server.data_dir) for name, server in servers.items()}
        yield Replayer(clients, roots, {"admin": token}).replay_all(EXCHANGES)
    finally:
        for client in clients.values():
            client.close()
        for server in servers.values():
            server.terminate()


@pytest.mark.parametrize("case", [e.case for e in EXCHANGES])
def test_recorded_exchange_gets_the_recorded_answer(
    case: str, golden_outcomes: dict[str, list[str]]
) -> None:
    differences = golden_outcomes[case]
    if case in EXPECTED_FAILURES:
        assert differences, f"{case} now replays identically: remove it from expected_failures.txt"
    else:
        assert not differences, f"{case}:\n" + "\n".join(differences)


def test_expected_failures_name_recorded_cases_only() -> None:
    assert set(EXPECTED_FAILURES) <= {e.case for e in EXCHANGES}


def test_no_case_the_client_depends_on_is_excused() -> None:
    critical = {e.case for e in EXCHANGES if e.group in CLIENT_CRITICAL_GROUPS}
    assert not set(EXPECTED_FAILURES) & critical


def test_comparison_reports_a_body_that_differs_from_the_recording() -> None:
    exchange = next(e for e in EXCHANGES if e.case == "q_count")
    altered = dict(exchange.response["body"], data=[[8]])
    response = httpx.Response(200, json=altered)
    assert any("body differs" in d for d in compare(exchange, response, "/nowhere", 0.0))


def test_comparison_reports_a_different_status_and_content_type() -> None:
    exchange = next(e for e in EXCHANGES if e.case == "write_columnar_ok")
    differences = compare(exchange, httpx.Response(200, json={}), str(Path("/nowhere")), 0.0)
    assert any(d.startswith("status") for d in differences)
    assert any(d.startswith("content-type") for d in differences)
