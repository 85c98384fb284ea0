"""The composition root: the only module that picks concrete stores.

``build_runtime`` only constructs (no I/O), so an ASGI app can be assembled before
its lifespan runs; ``Runtime.start`` opens the stores.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from . import ids
from .config import Settings
from .service import AgentService, AuthService, MemoryService, Services, SessionService
from .service.memories import Limits
from .stores.sqlite.db import Database
from .stores.sqlite.memories import SqliteMemoryStore
from .stores.sqlite.metadata import SqliteMetadataStore


def limits_from(settings: Settings) -> Limits:
    window = settings.dedup_window_hours
    return Limits(
        max_content_bytes=settings.max_content_bytes,
        max_metadata_bytes=settings.max_metadata_bytes,
        dedup_window_us=int(window * 3600 * 1_000_000) if window > 0 else None,
    )


@dataclass
class Runtime:
    services: Services
    _start: list[Callable[[], Awaitable[None]]] = field(default_factory=list)
    _stop: list[Callable[[], Awaitable[None]]] = field(default_factory=list)

    async def start(self) -> None:
        for step in self._start:
            await step()
        await self.services.auth.ensure_default_org()

    async def stop(self) -> None:
        for step in reversed(self._stop):
            await step()


def build_runtime(settings: Settings) -> Runtime:
    db = Database(settings.db_path, group_max=settings.write_group_max)
    metadata = SqliteMetadataStore(db)
    memories = SqliteMemoryStore(db)
    clock = ids.next_time_us
    services = Services(
        auth=AuthService(metadata, clock),
        memories=MemoryService(memories, metadata, limits_from(settings), clock),
        agents=AgentService(metadata, memories, clock),
        sessions=SessionService(metadata, memories, clock),
    )
    return Runtime(services, [db.open], [db.close])


@asynccontextmanager
async def open_services(settings: Settings) -> AsyncIterator[Services]:
    """Open the stores ``settings`` name and yield the services over them."""
    runtime = build_runtime(settings)
    await runtime.start()
    try:
        yield runtime.services
    finally:
        await runtime.stop()
