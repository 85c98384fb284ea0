"""Run an ASGI app's lifespan in a test, as a server would."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio
from starlette.types import ASGIApp


@asynccontextmanager
async def lifespan(app: ASGIApp) -> AsyncIterator[None]:
    send_in, receive_in = anyio.create_memory_object_stream[dict[str, Any]](4)
    send_out, receive_out = anyio.create_memory_object_stream[dict[str, Any]](4)

    async def receive() -> dict[str, Any]:
        return await receive_in.receive()

    async def send(message: dict[str, Any]) -> None:
        await send_out.send(message)

    async with send_in, receive_in, send_out, receive_out, anyio.create_task_group() as tg:
        tg.start_soon(app, {"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}, receive, send)
        await send_in.send({"type": "lifespan.startup"})
        with anyio.fail_after(30):
            started = await receive_out.receive()
        if started["type"] != "lifespan.startup.complete":
            raise RuntimeError(f"lifespan startup failed: {started}")
        try:
            yield
        finally:
            await send_in.send({"type": "lifespan.shutdown"})
            with anyio.fail_after(30):
                await receive_out.receive()
