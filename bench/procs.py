"""Processes the bench launches (servers, the Arc stand-in), and what it reads
about them from /proc. Every launcher is a context manager that stops what it
started: SIGTERM, then SIGKILL after a deadline. Children also get SIGTERM if the
bench itself dies (PR_SET_PDEATHSIG), so nothing outlives a killed run.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parent.parent
START_DEADLINE_S = 60.0
STOP_DEADLINE_S = 20.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


try:  # resolved here, so the child only makes one C call between fork and exec
    _prctl = ctypes.CDLL(None, use_errno=True).prctl
except (OSError, AttributeError):  # not Linux: children are still stopped by the bench
    _prctl = None
_PR_SET_PDEATHSIG = 1


def die_with_parent() -> None:
    """``preexec_fn``: SIGTERM this child when the bench dies (Linux)."""
    if _prctl is not None:
        _prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def clean_env(extra: dict[str, str]) -> dict[str, str]:
    """The bench's environment without any MEMTRACE_* setting, plus ``extra``:
    a server sees only the configuration the bench means it to."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MEMTRACE_")}
    return {**env, **extra}


def spawn(
    argv: list[str], *, log_path: Path, env: dict[str, str], cwd: Path
) -> subprocess.Popen[bytes]:
    with log_path.open("ab") as log:
        return subprocess.Popen(
            argv,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
            cwd=cwd,
            preexec_fn=die_with_parent,  # noqa: PLW1509 - one C call, see above
        )


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=STOP_DEADLINE_S)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=STOP_DEADLINE_S)


@dataclass
class Server:
    url: str
    key: str
    proc: subprocess.Popen[bytes]
    data_dir: Path
    log_path: Path

    @property
    def pid(self) -> int:
        return self.proc.pid

    def log_tail(self, lines: int = 30) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])


def _wait_http(url: str, proc: subprocess.Popen[bytes], log_path: Path) -> None:
    deadline = time.monotonic() + START_DEADLINE_S
    while True:
        if proc.poll() is not None:
            raise RuntimeError(
                f"{url}: process exited with {proc.returncode}:\n{log_path.read_text()[-3000:]}"
            )
        with contextlib.suppress(httpx.TransportError):
            if httpx.get(f"{url}/health", timeout=1.0).status_code == 200:
                return
        if time.monotonic() > deadline:
            raise TimeoutError(f"{url} did not answer /health in {START_DEADLINE_S:.0f}s")
        time.sleep(0.05)


@contextlib.contextmanager
def memtrace_server(
    data_dir: Path, env: dict[str, str], key: str | None = None
) -> Iterator[Server]:
    """``memtrace-mcp serve`` on a free loopback port over ``data_dir``. The admin
    key is read from the first-run banner, or must be passed for a used data dir."""
    data_dir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    log_path = data_dir.parent / f"{data_dir.name}-server-{port}.log"
    full_env = clean_env(
        {
            "MEMTRACE_DATA_DIR": str(data_dir),
            "MEMTRACE_HOST": "127.0.0.1",
            "MEMTRACE_PORT": str(port),
            **env,
        }
    )
    proc = spawn(
        [sys.executable, "-m", "memtrace_mcp", "serve"],
        log_path=log_path,
        env=full_env,
        cwd=data_dir.parent,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        _wait_http(url, proc, log_path)
        for line in log_path.read_text(errors="replace").splitlines():
            if line.startswith("API Key: "):
                key = line.removeprefix("API Key: ").strip()
        if key is None:
            raise RuntimeError("the server printed no first-run admin key")
        yield Server(url, key, proc, data_dir, log_path)
    finally:
        stop(proc)


@contextlib.contextmanager
def arc_standin(data_dir: Path, token: str) -> Iterator[str]:
    """The Arc stand-in (tests/arc_standin) as its own process; yields its URL."""
    data_dir.mkdir(parents=True, exist_ok=True)
    log_path = data_dir.parent / "arc-standin.log"
    argv = [
        sys.executable,
        "-m",
        "tests.arc_standin",
        "--host",
        "127.0.0.1",
        "--port",
        "0",
        "--data-dir",
        str(data_dir),
        "--token",
        token,
    ]
    proc = spawn(argv, log_path=log_path, env=clean_env({}), cwd=REPO)
    try:
        deadline = time.monotonic() + START_DEADLINE_S
        url = None
        while url is None:
            for line in log_path.read_text(errors="replace").splitlines():
                if line.startswith("arc-standin ready url="):
                    url = line.split("url=", 1)[1].strip()
            if proc.poll() is not None:
                raise RuntimeError(
                    f"the Arc stand-in exited with {proc.returncode}:\n"
                    + log_path.read_text()[-3000:]
                )
            if url is None and time.monotonic() > deadline:
                raise TimeoutError("the Arc stand-in printed no ready line")
            time.sleep(0.05)
        yield url
    finally:
        stop(proc)


def _status_kib(pid: int, field: str) -> int | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def peak_rss_mib(pid: int) -> float | None:
    """The process's peak resident set (VmHWM) so far, in MiB."""
    kib = _status_kib(pid, "VmHWM")
    return round(kib / 1024, 1) if kib is not None else None


def children(pid: int) -> list[int]:
    """Direct children of ``pid``, from /proc."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                stat = (entry / "stat").read_text()
                if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                    found.append(int(entry.name))
    return found


def dir_bytes(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())
