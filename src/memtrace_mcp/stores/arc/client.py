"""``ArcClient``: the only code that speaks HTTP to Arc.

It owns one ``httpx.AsyncClient`` (connections are reused), retries what is worth
retrying, and sends every failure through :func:`map_arc_errors` so the store sees
only our error tree. What it deliberately does not hide, because only the store knows
what to do about it, is listed in :class:`ArcClient`'s docstring.
"""

from __future__ import annotations

import json
import logging
import random
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Literal, Protocol

import anyio
import httpx

from .columns import ColumnType, write_body
from .failures import (
    ArcDeleteIncompleteError,
    ArcMalformedAnswer,
    ArcStatus,
    error_text,
    map_arc_errors,
)
from .results import Converter, QueryResult
from .sql import (
    Fragment,
    check_delete_where,
    database_name,
    ensure_fits,
    identifier,
    null_safe,
)

logger = logging.getLogger(__name__)

_RETRYABLE = (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError)
_WRITE_PATH = "/api/v1/write/msgpack"
_QUERY_PATH = "/api/v1/query"
_FLUSH_PATH = "/api/v1/write/line-protocol/flush"
_DELETE_PATH = "/api/v1/delete"


class _Secret(Protocol):
    def get_secret_value(self) -> str: ...


@dataclass(frozen=True, slots=True)
class DeleteResult:
    deleted_count: int
    affected_files: int
    rewritten_files: int
    dry_run: bool


