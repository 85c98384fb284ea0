"""Request and response details shared by the routes: auth context, Fiber-style
JSON body parsing, and Arc's error bodies."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from .auth import TokenInfo


def now_rfc3339_seconds() -> str:
    """The ``timestamp`` of query envelopes: RFC3339 with whole seconds."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def elapsed_ms(started: float) -> int:
    return int((time.monotonic() - started) * 1000)


def error(status: int, message: str, *, success_key: bool = False) -> JSONResponse:
    body: dict[str, object] = {"error": message}
    if success_key:
        body["success"] = False
    return JSONResponse(body, status_code=status)


def token_of(request: Request) -> TokenInfo | None:
    return request.scope.get("arc_token")


def forbidden_unless(request: Request, permission: str | None) -> Response | None:
    """403 unless the authenticated token has ``permission`` (None: any valid token)."""
    info = token_of(request)
    if info is None or permission is None or info.allows(permission):
        return None
    return error(403, f"Permission denied: {permission} required", success_key=True)


class BodyError(Exception):
    """Fiber's BodyParser failure; the message follows "Invalid request body: "."""


def _go_syntax_error(text: str, exc: json.JSONDecodeError) -> str:
    if exc.pos >= len(text.rstrip()):
        return "unexpected end of JSON input"
    return f"invalid character {text[exc.pos]!r} looking for beginning of value"


async def json_body(request: Request, struct: str, fields: dict[str, type]) -> dict[str, object]:
    """Fiber needs ``Content-Type: application/json`` (else 422 Unprocessable Entity);
    Go's decoder ignores unknown fields and rejects mistyped known ones."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "application/json":
        raise BodyError("Unprocessable Entity")
    text = (await request.body()).decode("utf-8", "replace")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise BodyError(_go_syntax_error(text, exc)) from None
    if not isinstance(data, dict):
        kind = {list: "array", str: "string", bool: "bool"}.get(type(data), "number")
        raise BodyError(f"json: cannot unmarshal {kind} into Go value of type api.{struct}")
    for name, expected in fields.items():
        value = data.get(name)
        if value is not None and not isinstance(value, expected):
            kind = {list: "array", str: "string", bool: "bool", dict: "object"}.get(
                type(value), "number"
            )
            go = {str: "string", bool: "bool", list: "[]string", int: "int"}.get(expected, "string")
            raise BodyError(
                f"json: cannot unmarshal {kind} into Go struct field {struct}.{name} of type {go}"
            )
    return data
