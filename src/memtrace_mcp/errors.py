"""The error tree every layer speaks.

    MemtraceError                      message is always safe to show a client
    ├── InvalidInputError      400     names the offending field
    ├── UnauthorizedError      401
    ├── ForbiddenError         403
    ├── NotFoundError          404
    ├── ConflictError          409
    │   └── DuplicateMemoryError       carries the existing memory_id
    ├── PayloadTooLargeError   413
    └── UnavailableError       503     the store cannot serve right now

The service raises these; adapters translate foreign errors (sqlite3, httpx, Arc)
into them exactly once; each transport maps them to its wire shape exactly once.
This module imports nothing from the package.
"""

from __future__ import annotations


class MemtraceError(Exception):
    """Base of every error a client may see. ``message`` never holds internals."""

    code = "internal_error"

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class InvalidInputError(MemtraceError):
    code = "invalid_request"


class UnauthorizedError(MemtraceError):
    code = "unauthorized"


class ForbiddenError(MemtraceError):
    code = "forbidden"


class NotFoundError(MemtraceError):
    code = "not_found"


class ConflictError(MemtraceError):
    code = "conflict"


class DuplicateMemoryError(ConflictError):
    code = "duplicate"

    def __init__(self, message: str, *, memory_id: str, dedup_key: str) -> None:
        super().__init__(message)
        self.memory_id = memory_id
        self.dedup_key = dedup_key


class PayloadTooLargeError(MemtraceError):
    code = "payload_too_large"


class UnavailableError(MemtraceError):
    code = "unavailable"
