"""The stand-in's HTTP surface: ``create_app(config)`` wires the parts together.

Order of checks, as in Arc: body size (413, before anything else), then auth for
every non-public path (401 even for unknown routes), then routing (404
``Cannot GET /x``), then the route's permission (403).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from . import render
from .admin_routes import database_routes, token_routes
from .auth import TokenStore, extract_token, now_rfc3339
from .buffer import IngestBuffer
from .config import StandinConfig
from .delete import DISABLED, delete_config, response, run_delete
from .http_util import (
    BodyError,
    elapsed_ms,
    error,
    forbidden_unless,
    json_body,
    now_rfc3339_seconds,
)
from .ingest import DATABASE_NAME_ERROR, WriteError, decode, valid_database_name
from .pruner import PartitionPruner
from .query import Engine, QueryService
from .rewrite import TableRewriter
from .storage import Storage

PUBLIC_PATHS = ("/health", "/ready", "/api/v1/auth/verify")
PUBLIC_PREFIXES = ("/metrics", "/api/v1/metrics")


@dataclass
class Parts:
    config: StandinConfig
    storage: Storage
    engine: Engine
    tokens: TokenStore
    buffer: IngestBuffer
    queries: QueryService
    started: float
    ready: bool = False


def build_parts(config: StandinConfig) -> Parts:
    storage = Storage(config.data_dir, config.column_order_seed)
    engine = Engine()
    pruner = PartitionPruner(config.glob_cache_ttl_s, config.partition_cache_ttl_s)
    rewriter = TableRewriter(
        lambda db, table, sql: pruner.optimize(storage.table_glob(db, table), sql)
    )
    tokens = TokenStore(config.state_dir / "arc.db", config.token_cache_ttl_s)
    tokens.bootstrap(config.admin_token)

    def write(db: str, batches: list) -> None:  # type: ignore[type-arg]
        cursor = engine.cursor()
        try:
            storage.write(cursor, db, batches)
        finally:
            cursor.close()

    buffer = IngestBuffer(
        write, config.max_buffer_age_ms, config.max_buffer_rows, config.crash_on_background_panic
    )
    queries = QueryService(engine, storage, rewriter, config.query_timeout_s)
    return Parts(config, storage, engine, tokens, buffer, queries, time.monotonic())


class GateMiddleware:
    """Payload limit and authentication, before routing (pure ASGI)."""

    def __init__(self, app: ASGIApp, parts: Parts) -> None:
        self.app, self.parts = app, parts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        length = request.headers.get("content-length", "")
        if length.isdigit() and int(length) > self.parts.config.max_payload_bytes:
            # Arc (fasthttp) refuses the body and closes the connection.
            reply = JSONResponse(
                {"error": "Request Entity Too Large"}, 413, headers={"connection": "close"}
            )
            await reply(scope, receive, send)
            return
        path = scope["path"]
        if path not in PUBLIC_PATHS and not path.startswith(PUBLIC_PREFIXES):
            token = extract_token(request.headers, request.query_params)
            info = self.parts.tokens.verify(token) if token else None
            if info is None:
                message = "Invalid or expired token" if token else "Authentication required"
                await error(401, message, success_key=True)(scope, receive, send)
                return
            scope["arc_token"] = info
            self.parts.tokens.touch(info.id)
        await self.app(scope, receive, send)


def core_routes(parts: Parts) -> list[Route]:
    config = parts.config

    async def health(_request: Request) -> Response:
        uptime = time.monotonic() - parts.started
        return JSONResponse(
            {
                "status": "ok",
                "time": now_rfc3339(),
                "uptime": f"{uptime:.3f}s",
                "uptime_sec": int(uptime),
            }
        )

    async def ready(_request: Request) -> Response:
        body = {
            "status": "ready" if parts.ready else "not_ready",
            "time": now_rfc3339(),
            "uptime_sec": int(time.monotonic() - parts.started),
        }
        return JSONResponse(body, status_code=200 if parts.ready else 503)

    async def verify(request: Request) -> Response:
        token = extract_token(request.headers, request.query_params)
        if not token:
            return JSONResponse({"error": "No token provided", "valid": False}, status_code=401)
        info = parts.tokens.verify(token)
        if info is None:
            return JSONResponse(
                {"error": "Invalid or expired token", "valid": False}, status_code=401
            )
        return JSONResponse(
            {"permissions": list(info.permissions), "token_info": info.as_json(), "valid": True}
        )

    async def query(request: Request, as_msgpack: bool = False) -> Response:
        started, stamp = time.monotonic(), now_rfc3339_seconds()
        if denied := forbidden_unless(request, "read"):
            return denied
        try:
            body = await json_body(request, "QueryRequest", {"sql": str})
        except BodyError as exc:
            return _query_failure(400, f"Invalid request body: {exc}", started, stamp, as_msgpack)
        header_db = request.headers.get("x-arc-database", "")
        answer = await run_in_threadpool(parts.queries.run, str(body.get("sql") or ""), header_db)
        if answer.error is not None:
            return _query_failure(answer.status, answer.error, started, stamp, as_msgpack)
        encode = render.query_msgpack if as_msgpack else render.query_json
        content = await run_in_threadpool(
            encode, answer.columns, answer.kinds, answer.rows, elapsed_ms(started), stamp
        )
        return Response(
            content, media_type="application/msgpack" if as_msgpack else "application/json"
        )

    async def query_msgpack(request: Request) -> Response:
        return await query(request, as_msgpack=True)

    async def measurements(request: Request) -> Response:
        started = time.monotonic()
        if denied := forbidden_unless(request, "read"):
            return denied
        found = []
        for db in parts.storage.databases():
            for table in parts.storage.measurements(db):
                count, size = parts.storage.table_stats(db, table)
                found.append(
                    {
                        "database": db,
                        "measurement": table,
                        "file_count": count,
                        "total_size_mb": size / (1024 * 1024),
                        "storage_path": parts.storage.table_glob(db, table),
                    }
                )
        return JSONResponse(
            {
                "count": len(found),
                "execution_time_ms": elapsed_ms(started),
                "measurements": found,
                "success": True,
            }
        )

    async def write(request: Request) -> Response:
        if denied := forbidden_unless(request, "write"):
            return denied
        db = request.headers.get("x-arc-database") or "default"
        if not valid_database_name(db):
            return error(400, DATABASE_NAME_ERROR)
        body = await request.body()
        try:
            batches = await run_in_threadpool(
                decode, body, config.max_payload_bytes, config.max_payload_size
            )
        except WriteError as exc:
            return error(exc.status, exc.message)
        await run_in_threadpool(parts.buffer.add, db, batches)
        return Response(status_code=204)

    async def flush(request: Request) -> Response:
        if denied := forbidden_unless(request, "admin"):
            return denied
        if problem := await run_in_threadpool(parts.buffer.flush_all):
            return error(500, problem)
        return JSONResponse({"message": "All buffers flushed", "status": "success"})

    async def delete(request: Request) -> Response:
        started = time.monotonic()
        if denied := forbidden_unless(request, "admin"):
            return denied
        if not config.delete_enabled:
            return JSONResponse(response(started, DISABLED), status_code=403)
        try:
            body = await json_body(
                request,
                "DeleteRequest",
                {
                    "database": str,
                    "measurement": str,
                    "where": str,
                    "dry_run": bool,
                    "confirm": bool,
                },
            )
        except BodyError as exc:
            return JSONResponse(response(started, f"Invalid request body: {exc}"), status_code=400)

        def run() -> tuple[int, dict[str, object]]:
            cursor = parts.engine.cursor()
            try:
                return run_delete(body, parts.storage, cursor)
            finally:
                cursor.close()

        status, payload = await run_in_threadpool(run)
        return JSONResponse(payload, status_code=status)

    async def show_delete_config(request: Request) -> Response:
        return JSONResponse(delete_config(config.delete_enabled))

    return [
        Route("/health", health, methods=["GET"]),
        Route("/ready", ready, methods=["GET"]),
        Route("/api/v1/auth/verify", verify, methods=["GET"]),
        Route("/api/v1/query", query, methods=["POST"]),
        Route("/api/v1/query/msgpack", query_msgpack, methods=["POST"]),
        Route("/api/v1/measurements", measurements, methods=["GET"]),
        Route("/api/v1/write/msgpack", write, methods=["POST"]),
        Route("/api/v1/write/line-protocol/flush", flush, methods=["POST"]),
        Route("/api/v1/delete", delete, methods=["POST"]),
        Route("/api/v1/delete/config", show_delete_config, methods=["GET"]),
    ]


def _query_failure(
    status: int, message: str, started: float, stamp: str, as_msgpack: bool
) -> Response:
    if as_msgpack:
        content = render.msgpack_error(message, elapsed_ms(started), stamp)
        return Response(content, status_code=status, media_type="application/msgpack")
    return JSONResponse(render.query_error(message, elapsed_ms(started), stamp), status_code=status)


async def _not_found(request: Request, _exc: Exception) -> Response:
    return error(404, f"Cannot {request.method} {request.url.path}")


def create_app(config: StandinConfig) -> Starlette:
    parts = build_parts(config)

    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        parts.buffer.start()
        parts.ready = True
        try:
            yield
        finally:
            # Like Arc on SIGTERM: stop taking writes, flush what is buffered.
            parts.ready = False
            parts.buffer.stop()
            await run_in_threadpool(parts.buffer.flush_all)
            parts.tokens.close()
            parts.engine.close()

    routes = (
        core_routes(parts)
        + token_routes(parts.tokens)
        + database_routes(parts.storage, config.delete_enabled)
    )
    app = Starlette(
        routes=routes, lifespan=lifespan, exception_handlers={404: _not_found, 405: _not_found}
    )
    app.router.redirect_slashes = False
    app.add_middleware(GateMiddleware, parts=parts)
    app.state.parts = parts
    return app