class ArcClient:
    """Async client for one Arc database.

    The store must still handle what a client cannot:

    - a 204 means buffered, not durable or visible; queries read flushed Parquet only
      (vis_slow_query_partial), and even after :meth:`flush` visibility is eventual;
    - :meth:`delete` sees flushed rows only: unflushed ones come back at the next flush
      (del_buf_*). "Forget" is flush, delete, then query to verify;
    - a write retried after a timeout may land twice (Arc never deduplicates columnar
      writes), so reads must collapse duplicate rows of one memory version;
    - :class:`ArcFlushFailedError` means a buffered batch may be lost: re-ship it.
    """

    def __init__(
        self,
        base_url: str,
        token: str | _Secret,
        database: str,
        *,
        timeout: float | httpx.Timeout = 10.0,
        auth_header: Literal["bearer", "x-api-key"] = "bearer",
        max_attempts: int = 4,
        backoff_base: float = 0.1,
        backoff_max: float = 2.0,
        sleep: Callable[[float], Awaitable[None]] = anyio.sleep,
        jitter: Callable[[], float] = random.random,
        transport: httpx.AsyncBaseTransport | None = None,
        max_connections: int = 10,
    ) -> None:
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        secret = token if isinstance(token, str) else token.get_secret_value()
        if not secret:
            raise ValueError("an Arc token is required")
        self.database = database_name(database)
        # Arc reads "Bearer" case-sensitively (golden auth_lowercase_bearer).
        auth = (
            {"Authorization": f"Bearer {secret}"}
            if auth_header == "bearer"
            else {"x-api-key": secret}
        )
        self._http = httpx.AsyncClient(
            base_url=base_url.rstrip("/"),
            headers={**auth, "x-arc-database": self.database},
            timeout=timeout if isinstance(timeout, httpx.Timeout) else httpx.Timeout(timeout),
            limits=httpx.Limits(
                max_connections=max_connections, max_keepalive_connections=max_connections
            ),
            transport=transport,
        )
        self._max_attempts = max_attempts
        self._backoff_base = backoff_base
        self._backoff_max = backoff_max
        self._sleep = sleep
        self._jitter = jitter

    def __repr__(self) -> str:  # never show the token
        return f"ArcClient({str(self._http.base_url)!r}, database={self.database!r})"

    async def __aenter__(self) -> ArcClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    # --- transport ------------------------------------------------------------------

    def _delay(self, attempt: int) -> float:
        """Exponential backoff with equal jitter: half fixed, half random."""
        ceiling = min(self._backoff_max, self._backoff_base * 2.0 ** (attempt - 1))
        return ceiling / 2 + ceiling / 2 * self._jitter()

    async def _send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """Send with retries on connection errors, timeouts and 503 only. A 500 from
        Arc usually means a bad request (README "5xx for bad input"): never retried."""
        for attempt in range(1, self._max_attempts + 1):
            try:
                response = await self._http.request(method, path, **kwargs)
            except _RETRYABLE as exc:
                if attempt == self._max_attempts:
                    raise
                logger.info("arc %s %s: %s, retrying", method, path, type(exc).__name__)
            else:
                if response.status_code != 503 or attempt == self._max_attempts:
                    return response
                logger.info("arc %s %s: 503, retrying", method, path)
            await self._sleep(self._delay(attempt))
        raise AssertionError("unreachable")

    async def _call(self, op: str, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """One Arc call whose non-2xx answers raise :class:`ArcStatus` (then mapped)."""
        response = await self._send(method, path, **kwargs)
        if not 200 <= response.status_code < 300 or response.status_code == 207:
            raise ArcStatus(op, response.status_code, error_text(response))
        return response

    @staticmethod
    def _json(response: httpx.Response) -> Any:
        try:
            return json.loads(response.content)
        except ValueError:
            raise ArcMalformedAnswer("answer is not JSON") from None

    # --- operations -----------------------------------------------------------------

    async def write_columns(
        self,
        measurement: str,
        columns: Mapping[str, Sequence[object]],
        *,
        types: Mapping[str, ColumnType] | None = None,
    ) -> None:
        """Write one columnar batch (``time`` in integer µs). Validated before sending,
        see :mod:`.columns`; raises ``InvalidInputError`` naming the bad column."""
        body = write_body(measurement, columns, types)
        with map_arc_errors("write"):
            await self._call(
                "write",
                "POST",
                _WRITE_PATH,
                content=body,
                headers={"Content-Type": "application/msgpack"},
            )

    async def query(
        self, sql: str, *, convert: Mapping[str, Converter] | None = None
    ) -> QueryResult:
        """Run one SELECT. ``convert`` maps column names to :mod:`.results` converters
        (``{"time": to_time_us, "importance": to_float}``); they run here so a value
        Arc cannot have meant surfaces as ``ArcUnavailableError``, not a crash."""
        ensure_fits(sql)
        with map_arc_errors("query"):
            # Content-Type is required: without it Arc answers 400 (q_no_content_type).
            response = await self._call("query", "POST", _QUERY_PATH, json={"sql": sql})
            return QueryResult.from_arc(self._json(response), convert)

    async def flush(self) -> None:
        """Flush every Arc buffer to Parquet (needs an admin token). Arc answers 200
        even with nothing buffered (vis_main_flush_empty)."""
        with map_arc_errors("flush"):
            response = await self._call("flush", "POST", _FLUSH_PATH)
            body = self._json(response)
            if not isinstance(body, dict) or body.get("status") != "success":
                raise ArcMalformedAnswer("flush did not report success")

    async def delete(
        self,
        measurement: str,
        where: Fragment,
        *,
        dry_run: bool = False,
        expect: int | None = None,
    ) -> DeleteResult:
        """Delete flushed rows matching ``where`` (needs admin and ``delete.enabled``).

        ``where`` is checked against Arc's raw-text delete validator and wrapped in
        ``coalesce(…, false)`` so rows where it is NULL survive (del_null_trap). A
        malformed ``where`` is not an error to Arc, just ``deleted_count: 0``
        (del_where_prefixed, del_unknown_column): pass ``expect`` to turn a count other
        than expected into :class:`ArcDeleteIncompleteError`.
        """
        if not isinstance(where, Fragment):
            raise TypeError("where must be a Fragment built by memtrace sql")
        predicate = check_delete_where(null_safe(Fragment(check_delete_where(where))))
        body: dict[str, Any] = {
            "database": self.database,
            "measurement": str(identifier(measurement, field="measurement")),
            "where": predicate,
        }
        # Recorded shapes: a dry run needs no confirm (del_dry_run); a real delete
        # without confirm:true is a 400 (del_missing_confirm).
        body.update({"dry_run": True} if dry_run else {"confirm": True})
        with map_arc_errors("delete"):
            response = await self._send("POST", _DELETE_PATH, json=body)
            if response.status_code not in (200, 207):
                raise ArcStatus("delete", response.status_code, error_text(response))
            result, complete = _delete_result(self._json(response), dry_run)
        if response.status_code == 207 or not complete:
            logger.warning("arc delete failed on some files")
            raise ArcDeleteIncompleteError(result.deleted_count, expect, response.status_code)
        if expect is not None and result.deleted_count != expect:
            logger.warning("arc delete removed %s rows, expected %s", result.deleted_count, expect)
            raise ArcDeleteIncompleteError(result.deleted_count, expect, response.status_code)
        return result

    async def delete_enabled(self) -> bool:
        """Whether this Arc accepts deletes (``GET /api/v1/delete/config``)."""
        with map_arc_errors("delete_config"):
            response = await self._call("delete_config", "GET", "/api/v1/delete/config")
            body = self._json(response)
            if not isinstance(body, dict):
                raise ArcMalformedAnswer("delete config is not an object")
            return body.get("enabled") is True

    async def health(self) -> bool:
        """Liveness: ``GET /health`` is 200. One try, no token needed, never raises."""
        return await self._probe("/health")

    async def ready(self) -> bool:
        """Readiness: ``GET /ready`` is 200 (503 while Arc starts or stops)."""
        return await self._probe("/ready")

    async def _probe(self, path: str) -> bool:
        try:
            response = await self._http.get(path)
        except httpx.HTTPError as exc:
            logger.info("arc %s unreachable: %s", path, type(exc).__name__)
            return False
        return response.status_code == 200


def _delete_result(answer: Any, dry_run: bool) -> tuple[DeleteResult, bool]:
    """Arc's DeleteResponse, and whether it reports every file done."""
    if not isinstance(answer, dict):
        raise ArcMalformedAnswer("delete answer is not an object")
    counts = [answer.get(k, 0) for k in ("deleted_count", "affected_files", "rewritten_files")]
    if not all(isinstance(c, int) and not isinstance(c, bool) for c in counts):
        raise ArcMalformedAnswer("delete counts are not integers")
    deleted, affected, rewritten = counts
    result = DeleteResult(deleted, affected, rewritten, answer.get("dry_run", dry_run) is True)
    return result, answer.get("success") is True and not answer.get("failed_files")
