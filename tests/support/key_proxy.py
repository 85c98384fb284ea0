"""A reverse proxy that adds one API key to every request and forwards it
otherwise untouched (method, path, query, body, Host and Origin headers) to a
memtrace server, streaming the answer back.

Why: the MCP conformance suite cannot send an auth header, and the server under
test should still be the real product, gate and all, rather than one with
authentication switched off. Run: ``python -m tests.support.key_proxy
--port P --target http://127.0.0.1:S --key mtk_...``.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import httpx
import uvicorn

from .server import free_port

ROOT = Path(__file__).resolve().parents[2]

_HOP_BY_HOP = {b"connection", b"keep-alive", b"transfer-encoding", b"upgrade", b"te", b"trailer"}


def make_app(target: str, key: str) -> Any:
    upstream = httpx.AsyncClient(base_url=target, timeout=httpx.Timeout(None, connect=10))

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while (message := await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            await upstream.aclose()
            await send({"type": "lifespan.shutdown.complete"})
            return
        body = b""
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        # Field values without their optional whitespace (RFC 9110 5.5): the same
        # value to the server, and one that httpx agrees to send.
        headers = [(k, v.strip()) for k, v in scope["headers"] if k.lower() not in _HOP_BY_HOP]
        headers.append((b"x-api-key", key.encode()))
        path = scope["raw_path"].decode() + (f"?{scope['query_string'].decode()}" if scope["query_string"] else "")
        request = upstream.build_request(scope["method"], path, headers=headers, content=body)
        response = await upstream.send(request, stream=True)
        try:
            async with anyio.create_task_group() as tg:

                async def client_gone() -> None:
                    while (await receive())["type"] != "http.disconnect":
                        pass
                    tg.cancel_scope.cancel()

                tg.start_soon(client_gone)
                out = [(k, v) for k, v in response.headers.raw if k.lower() not in _HOP_BY_HOP]
                await send({"type": "http.response.start", "status": response.status_code, "headers": out})
                async for chunk in response.aiter_raw():
                    await send({"type": "http.response.body", "body": chunk, "more_body": True})
                await send({"type": "http.response.body", "body": b""})
                tg.cancel_scope.cancel()
        finally:
            await response.aclose()

    return app


@asynccontextmanager
async def key_proxy(target: str, key: str, log_path: Path) -> AsyncIterator[str]:
    """Run the proxy in its own process; yield its base URL; stop it on exit."""
    port = free_port()
    argv = [sys.executable, "-m", "tests.support.key_proxy", "--port", str(port),
            "--target", target, "--key", key]
    with log_path.open("wb") as log:
        proc = await anyio.open_process(argv, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        with anyio.fail_after(30):
            async with httpx.AsyncClient() as client:
                while True:
                    if proc.returncode is not None:
                        raise RuntimeError(f"key proxy exited:\n{log_path.read_text()}")
                    try:
                        await client.get(f"{url}/health", timeout=1)
                        break
                    except httpx.TransportError:
                        await anyio.sleep(0.05)  # polling its port, within the deadline
        yield url
    finally:
        if proc.returncode is None:
            proc.terminate()
        with anyio.fail_after(30):
            await proc.wait()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--target", required=True)
    parser.add_argument("--key", required=True)
    args = parser.parse_args()
    uvicorn.run(make_app(args.target, args.key), host="127.0.0.1", port=args.port,
                log_level="warning", ws="none")


if __name__ == "__main__":
    main()
