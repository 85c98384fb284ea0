"""Pytest fixtures that give tests an Arc: the stand-in as a subprocess, or a real Arc.

Use from ``tests/conftest.py``::

    from tests.arc_standin.fixtures import arc_proxy, arc_standin, arc_standin_factory  # noqa: F401

- ``arc_standin`` (session): an ``ArcServer`` shared by the session, configured like
  the golden "main" Arc (100 ms buffer age, delete enabled). Use a database of your
  own per test. If ``MEMTRACE_TEST_ARC_URL`` and ``MEMTRACE_TEST_ARC_TOKEN`` are set,
  it is that real Arc instead, and the process helpers skip the test.
- ``arc_standin_factory`` (function): ``start(**options) -> ArcServer`` for a private
  stand-in, e.g. ``start(max_buffer_age_ms=600_000)`` or ``start(delete_enabled=False)``;
  options are the CLI flags with underscores. Everything it started is terminated
  at teardown. Skips when a real Arc is configured.
- ``arc_proxy`` (function): a ``ChaosProxy`` in front of ``arc_standin``
  (``cut()``/``stall()``/``resume()``); point the client at ``arc_proxy.url``.

``ArcServer`` has ``url``, ``admin_token``, ``data_dir`` and ``is_standin``, plus
``create_token(name, permissions)``, ``flush()``, ``stop()`` (SIGSTOP), ``cont()``
(SIGCONT), ``kill()`` (SIGKILL), ``restart(graceful=True)`` and ``terminate()``.
"""

from __future__ import annotations

import os
import queue
import secrets
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from .proxy import ChaosProxy

REPO_ROOT = Path(__file__).resolve().parents[2]
STARTUP_DEADLINE_S = 30.0
STOP_DEADLINE_S = 30.0
# The golden "main" Arc: rows visible about 100 ms after a write, deletes allowed.
DEFAULT_OPTIONS: dict[str, object] = {"max_buffer_age_ms": 100}


def _flags(options: dict[str, object]) -> list[str]:
    flags = []
    for name, value in options.items():
        flag = "--" + name.replace("_", "-")
        if isinstance(value, bool):
            flags.append(flag if value else "--no-" + flag[2:])
        else:
            flags += [flag, str(value)]
    return flags


class StandinProcess:
    """One ``python -m tests.arc_standin`` child; its port survives restarts."""

    def __init__(self, data_dir: Path, admin_token: str, options: dict[str, object]) -> None:
        self.data_dir, self.admin_token, self.options = data_dir, admin_token, options
        self.log_path = data_dir.parent / f"{data_dir.name}.log"
        self.port = 0
        self._popen: subprocess.Popen[str] | None = None
        self._reader: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        if self._popen is None:
            raise RuntimeError("the stand-in is not running")
        return self._popen.pid

    def start(self) -> None:
        command = [
            sys.executable,
            "-m",
            "tests.arc_standin",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--data-dir",
            str(self.data_dir),
            "--token",
            self.admin_token,
            *_flags(self.options),
        ]
        log = self.log_path.open("a", encoding="utf-8")
        try:
            self._popen = subprocess.Popen(
                command, cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=log, text=True
            )
        finally:
            log.close()
        lines: queue.Queue[str | None] = queue.Queue()
        self._reader = threading.Thread(target=_pump, args=(self._popen, lines), daemon=True)
        self._reader.start()
        deadline = time.monotonic() + STARTUP_DEADLINE_S
        while True:
            try:
                line = lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                self.terminate()
                raise RuntimeError(
                    f"stand-in not ready after {STARTUP_DEADLINE_S}s; see {self.log_path}"
                ) from None
            if line is None:
                self.terminate()
                raise RuntimeError(f"stand-in exited during startup:\n{self.log_tail()}")
            if line.startswith("arc-standin ready url="):
                self.port = int(line.rsplit(":", 1)[1])
                break
        _wait_healthy(self.url, deadline)

    def signal(self, signum: int) -> None:
        os.kill(self.pid, signum)

    def terminate(self, graceful: bool = True) -> int | None:
        """SIGTERM (Arc flushes its buffers), SIGKILL after the deadline; wait either way."""
        popen, self._popen = self._popen, None
        if popen is None:
            return None
        if popen.poll() is None:
            popen.send_signal(signal.SIGCONT)  # a SIGSTOPped process cannot act on SIGTERM
            popen.send_signal(signal.SIGTERM if graceful else signal.SIGKILL)
            try:
                popen.wait(timeout=STOP_DEADLINE_S)
            except subprocess.TimeoutExpired:
                popen.kill()
                popen.wait()
        if self._reader is not None:
            self._reader.join(timeout=5)
        return popen.returncode

    def exit_code(self, timeout_s: float) -> int | None:
        """Wait up to ``timeout_s`` for the process to exit on its own."""
        if self._popen is None:
            return None
        try:
            return self._popen.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            return None

    def log_tail(self, lines: int = 40) -> str:
        if not self.log_path.exists():
            return ""
        return "\n".join(
            self.log_path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:]
        )


