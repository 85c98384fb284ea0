"""A real ``memtrace-mcp serve`` subprocess on a free loopback port."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

_DEADLINE_S = 30.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class ServerProcess:
    data_dir: Path
    port: int
    proc: subprocess.Popen[bytes]
    log_path: Path
    admin_key: str | None = None
    extra_env: dict[str, str] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def kill(self) -> None:
        """SIGKILL: no shutdown handlers run, as in a crash."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=_DEADLINE_S)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=_DEADLINE_S)
            except subprocess.TimeoutExpired:
                self.kill()

    def restart(self) -> ServerProcess:
        self.stop()
        again = start_server(self.data_dir, port=self.port, env=self.extra_env)
        again.admin_key = again.admin_key or self.admin_key
        return again


def start_server(
    data_dir: Path, *, port: int | None = None, env: dict[str, str] | None = None
) -> ServerProcess:
    data_dir.mkdir(parents=True, exist_ok=True)
    port = port or free_port()
    log_path = data_dir.parent / f"server-{port}-{time.monotonic_ns()}.log"
    full_env = {
        **os.environ,
        "MEMTRACE_DATA_DIR": str(data_dir),
        "MEMTRACE_PORT": str(port),
        "MEMTRACE_HOST": "127.0.0.1",
        **(env or {}),
    }
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "memtrace_mcp", "serve"],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=full_env,
        )
    server = ServerProcess(data_dir, port, proc, log_path, extra_env=dict(env or {}))
    deadline = time.monotonic() + _DEADLINE_S
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}:\n{server.log()}")
        try:
            if httpx.get(f"{server.url}/health", timeout=1.0).status_code == 200:
                break
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            server.stop()
            raise TimeoutError(f"server did not answer /health in {_DEADLINE_S}s:\n{server.log()}")
        time.sleep(0.05)
    for line in server.log().splitlines():
        if line.startswith("API Key: "):
            server.admin_key = line.removeprefix("API Key: ").strip()
    return server
