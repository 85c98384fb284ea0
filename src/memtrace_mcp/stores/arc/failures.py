"""The one place where httpx failures and Arc's answers become our errors.

Why here and only here: Arc's error text carries DuckDB messages, rewritten SQL and
the server's storage path (golden q_describe_table_form), so it must never reach an
API client. :func:`map_arc_errors` logs a shortened copy and raises an error whose
``message`` is fixed text. The classes say what the store can do about a failure:

    UnavailableError
    └── ArcUnavailableError          retry later: network, timeout, 503, Arc down
        ├── ArcAuthError             our token or Arc's config: 401/403, delete disabled
        ├── ArcFlushFailedError      a buffer failed to flush; its rows may be lost
        └── ArcDeleteIncompleteError 207, or deleted_count not what was expected
    MemtraceError
    └── ArcRequestError              Arc refused what we sent (400/404/500): a bug or
        └── ArcPayloadTooLargeError  a poison value, retrying the same bytes won't help
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Literal

import httpx
import msgpack  # type: ignore[import-untyped]

from ...errors import MemtraceError, UnavailableError

logger = logging.getLogger(__name__)

_DUCKDB_CLASS = re.compile(r"\b((?:Binder|Parser|Catalog|Conversion|Invalid Input|IO) Error)\b")
_MAX_LOGGED = 300


class ArcUnavailableError(UnavailableError):
    def __init__(self, message: str = "arc is unavailable", *, status: int | None = None):
        super().__init__(message)
        self.status = status


class ArcAuthError(ArcUnavailableError):
    """Arc refused our credentials or permission: a deployment problem, not the user's."""

    def __init__(
        self, reason: Literal["unauthenticated", "forbidden", "delete_disabled"], status: int
    ) -> None:
        super().__init__("arc is unavailable (access refused)", status=status)
        self.reason = reason


class ArcFlushFailedError(ArcUnavailableError):
    """Arc answered 500 to a flush. Arc drops a batch it cannot flush (golden
    err_empty_arrays_flush), so rows written since the last good flush may be gone."""

    def __init__(self, status: int) -> None:
        super().__init__("arc is unavailable (flush failed)", status=status)


class ArcDeleteIncompleteError(ArcUnavailableError):
    """A delete that did not do all it should: 207, or a count other than expected."""

    def __init__(self, deleted_count: int, expected: int | None, status: int) -> None:
        super().__init__("arc is unavailable (delete incomplete)", status=status)
        self.deleted_count = deleted_count
        self.expected = expected


class ArcRequestError(MemtraceError):
    """Arc refused a request we built. ``error_class`` is DuckDB's stable class name
    (``"Binder Error"`` …) when there is one; Arc's full text is only logged."""

    def __init__(self, status: int, error_class: str | None = None) -> None:
        super().__init__("arc rejected the request")
        self.status = status
        self.error_class = error_class


class ArcPayloadTooLargeError(ArcRequestError):
    """413: the body is over Arc's ``max_payload_size``; send smaller batches."""


class ArcMalformedAnswer(Exception):
    """Internal: a success status whose body is not what Arc sends."""


class ArcStatus(Exception):
    """Internal: a non-success answer on its way to :func:`map_arc_errors`."""

    def __init__(self, op: str, status: int, text: str) -> None:
        super().__init__(op, status)
        self.op = op
        self.status = status
        self.text = text


def error_text(response: httpx.Response) -> str:
    """Arc's ``error`` field from a JSON or msgpack body, else the raw text."""
    body = response.content
    try:
        if response.headers.get("content-type", "").startswith("application/msgpack"):
            decoded = msgpack.unpackb(body, raw=False, timestamp=3)
        else:
            decoded = json.loads(body)
    except (ValueError, msgpack.UnpackException):
        return body.decode("utf-8", "replace")
    if isinstance(decoded, dict) and isinstance(decoded.get("error"), str):
        return str(decoded["error"])
    return body.decode("utf-8", "replace")


def _translate(status: ArcStatus) -> MemtraceError:
    code, text = status.status, status.text
    if code == 401:
        return ArcAuthError("unauthenticated", code)
    if code == 403:
        disabled = "delete operations are disabled" in text.lower()
        return ArcAuthError("delete_disabled" if disabled else "forbidden", code)
    if code == 413:
        return ArcPayloadTooLargeError(code)
    if status.op == "flush" and code == 500:
        return ArcFlushFailedError(code)
    if code in (400, 404, 422):
        return ArcRequestError(code)
    if code == 500 and text.strip():
        # Arc answers 500 for bad input (syntax, unknown column, unsupported value),
        # not only for outages: a 500 carrying Arc's own error text is a bad request.
        match = _DUCKDB_CLASS.search(text)
        return ArcRequestError(code, match.group(1) if match else None)
    return ArcUnavailableError(status=code)


def _shorten(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= _MAX_LOGGED else flat[:_MAX_LOGGED] + "…"


@contextmanager
def map_arc_errors(op: str) -> Iterator[None]:
    """Translate everything that can go wrong talking to Arc into our error tree."""
    try:
        yield
    except ArcStatus as exc:
        error = _translate(exc)
        logger.warning("arc %s failed: HTTP %s: %s", exc.op, exc.status, _shorten(exc.text))
        raise error from None
    except httpx.TimeoutException as exc:
        logger.warning("arc %s timed out: %s", op, type(exc).__name__)
        raise ArcUnavailableError() from exc
    except httpx.TransportError as exc:
        logger.warning("arc %s: connection failed: %s", op, type(exc).__name__)
        raise ArcUnavailableError() from exc
    except ArcMalformedAnswer as exc:
        # A 2xx whose body is not what Arc sends: a proxy page, or a JSON stream cut
        # short after Arc had started it (arc.md §3).
        logger.warning("arc %s: unreadable answer: %s", op, exc)
        raise ArcUnavailableError() from None
