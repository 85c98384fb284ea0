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
from .stores.base import MemoryStore
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


Step = Callable[[], Awaitable[None]]


def arc_memories(
    settings: Settings, db: Database, limits: Limits, clock: Callable[[], int]
) -> tuple[MemoryStore, list[Step], list[Step]]:
    """The Arc store over ``db`` (its journal), with its shipper's start and stop."""
    from .stores.arc.client import ArcClient
    from .stores.arc.forget import Forgetter
    from .stores.arc.journal import Journal
    from .stores.arc.ledger import Ledger
    from .stores.arc.link import ArcLink
    from .stores.arc.memories import ArcMemoryStore
    from .stores.arc.reader import ArcReader
    from .stores.arc.shipper import ArcShipper

    if settings.arc_url is None or settings.arc_token is None:
        raise ValueError("MEMTRACE_ARC_URL needs MEMTRACE_ARC_TOKEN")
    client = ArcClient(
        settings.arc_url, settings.arc_token, settings.arc_database, timeout=settings.arc_timeout_s
    )
    timeout = settings.arc_timeout_s
    link = ArcLink(client, read_timeout_s=settings.arc_read_timeout_s, probe_timeout_s=min(2.0, timeout))
    reader = ArcReader(client, settings.arc_measurement)
    ledger = Ledger(db, horizon_us=int(settings.arc_cache_horizon_s * 1_000_000))
    grace_us = int(settings.arc_tombstone_grace_s * 1_000_000)
    forgetter = Forgetter(
        ledger, reader, link, grace_us=grace_us, timeout_s=timeout, clock=clock
    )
    shipper = ArcShipper(
        ledger,
        reader,
        link,
        forgetter,
        measurement=settings.arc_measurement,
        batch_rows=settings.arc_batch_size,
        batch_bytes=settings.arc_batch_bytes,
        interval_s=settings.arc_flush_interval_ms / 1000,
        timeout_s=timeout,
        dedup_window_us=limits.dedup_window_us,
        clock=clock,
    )
    store = ArcMemoryStore(Journal(db), ledger, reader, link, nudge=shipper.nudge, clock=clock)
    return store, [shipper.start], [client.aclose, shipper.stop]


def build_runtime(settings: Settings, clock: Callable[[], int] = ids.next_time_us) -> Runtime:
    """``clock`` (µs, strictly increasing) is injectable so tests can move time."""
    db = Database(settings.db_path, group_max=settings.write_group_max)
    metadata = SqliteMetadataStore(db)
    limits = limits_from(settings)
    memories: MemoryStore
    start: list[Step] = [db.open]
    stop: list[Step] = [db.close]
    if settings.arc_url:
        memories, arc_start, arc_stop = arc_memories(settings, db, limits, clock)
        start += arc_start
        stop += arc_stop
    else:
        memories = SqliteMemoryStore(db)
    services = Services(
        auth=AuthService(metadata, clock),
        memories=MemoryService(memories, metadata, limits, clock),
        agents=AgentService(metadata, memories, clock),
        sessions=SessionService(metadata, memories, clock),
    )
    return Runtime(services, start, stop)


@asynccontextmanager
async def open_services(settings: Settings) -> AsyncIterator[Services]:
    """Open the stores ``settings`` name and yield the services over them."""
    runtime = build_runtime(settings)
    await runtime.start()
    try:
        yield runtime.services
    finally:
        await runtime.stop()
