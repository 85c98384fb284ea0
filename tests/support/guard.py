"""Fail the run, rather than pass quietly, when part of the suite did not run.

In CI (``CI=true``) a skipped test is a failure: a skip hides an area that was not
proven. And each required area must have had passing tests: the Arc half of the
store suite, the MCP face, the published SDK, the crash test.
"""

from __future__ import annotations

import os

import pytest

# marker or path fragment -> what it proves
REQUIRED_AREAS = {
    "tests/stores/": "the store contract suite",
    "tests/rest/": "the REST API",
    "tests/durability/": "durability under SIGKILL and multi-process writes",
    "tests/mcp/": "the MCP face (in-memory, stdio, HTTP, Inspector, conformance)",
    "tests/sdk/": "compatibility with the published memtrace-sdk",
    "tests/arc_standin/": "the Arc stand-in's fidelity to the golden recordings",
    "tests/arc/": "the Arc store's journal, shipping, forget and fault tests",
    "tests/stores/test_memory_contract.py::test_stored_memory_reads_back_with_every_field[arc": (
        "the store contract suite against the Arc store"
    ),
}


class RunGuard:
    def __init__(self) -> None:
        self.skipped: list[str] = []
        self.passed_paths: set[str] = set()
        self.selected = False

    def pytest_collection_modifyitems(self, config: pytest.Config, items: list[pytest.Item]) -> None:
        # A run narrowed by -k, -m or explicit paths checks only what it selected.
        self.selected = bool(config.option.keyword or config.option.markexpr or config.option.file_or_dir)

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.skipped:
            self.skipped.append(report.nodeid)
        elif report.passed and report.when == "call":
            self.passed_paths.add(report.nodeid)

    def problems(self, in_ci: bool) -> list[str]:
        found = []
        if in_ci and self.skipped:
            found.append(f"{len(self.skipped)} skipped in CI, e.g. {self.skipped[:3]}")
        if not self.selected:
            for fragment, what in REQUIRED_AREAS.items():
                if not any(node.startswith(fragment) for node in self.passed_paths):
                    found.append(f"no passing test proved {what} ({fragment})")
        return found

    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        found = self.problems(os.environ.get("CI", "").lower() in ("1", "true", "yes"))
        if found and exitstatus == 0:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED
        self.found = found

    def pytest_terminal_summary(self, terminalreporter: object) -> None:
        for line in getattr(self, "found", []):
            terminalreporter.write_line(f"RUN GUARD: {line}", red=True)  # type: ignore[attr-defined]


def pytest_configure(config: pytest.Config) -> None:
    config.pluginmanager.register(RunGuard(), "memtrace-run-guard")