def _pump(popen: subprocess.Popen[str], lines: queue.Queue[str | None]) -> None:
    assert popen.stdout is not None
    with popen.stdout:
        for line in popen.stdout:
            lines.put(line.strip())
    lines.put(None)


def _wait_healthy(url: str, deadline: float) -> None:
    with httpx.Client(base_url=url, timeout=2.0) as client:
        while True:
            try:
                if client.get("/health").status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"{url}/health did not answer 200 in time")
            time.sleep(0.02)  # polling interval while waiting on a deadline


@dataclass
class ArcServer:
    url: str
    admin_token: str
    data_dir: Path | None = None
    process: StandinProcess | None = None

    @property
    def is_standin(self) -> bool:
        return self.process is not None

    def _auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.admin_token}"}

    def create_token(self, name: str, permissions: list[str] | None = None) -> str:
        """A new token through Arc's token API (admin); e.g. ``["read"]`` or ``["write"]``."""
        body: dict[str, object] = {"name": name}
        if permissions is not None:
            body["permissions"] = permissions
        response = httpx.post(
            f"{self.url}/api/v1/auth/tokens", json=body, headers=self._auth(), timeout=10
        )
        response.raise_for_status()
        return str(response.json()["token"])

    def flush(self) -> None:
        """Force every ingest buffer to Parquet (admin)."""
        response = httpx.post(
            f"{self.url}/api/v1/write/line-protocol/flush", headers=self._auth(), timeout=60
        )
        response.raise_for_status()

    def _process(self) -> StandinProcess:
        if self.process is None:
            pytest.skip(
                f"process control needs the Arc stand-in; this run uses a real Arc at {self.url}"
            )
        return self.process

    def stop(self) -> None:
        """SIGSTOP: the server freezes; connections hang instead of failing."""
        self._process().signal(signal.SIGSTOP)

    def cont(self) -> None:
        self._process().signal(signal.SIGCONT)

    def kill(self) -> None:
        """SIGKILL: buffered (unflushed) rows are lost, as with a crashed Arc."""
        self._process().terminate(graceful=False)

    def restart(self, graceful: bool = True) -> None:
        """Stop (SIGTERM flushes buffers; graceful=False kills) and start again on the same port."""
        process = self._process()
        process.terminate(graceful=graceful)
        process.start()

    def terminate(self) -> None:
        if self.process is not None:
            self.process.terminate()


def real_arc_from_env() -> ArcServer | None:
    url, token = os.environ.get("MEMTRACE_TEST_ARC_URL"), os.environ.get("MEMTRACE_TEST_ARC_TOKEN")
    return ArcServer(url.rstrip("/"), token) if url and token else None


def start_standin(
    data_dir: Path, options: dict[str, object] | None = None, admin_token: str | None = None
) -> ArcServer:
    token = admin_token or f"arc-standin-admin-{secrets.token_hex(16)}"
    process = StandinProcess(data_dir, token, {**DEFAULT_OPTIONS, **(options or {})})
    process.start()
    return ArcServer(process.url, token, data_dir, process)


@pytest.fixture(scope="session")
def arc_standin(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ArcServer]:
    if (real := real_arc_from_env()) is not None:
        yield real
        return
    server = start_standin(tmp_path_factory.mktemp("arc-standin") / "data")
    try:
        yield server
    finally:
        server.terminate()


@pytest.fixture
def arc_standin_factory(tmp_path: Path) -> Iterator[Callable[..., ArcServer]]:
    if real_arc_from_env() is not None:
        pytest.skip(
            "needs private stand-in processes; this run uses a real Arc (MEMTRACE_TEST_ARC_URL)"
        )
    started: list[ArcServer] = []

    def start(**options: object) -> ArcServer:
        server = start_standin(tmp_path / f"arc-{len(started)}", options)
        started.append(server)
        return server

    try:
        yield start
    finally:
        for server in started:
            server.terminate()


@pytest.fixture
def arc_proxy(arc_standin: ArcServer) -> Iterator[ChaosProxy]:
    host, port = httpx.URL(arc_standin.url).host, httpx.URL(arc_standin.url).port
    with ChaosProxy(host, port or 80) as proxy:
        yield proxy
