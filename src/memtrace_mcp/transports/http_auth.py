"""The API key of an HTTP request, read the same way by REST and MCP-over-HTTP."""

from __future__ import annotations

from collections.abc import Iterable


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
