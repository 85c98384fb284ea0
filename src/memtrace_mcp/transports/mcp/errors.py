"""The one translation from what a tool or resource raised to what a model reads.

MCPServer already turns exceptions into ``is_error`` results, but with a prefix
("Error executing tool X: ...") and, for anything it did not expect, only that
prefix. Our server calls :func:`tool_error` on whatever the SDK caught, so:

- a ``MemtraceError`` (bad argument, not found, duplicate, forbidden, ...) keeps
  its safe message plus a hint saying what to change;
- a bad argument caught by the SDK's own schema check is worded like the core's
  validation errors (``field: problem``), not as a pydantic dump;
- anything else is logged with its traceback and reported as a generic internal
  error, so no SQLite, Arc or httpx text ever reaches the model.
"""

from __future__ import annotations

import logging

from mcp.server.mcpserver.exceptions import (
    ResourceError,
    ResourceNotFoundError,
    ToolError,
    UnexpectedResourceError,
    UnexpectedToolError,
)
from pydantic import ValidationError

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
from ...models import describe

log = logging.getLogger(__name__)

INTERNAL = "internal error in the memory server (details are in its log); retrying will not help"


def hint(exc: MemtraceError) -> str:
    """What the model should do next, by error class (most specific first)."""
    if isinstance(exc, DuplicateMemoryError):
        return f"Nothing new was stored; cite memory_id {exc.memory_id} instead of storing it again."
    if isinstance(exc, InvalidInputError):
        return "Fix that argument and call the tool again."
    if isinstance(exc, NotFoundError):
        return (
            "Check the id: search_memories lists memory ids, start_session returns a "
            "session id. Do not guess ids."
        )
    if isinstance(exc, ForbiddenError):
        return "The API key in use does not allow this; do not retry with the same key."
    if isinstance(exc, UnauthorizedError):
        return "The memory server rejected the API key; check MEMTRACE_API_KEY."
    if isinstance(exc, ConflictError):
        return "Pick another id or use the full memory_id."
    if isinstance(exc, PayloadTooLargeError):
        return "Shorten the content or metadata and try again."
    if isinstance(exc, UnavailableError):
        return "The memory store is unavailable right now; try again in a moment."
    return ""


def message_for(exc: MemtraceError) -> str:
    text = exc.message.rstrip(".")
    advice = hint(exc)
    return f"{exc.code}: {text}. {advice}".rstrip()


def tool_error(tool: str, exc: ToolError) -> ToolError:
    """The error the model sees for a failed call of ``tool``."""
    cause = exc.__cause__
    if isinstance(cause, MemtraceError):
        return ToolError(message_for(cause))
    if isinstance(cause, ValidationError) and not isinstance(exc, UnexpectedToolError):
        # The SDK checked the arguments against the tool's input schema.
        return ToolError(
            f"invalid_request: {describe(cause)}. Fix that argument and call {tool} again."
        )
    if isinstance(exc, UnexpectedToolError):
        log.error("tool %s failed unexpectedly", tool, exc_info=cause or exc)
        return ToolError(INTERNAL)
    return exc  # the SDK's own, e.g. "Unknown tool: x"


def resource_error(uri: str, exc: ResourceError) -> ResourceError:
    """The error a client sees for a failed resource read."""
    cause = exc.__cause__
    if isinstance(cause, NotFoundError):
        return ResourceNotFoundError(message_for(cause))
    if isinstance(cause, MemtraceError):
        return ResourceError(message_for(cause))
    if isinstance(exc, UnexpectedResourceError):
        log.error("resource %s failed unexpectedly", uri, exc_info=cause or exc)
        return ResourceError(INTERNAL)
    return exc
