"""A loopback TCP proxy that a test can break on purpose.

``ChaosProxy(upstream_host, upstream_port)`` listens on 127.0.0.1 (a free port unless
``listen_port`` is given) and forwards bytes both ways. It runs an asyncio loop in a
background thread, so synchronous and async tests in the same process can use it::

    with ChaosProxy("127.0.0.1", arc.port) as proxy:
        client = ArcClient(proxy.url, ...)
        proxy.cut()      # reset every open connection and refuse new ones
        proxy.stall()    # accept connections but forward nothing (requests hang)
        proxy.resume()   # back to normal forwarding, on the same port

API: ``start()``/``close()`` (or the context manager); ``host``, ``port``, ``url``;
``cut()``, ``stall()``, ``resume()``; ``state`` ("open", "stalled" or "cut");
``connections`` (connections currently open). Every call returns once the new
state is in force.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
import threading
from collections.abc import Coroutine
from typing import Any

_CALL_TIMEOUT_S = 10.0
_CHUNK = 64 * 1024


class ChaosProxy:
    def __init__(
        self,
        upstream_host: str,
        upstream_port: int,
        listen_host: str = "127.0.0.1",
        listen_port: int = 0,
    ) -> None:
        self.upstream = (upstream_host, upstream_port)
        self.host, self.port = listen_host, listen_port
        self.state = "open"
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="chaos-proxy", daemon=True
        )
        self._server: asyncio.Server | None = None
        self._flowing: asyncio.Event | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._tasks: set[asyncio.Task[None]] = set()

    # ---------------- public API (call from any thread but the proxy's) ----------------
    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def connections(self) -> int:
        return len(self._writers) // 2

    def start(self) -> ChaosProxy:
        self._thread.start()
        self._call(self._listen())
        return self

    def close(self) -> None:
        if self._thread.is_alive():
            self._call(self._shutdown())
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=_CALL_TIMEOUT_S)
        self._loop.close()

    def cut(self) -> None:
        """Reset every open connection and stop listening: new connects are refused."""
        self._call(self._cut())

    def stall(self) -> None:
        """Keep accepting, but forward nothing until ``resume()``; no byte is lost."""
        self._call(self._set_flowing(False))
        self.state = "stalled"

    def resume(self) -> None:
        self._call(self._resume())

    def __enter__(self) -> ChaosProxy:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.close()

    # ---------------- inside the loop ----------------
    def _call(self, coro: Coroutine[Any, Any, Any]) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(_CALL_TIMEOUT_S)

    async def _listen(self) -> None:
        if self._flowing is None:
            self._flowing = asyncio.Event()
            self._flowing.set()
        self._server = await asyncio.start_server(
            self._handle, self.host, self.port, reuse_address=True
        )
        self.port = self._server.sockets[0].getsockname()[1]

    async def _set_flowing(self, flowing: bool) -> None:
        assert self._flowing is not None
        self._flowing.set() if flowing else self._flowing.clear()

    async def _cut(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        for writer in list(self._writers):
            _reset(writer)
        self._writers.clear()
        self.state = "cut"

    async def _resume(self) -> None:
        if self._server is None:
            await self._listen()
        await self._set_flowing(True)
        self.state = "open"

    async def _shutdown(self) -> None:
        await self._cut()
        await self._set_flowing(True)
        if self._tasks:  # let every connection handler finish before the loop stops
            await asyncio.wait(self._tasks, timeout=_CALL_TIMEOUT_S / 2)

    async def _handle(
        self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter
    ) -> None:
        task = asyncio.current_task()
        if task is not None:  # tracked so close() can wait for every handler to end
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection(*self.upstream)
        except OSError:
            _reset(client_writer)
            return
        pair = {client_writer, upstream_writer}
        self._writers |= pair
        try:
            await asyncio.gather(
                self._pump(client_reader, upstream_writer),
                self._pump(upstream_reader, client_writer),
            )
        finally:
            for writer in pair:
                if writer in self._writers:
                    self._writers.discard(writer)
                    writer.close()

    async def _pump(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        assert self._flowing is not None
        try:
            while data := await reader.read(_CHUNK):
                await self._flowing.wait()  # a stall holds the bytes here
                writer.write(data)
                await writer.drain()
            if writer.can_write_eof():
                writer.write_eof()
        except (ConnectionError, OSError):
            _reset(writer)


def _reset(writer: asyncio.StreamWriter) -> None:
    """Close with RST (SO_LINGER 0), so the peer sees a reset, not a clean EOF."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()
