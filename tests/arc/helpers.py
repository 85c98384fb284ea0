"""Waiting on the Arc store and looking into Arc directly, for the Arc tests."""

from __future__ import annotations

from collections import Counter
from collections.abc import Awaitable, Callable

import anyio

from memtrace_mcp.models import MemoryDraft, Principal
from memtrace_mcp.service import Services
from memtrace_mcp.stores.arc.client import ArcClient
from memtrace_mcp.stores.arc.results import to_str
from tests.arc_standin.fixtures import ArcServer

A = Principal(org_id="org_default", scopes=frozenset({"admin"}))


def draft(content: str, **fields: object) -> MemoryDraft:
    return MemoryDraft.model_validate({"agent_id": "agent_1", "content": content, **fields})


async def wait_for(check: Callable[[], Awaitable[bool]], *, timeout: float = 30.0) -> None:
    """Poll ``check`` until it holds; fail after ``timeout`` seconds."""
    with anyio.fail_after(timeout):
        while not await check():
            await anyio.sleep(0.02)


async def backlog(services: Services) -> int:
    return (await services.memories.status()).backlog


async def journaled(services: Services) -> int:
    return int((await services.memories.status()).details["journal"])


async def shipped(services: Services) -> bool:
    """Every journaled row is confirmed in Arc."""
    return await backlog(services) == 0


async def retired(services: Services) -> bool:
    """The journal is empty: reads come from Arc alone."""
    return await journaled(services) == 0


async def rows_in_arc(arc: ArcServer, database: str, measurement: str = "memories") -> Counter[str]:
    """Physical rows per memory_id in Arc (flushed first), duplicates included."""
    async with ArcClient(arc.url, arc.admin_token, database) as client:
        await client.flush()
        result = await client.query(
            f"SELECT memory_id FROM {measurement} ORDER BY memory_id",
            convert={"memory_id": to_str},
        )
    return Counter(str(v) for v in result.column("memory_id"))
