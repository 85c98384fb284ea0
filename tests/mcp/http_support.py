"""Clients and keys for MCP over HTTP against a real ``memtrace-mcp serve``."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import httpx2
from mcp.client.sse import sse_client
from mcp.client.streamable_http import streamable_http_client

from mcp import Client
from memtrace_mcp.config import Settings
from memtrace_mcp.wiring import open_services

Transport = Literal["http-modern", "http-legacy", "sse"]
TRANSPORTS: list[Transport] = ["http-modern", "http-legacy", "sse"]


@dataclass(frozen=True)
class Tenant:
    """A fresh org on the server, with an admin key and a read-only key."""

    org_id: str
    admin_key: str
    read_key: str


async def new_tenant(data_dir: Path, name: str) -> Tenant:
    """Made in-process on the server's data dir (another process on the same SQLite
    file, as the CLI would be, minus its start-up time)."""
    settings = Settings(data_dir=data_dir, _env_file=None)  # type: ignore[call-arg]
    async with open_services(settings) as services:
        org = await services.auth.create_org(name)
        admin = await services.auth.create_key_local(org.id, "admin", ["read", "write", "admin"])
        reader = await services.auth.create_key_local(org.id, "reader", ["read"])
    return Tenant(org.id, admin.key, reader.key)


def cli(data_dir: Path, *args: str) -> Any:
    """Run ``memtrace-mcp <args> --json`` on the server's data dir (a second
    process on the same SQLite file, as an operator would)."""
    done = subprocess.run(
        [sys.executable, "-m", "memtrace_mcp", *args, "--json", "--data-dir", str(data_dir)],
        capture_output=True, text=True, check=True, timeout=60,
    )
    return json.loads(done.stdout)


def new_org(data_dir: Path, name: str) -> str:
    return str(cli(data_dir, "orgs", "create", name)["id"])


def new_key(data_dir: Path, org: str, scopes: str, name: str = "test") -> str:
    created = cli(data_dir, "keys", "create", "--org", org, "--name", name, "--scopes", scopes)
    return str(created["key"])


@asynccontextmanager
async def connect(base_url: str, key: str, transport: Transport) -> AsyncIterator[Client]:
    """An SDK client over ``transport``: Streamable HTTP in the 2026-07-28 era or the
    2025-11-25 handshake era, or legacy HTTP+SSE."""
    headers = {"x-api-key": key}
    if transport == "sse":
        async with Client(sse_client(f"{base_url}/sse", headers=headers), mode="legacy") as client:
            yield client
        return
    mode = "auto" if transport == "http-modern" else "legacy"
    async with httpx2.AsyncClient(headers=headers, timeout=30) as http:
        stream = streamable_http_client(f"{base_url}/mcp", http_client=http)
        async with Client(stream, mode=mode) as client:
            yield client
