"""API keys over HTTP, read and checked the same way for REST and MCP-over-HTTP.

``ApiKeyGate`` is a pure-ASGI gate: it authenticates every request it guards (so a
revoked key stops working on its next request), answers 401 (or 503 when the key
store cannot answer) in the REST error shape, and hands the caller's principal on
in the scope. Doing this below the web framework keeps per-request dependency
resolution off the hot path.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable

from starlette.types import ASGIApp, Receive, Scope, Send

from ..errors import MemtraceError, UnauthorizedError
from ..models import Principal
from ..service.auth import AuthService

PRINCIPAL_SCOPE_KEY = "memtrace.principal"
_REFUSAL_SCOPE_KEY = "memtrace.auth_error"


def key_from_headers(headers: Iterable[tuple[bytes, bytes]]) -> str | None:
    """``x-api-key: <key>`` or ``Authorization: Bearer <key>`` (scheme case-insensitive)."""
    bearer = None
    for name, value in headers:
        lname = name.lower()
        if lname == b"x-api-key":
            key = value.decode("latin-1").strip()
            if key:
                return key
        elif lname == b"authorization":
            text = value.decode("latin-1").strip()
            scheme, _, token = text.partition(" ")
            if scheme.lower() == "bearer" and token.strip():
                bearer = token.strip()
    return bearer


class ApiKeyGate:
    """Guards every HTTP request whose path starts with one of ``prefixes`` (all, when
    empty). ``user`` optionally builds ``scope["user"]`` from the principal (the MCP
    SDK ties a legacy session to that user). With ``defer=True`` a refused request
    still goes on, carrying its error, and ``scope_principal`` raises it: the REST
    app thereby answers an unknown route 404 and a wrong method 405 whatever the key."""

    def __init__(
        self,
        app: ASGIApp,
        auth: AuthService,
        *,
        prefixes: tuple[str, ...] = (),
        user: Callable[[Principal], object] | None = None,
        defer: bool = False,
    ) -> None:
        self.app = app
        self.auth = auth
        self.prefixes = prefixes
        self.user = user
        self.defer = defer

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or (self.prefixes and not scope["path"].startswith(self.prefixes)):
            await self.app(scope, receive, send)
            return
        try:
            principal = await self.auth.authenticate(key_from_headers(scope["headers"]))
        except MemtraceError as exc:
            if self.defer:
                await self.app({**scope, _REFUSAL_SCOPE_KEY: exc}, receive, send)
                return
            # A key store that cannot answer is a 503, not a 401.
            await _error(send, 401 if isinstance(exc, UnauthorizedError) else 503, exc)
            return
        scope = {**scope, PRINCIPAL_SCOPE_KEY: principal}
        if self.user is not None:
            scope["user"] = self.user(principal)
        await self.app(scope, receive, send)


def scope_principal(scope: Scope) -> Principal:
    """The principal the gate attached; fails closed when there is none."""
    principal = scope.get(PRINCIPAL_SCOPE_KEY)
    if isinstance(principal, Principal):
        return principal
    refusal = scope.get(_REFUSAL_SCOPE_KEY)
    if isinstance(refusal, MemtraceError):
        raise refusal
    raise UnauthorizedError("this request carried no valid API key")


async def _error(send: Send, status: int, exc: MemtraceError) -> None:
    body = json.dumps({"error": exc.code, "message": exc.message}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    if status == 401:
        headers.append((b"www-authenticate", b'Bearer realm="memtrace"'))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
