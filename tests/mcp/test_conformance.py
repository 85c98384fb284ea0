"""The MCP conformance suite (pinned) against /mcp of a real ``memtrace-mcp serve``.

The suite cannot send an API key, so it talks to the server through
``tests/support/key_proxy.py``, which adds one key to each request and changes
nothing else: the server under test keeps its gate, Host/Origin checks included.
Scenarios that need the reference server's demo tools, or features we do not
offer, are listed with reasons in ``conformance-expected-failures.yml``; the
suite fails on any other failure and on listed entries that start to pass.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import anyio
import pytest

from tests.support.key_proxy import key_proxy
from tests.support.node import CONFORMANCE, NodeTool, tool
from tests.support.server import ServerProcess

from .http_support import Tenant

BASELINE = Path(__file__).with_name("conformance-expected-failures.yml")
DEADLINE_S = 300

# Scenarios that must run and pass whole in each mode: the protocol itself.
RUNS = {
    "handshake-era": ([], {
        "server-initialize", "server-session-lifecycle", "ping", "tools-list",
        "server-sse-multiple-streams", "resources-list", "prompts-list",
        "dns-rebinding-protection",
    }),
    "2026-07-28": (["--requirements", "2026-07-28"], {
        "tools-list", "caching", "sep-2164-resource-not-found", "http-header-validation",
        "dns-rebinding-protection", "resources-list",
    }),
}


@pytest.fixture(scope="module")
def conformance() -> NodeTool:
    return tool(CONFORMANCE)


def verdicts(results: Path) -> dict[str, set[str]]:
    """scenario -> statuses of its checks, from the suite's checks.json files."""
    found: dict[str, set[str]] = {}
    for checks in results.glob("server-*/checks.json"):
        match = re.match(r"^server-(.+)-\d{4}-\d\d-\d\dT", checks.parent.name)
        assert match, checks.parent.name
        scenario = match.group(1)
        found[scenario] = {check["status"] for check in json.loads(checks.read_text())}
    return found


@pytest.mark.parametrize("run", list(RUNS))
async def test_conformance_suite_passes_apart_from_the_listed_expected_failures(
    conformance: NodeTool, http_server: ServerProcess, tenant: Tenant, tmp_path: Path, run: str
) -> None:
    extra, must_pass = RUNS[run]
    results = tmp_path / "results"
    async with key_proxy(http_server.url, tenant.admin_key, tmp_path / "proxy.log") as proxy:
        argv = conformance.argv(
            "server", "--url", f"{proxy}/mcp", *extra,
            "--expected-failures", str(BASELINE), "-o", str(results),
        )
        env = {"HOME": str(tmp_path), "PATH": f"{conformance.node.parent}:/usr/bin:/bin"}
        with anyio.fail_after(DEADLINE_S):
            done = await anyio.run_process(argv, env=env, check=False)
    output = done.stdout.decode() + done.stderr.decode()
    assert done.returncode == 0, output[-4000:]
    assert "Baseline check passed" in output
    ran = verdicts(results)
    for scenario in sorted(must_pass):
        assert scenario in ran, f"{scenario} did not run"
        assert ran[scenario] <= {"SUCCESS", "INFO", "SKIPPED"}, (scenario, ran[scenario])
