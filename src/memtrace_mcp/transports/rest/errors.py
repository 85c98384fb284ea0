"""The one table from our errors to HTTP, and the handlers that apply it.

Every error leaves as ``{"error": code, "message": text}``; nothing else (FastAPI's
``detail``, Starlette's plain text, a traceback) ever reaches a client.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse
from starlette.routing import Match

from ...errors import (
    ConflictError,
    DuplicateMemoryError,
    ForbiddenError,
    InvalidInputError,
    MemtraceError,
    NotFoundError,
    PayloadTooLargeError,
    UnauthorizedError,
    UnavailableError,
)
from ...models import describe_errors, first_field

log = logging.getLogger(__name__)

STATUS: dict[type[MemtraceError], int] = {
    InvalidInputError: 400,
    UnauthorizedError: 401,
    ForbiddenError: 403,
    NotFoundError: 404,
    ConflictError: 409,
    PayloadTooLargeError: 413,
    UnavailableError: 503,
}

_SOURCES = ("query", "path", "body", "header")
_HTTP_CODES = {404: "not_found", 405: "method_not_allowed", 413: "payload_too_large"}


def error_response(status: int, code: str, message: str, **extra: Any) -> JSONResponse:
    headers = {"WWW-Authenticate": 'Bearer realm="memtrace"'} if status == 401 else None
    return JSONResponse({"error": code, "message": message, **extra}, status, headers=headers)


def status_of(exc: MemtraceError) -> int:
    for cls in type(exc).__mro__:
        if cls in STATUS:
            return STATUS[cls]  # type: ignore[index]
    return 500


def memtrace_error_response(exc: MemtraceError) -> JSONResponse:
    extra: dict[str, Any] = {}
    if exc.field:
        extra["field"] = exc.field
    if isinstance(exc, DuplicateMemoryError):
        extra.update(memory_id=exc.memory_id, dedup_key=exc.dedup_key)
    return error_response(status_of(exc), exc.code, exc.message, **extra)


def unexpected_error_response(exc: Exception) -> JSONResponse:
    log.exception("unhandled error", exc_info=exc)
    return error_response(500, "internal_error", "internal error; the server log has details")


async def _memtrace_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, MemtraceError)
    return memtrace_error_response(exc)


async def _validation_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    # FastAPI prefixes each location with where the value came from; the message
    # names the parameter itself, as for bodies.
    errors = [
        {**e, "loc": tuple(p for p in e.get("loc", ()) if p not in _SOURCES)} for e in exc.errors()
    ]
    extra = {"field": field} if (field := first_field(errors)) else {}
    return error_response(400, "invalid_request", describe_errors(errors), **extra)


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = _HTTP_CODES.get(exc.status_code, "invalid_request")
    message = {404: "no such route", 405: "method not allowed on this route"}.get(
        exc.status_code, str(exc.detail)
    )
    response = error_response(exc.status_code, code, message)
    if exc.headers:
        response.headers.update(exc.headers)
    if exc.status_code == 405:
        # Starlette's Allow names only the first route matching the path; a 405 must
        # name every method the path serves (RFC 9110), which may be several routes.
        allowed = _allowed_methods(request)
        if allowed:
            response.headers["Allow"] = ", ".join(allowed)
    return response


def _allowed_methods(request: Request) -> list[str]:
    """The methods some route serves at this path, asked through the public
    ``BaseRoute.matches`` so that nested (included) routers are covered too."""
    allowed = []
    for method in ("GET", "POST", "PUT", "PATCH", "DELETE"):
        scope = {**request.scope, "method": method}
        if any(route.matches(scope)[0] == Match.FULL for route in request.app.router.routes):
            allowed.append(method)
    return allowed


async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
    return unexpected_error_response(exc)


def install(app: FastAPI) -> None:
    app.add_exception_handler(MemtraceError, _memtrace_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected)


__all__ = [
    "error_response",
    "install",
    "memtrace_error_response",
    "status_of",
    "unexpected_error_response",
]
