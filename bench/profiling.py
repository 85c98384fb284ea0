"""``--profile DIR``: py-spy records the server while each scenario group runs.

Each group leaves ``DIR/<store>-<group>.txt`` (collapsed stacks, for flamegraph
tools or speedscope) and ``DIR/<store>-<group>.top.txt``: the functions with the
most samples, by own time and including callees, line numbers folded away.
"""

from __future__ import annotations

import contextlib
import re
import shutil
import signal
import subprocess
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

from .procs import die_with_parent
from .progress import note

_LINE = re.compile(r"^(.*) (\d+)$")
_FRAME_LINE = re.compile(r":\d+\)$")
TOP = 15


def py_spy() -> str | None:
    here = Path(__file__).resolve().parent.parent / ".venv" / "bin" / "py-spy"
    return str(here) if here.exists() else shutil.which("py-spy")


class Profiler:
    def __init__(self, out_dir: Path, rate: int = 250) -> None:
        self.out_dir = out_dir
        self.rate = rate
        self.binary = py_spy()
        out_dir.mkdir(parents=True, exist_ok=True)
        if self.binary is None:
            note("--profile: py-spy not found; running without profiles")

    @contextlib.contextmanager
    def record(self, label: str, pid: int) -> Iterator[None]:
        if self.binary is None:
            yield
            return
        raw = self.out_dir / f"{label}.txt"
        argv = [
            self.binary,
            "record",
            "--pid",
            str(pid),
            "--format",
            "raw",
            "--rate",
            str(self.rate),
            "--nonblocking",
            "-o",
            str(raw),
        ]
        proc = subprocess.Popen(
            argv,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            preexec_fn=die_with_parent,  # noqa: PLW1509 - one C call (procs.py)
        )
        try:
            yield
        finally:
            proc.send_signal(signal.SIGINT)  # py-spy writes its file on Ctrl-C
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if raw.exists():
            (self.out_dir / f"{label}.top.txt").write_text(summarize(raw.read_text()))


def summarize(collapsed: str) -> str:
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    total = 0
    for line in collapsed.splitlines():
        match = _LINE.match(line.strip())
        if not match:
            continue
        frames = [_FRAME_LINE.sub(")", f) for f in match.group(1).split(";")]
        count = int(match.group(2))
        total += count
        own[frames[-1]] += count
        for frame in set(frames):
            inclusive[frame] += count
    out = [f"samples: {total}", "", "own time:"]
    out += [f"{n / total:6.1%}  {frame}" for frame, n in own.most_common(TOP)]
    out += ["", "including callees (memtrace_mcp, sqlite, pydantic, json, starlette, uvicorn):"]
    interesting = [
        (frame, n)
        for frame, n in inclusive.most_common()
        if re.search(
            r"memtrace_mcp|sqlite|pydantic|json|starlette|fastapi|uvicorn|h11|httptools|mcp", frame
        )
    ]
    out += [f"{n / total:6.1%}  {frame}" for frame, n in interesting[: TOP * 2]]
    return "\n".join(out) + "\n" if total else "no samples\n"
