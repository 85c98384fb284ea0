"""MCP over stdio, for Claude Desktop and IDE assistants.

The process is a trusted local program started by the user's own client, so
every call runs as ``LOCAL_PRINCIPAL`` (org ``org_default``, no key), as the
contract says. In remote mode the services forward to a server whose key
decides instead. Nothing may reach stdout but protocol: logs go to stderr.

The SDK's stdio transport reads and writes the wire through worker threads: a
read, a write and a flush per message, each a hop to a thread and back, were a
fifth of a ``store_memory`` round trip. When stdin and stdout are pipes (as every
MCP host starts a server) or sockets, the event loop reads and writes them
itself; the SDK's framing (one JSON-RPC message per line) is unchanged, as is
its guard: while serving, fd 0 reads the null device and fd 1 points at stderr,
so stray output from any library cannot corrupt the wire.
"""

from __future__ import annotations

import asyncio
import fcntl
import os
import stat
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from mcp.server.mcpserver import Context
from mcp.server.stdio import stdio_server

from ...models import Principal
from ...service.auth import LOCAL_PRINCIPAL
from .ports import ToolServices
from .server import MemtraceMCP, build_mcp_server

# A line longer than this (a message no client sends) is answered as a parse error.
_MAX_LINE_BYTES = 64 * 1024 * 1024


def local_principal(_ctx: Context[Any, Any]) -> Principal:
    return LOCAL_PRINCIPAL


async def run_stdio(services: ToolServices, *, agent_id: str) -> None:
    """Serve until the client closes stdin."""
    server = build_mcp_server(services, agent_id=agent_id, principal=local_principal)
    if not (_pollable(0) and _pollable(1)):
        await server.run_stdio_async()  # a file or a terminal: the SDK's threads
        return
    async with _wire() as (lines, text), stdio_server(lines, text) as (read_stream, write_stream):
        await _serve(server, read_stream, write_stream)


async def _serve(server: MemtraceMCP, read_stream: Any, write_stream: Any) -> None:
    # What ``MCPServer.run_stdio_async`` does with the streams it opens; the SDK
    # offers no public way to hand it others.
    lowlevel = server._lowlevel_server
    await lowlevel.run(read_stream, write_stream, lowlevel.create_initialization_options())


def _pollable(fd: int) -> bool:
    try:
        mode = os.fstat(fd).st_mode
    except OSError:
        return False
    return stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode)


@asynccontextmanager
async def _wire() -> AsyncIterator[tuple[_Lines, _Text]]:
    """The wire on private descriptors, read and written by the event loop; fds 0
    and 1 diverted meanwhile, and restored on the way out."""
    loop = asyncio.get_running_loop()
    # Two copies of each: the transports own (and close, at EOF) the first; the
    # second puts the wire back on fds 0 and 1 at the end.
    wire_in, keep_in = (fcntl.fcntl(0, fcntl.F_DUPFD_CLOEXEC, 3) for _ in range(2))
    wire_out, keep_out = (fcntl.fcntl(1, fcntl.F_DUPFD_CLOEXEC, 3) for _ in range(2))
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    os.dup2(2, 1)
    reader = asyncio.StreamReader(limit=_MAX_LINE_BYTES)
    read_transport = write_transport = None
    try:
        read_transport, _ = await loop.connect_read_pipe(
            lambda: asyncio.StreamReaderProtocol(reader), os.fdopen(wire_in, "rb", buffering=0)
        )
        write_transport, drain = await loop.connect_write_pipe(
            _Drain, os.fdopen(wire_out, "wb", buffering=0)
        )
        # Anything the kernel did not take at once pauses the writer: a flush then
        # waits until all of it is written, as the SDK's blocking flush did.
        write_transport.set_write_buffer_limits(high=0)
        yield _Lines(reader), _Text(write_transport, drain)
    finally:
        for transport in (read_transport, write_transport):
            if transport is not None:
                transport.close()
        for kept, fd in ((keep_in, 0), (keep_out, 1)):
            os.dup2(kept, fd)
            os.close(kept)


class _Lines:
    """Incoming lines as text, the way the SDK's transport iterates stdin."""

    def __init__(self, reader: asyncio.StreamReader) -> None:
        self._reader = reader

    def __aiter__(self) -> _Lines:
        return self

    async def __anext__(self) -> str:
        try:
            line = await self._reader.readline()
        except ValueError:  # over _MAX_LINE_BYTES: the SDK answers an empty line as invalid
            return "\n"
        if not line:
            raise StopAsyncIteration
        return line.decode("utf-8", errors="replace")


class _Text:
    """The outgoing side, written the way the SDK's transport writes stdout."""

    def __init__(self, transport: asyncio.WriteTransport, drain: _Drain) -> None:
        self._transport = transport
        self._drain = drain

    async def write(self, text: str) -> None:
        self._transport.write(text.encode())

    async def flush(self) -> None:
        await self._drain.wait()


class _Drain(asyncio.Protocol):
    """Flow control for the outgoing pipe: ``wait`` returns once the kernel takes
    more, and raises once the reader has gone."""

    def __init__(self) -> None:
        self._paused = False
        self._waiter: asyncio.Future[None] | None = None
        self._lost: BaseException | None = None

    def pause_writing(self) -> None:
        self._paused = True

    def resume_writing(self) -> None:
        self._paused = False
        self._wake()

    def connection_lost(self, exc: BaseException | None) -> None:
        self._lost = exc or BrokenPipeError("the client closed stdout")
        self._wake()

    def _wake(self) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    async def wait(self) -> None:
        while self._lost is None and self._paused:
            self._waiter = asyncio.get_running_loop().create_future()
            await self._waiter
        if self._lost is not None:
            raise self._lost
