"""Reads share Arc's Parquet files; a delete that rewrites them goes alone.

Why: Arc's delete replaces or removes Parquet files, and a query that listed a file
a moment before fails with "Cannot open file" (a 500). Within one process the store
avoids that by never running a delete while its own queries read, and never starting
a query while a delete runs or waits (so deletes are not starved). Queries from
other processes are not covered; ``reader.py`` retries those failures.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager


class FileGate:
    def __init__(self) -> None:
        self._readers = 0
        self._deleting = False
        self._waiting = 0
        self._changed: asyncio.Condition | None = None

    def _condition(self) -> asyncio.Condition:
        # Created on first use, inside the running loop.
        if self._changed is None:
            self._changed = asyncio.Condition()
        return self._changed

    @asynccontextmanager
    async def reading(self) -> AsyncIterator[None]:
        changed = self._condition()
        async with changed:
            await changed.wait_for(lambda: not self._deleting and not self._waiting)
            self._readers += 1
        try:
            yield
        finally:
            async with changed:
                self._readers -= 1
                changed.notify_all()

    @asynccontextmanager
    async def deleting(self) -> AsyncIterator[None]:
        changed = self._condition()
        async with changed:
            self._waiting += 1
            try:
                await changed.wait_for(lambda: not self._deleting and self._readers == 0)
            finally:
                self._waiting -= 1
            self._deleting = True
        try:
            yield
        finally:
            async with changed:
                self._deleting = False
                changed.notify_all()
