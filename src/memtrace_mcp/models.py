"""The shapes every layer shares: what clients send, what the service returns.

Validation rules live here and only here, so REST and MCP enforce the same ones.
Each model is strict (a number is never accepted for a string, nor a string for a
number) because a client that sends the wrong type has a bug it should hear about.
Size limits that are configurable (content, metadata) are checked in the service.
"""

from __future__ import annotations

import json
import math
from datetime import datetime
from collections.abc import Sequence
from typing import Annotated, Any, Literal, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
)

from .errors import InvalidInputError

ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$"
EVENT_TYPE_PATTERN = r"^[A-Za-z][A-Za-z0-9_.-]{0,63}$"
TAG_PATTERN = r"^[A-Za-z0-9_.:-]{1,64}$"

MemoryType = Literal["episodic", "session", "decision", "entity"]
MEMORY_TYPES: tuple[MemoryType, ...] = ("episodic", "session", "decision", "entity")
Order = Literal["asc", "desc"]
Scope = Literal["read", "write", "admin"]
SessionStatus = Literal["active", "closed"]

Id = Annotated[str, StringConstraints(pattern=ID_PATTERN)]
EventType = Annotated[str, StringConstraints(pattern=EVENT_TYPE_PATTERN)]
Tag = Annotated[str, StringConstraints(pattern=TAG_PATTERN)]
Metadata = dict[str, Any]

MAX_LIMIT = 1000
MAX_BATCH = 1000
MAX_JSON_DEPTH = 32


def _plain_text(value: str) -> str:
    # Neither store can keep NUL in text it queries (Arc's SQL literals refuse it),
    # nor a lone surrogate (not UTF-8): refused at the door, the same for every face
    # and backend, instead of failing (500) deep in a store.
    if "\x00" in value:
        raise ValueError("must not contain the NUL character")
    try:
        value.encode()
    except UnicodeEncodeError:
        raise ValueError("must be valid Unicode text (no lone surrogates)") from None
    return value


def _scan(value: object, limit: int) -> tuple[bool, bool, bool, bool]:
    """One walk over a JSON value: (nested too deep, holds NaN or Infinity, holds
    text that is not valid Unicode, holds something other than JSON's types)."""
    nan = bad_text = unusual = False
    stack: list[tuple[object, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list) and depth > limit:
            return True, nan, bad_text, unusual  # too deep: the rest does not matter
        if isinstance(item, dict):
            for key, child in item.items():
                if type(key) is not str:
                    unusual = True
                elif not key.isascii():
                    bad_text = bad_text or not _encodable(key)
                stack.append((child, depth + 1))
        elif isinstance(item, list):
            stack.extend((child, depth + 1) for child in item)
        elif isinstance(item, str):
            if not item.isascii():
                bad_text = bad_text or not _encodable(item)
        elif isinstance(item, float):
            nan = nan or not math.isfinite(item)
        elif not isinstance(item, (int, type(None))):  # bool is an int
            unusual = True
    return False, nan, bad_text, unusual


def _encodable(text: str) -> bool:
    try:
        text.encode()
    except UnicodeEncodeError:
        return False
    return True


def _storable_object(value: dict[str, Any]) -> dict[str, Any]:
    """A client's JSON object must come back exactly as sent: no NaN/Infinity (not
    JSON), no lone surrogates (not storable as UTF-8), and a nesting depth the
    serialiser handles (a deeper object was stored, then failed every read).

    Checked in one walk rather than by serialising the object (which the service
    does once more to store it: that was a quarter of a batch's event-loop time);
    anything unusual (a non-string key, a tuple) is left to the serialiser's
    verdict, as before."""
    deep, nan, bad_text, unusual = _scan(value, MAX_JSON_DEPTH)
    if deep:
        raise ValueError(f"is nested deeper than {MAX_JSON_DEPTH} levels")
    if unusual:
        return _serialisable_object(value)
    if nan:  # the serialiser reported NaN before surrogates; so does this
        raise ValueError("must not hold NaN or Infinity")
    if bad_text:
        raise ValueError("must hold valid Unicode text (no lone surrogates)")
    return value


def _serialisable_object(value: dict[str, Any]) -> dict[str, Any]:
    try:
        json.dumps(value, ensure_ascii=False, allow_nan=False).encode()
    except UnicodeEncodeError:
        raise ValueError("must hold valid Unicode text (no lone surrogates)") from None
    except ValueError:
        raise ValueError("must not hold NaN or Infinity") from None
    return value


Text = Annotated[str, AfterValidator(_plain_text)]
JsonObject = Annotated[dict[str, Any], AfterValidator(_storable_object)]


class _Input(BaseModel):
    """Base of every client-supplied shape: strict types, unknown keys ignored
    (the original service and its SDKs ignore them too)."""

    model_config = ConfigDict(strict=True, extra="ignore", allow_inf_nan=False)


class _Output(BaseModel):
    model_config = ConfigDict(frozen=True)


# --- memories -------------------------------------------------------------------


class MemoryDraft(_Input):
    """One memory as a client sends it."""

    agent_id: Id = Field(description="Agent that produced the memory; registered on first use.")
    content: Text = Field(min_length=1, description="What happened, was seen or decided.")
    memory_type: MemoryType = "episodic"
    event_type: EventType = Field("general", description="App-defined kind, e.g. page_crawled.")
    session_id: Id | None = None
    metadata: JsonObject | None = None
    tags: list[Tag] | None = Field(None, max_length=32)
    importance: float = Field(0.0, ge=0.0, le=1.0)
    dedup_key: Text | None = Field(None, min_length=1, max_length=256)
    parent_id: Id | None = None


class MemoryBatch(_Input):
    memories: list[MemoryDraft] = Field(min_length=1, max_length=MAX_BATCH)


class Memory(_Output):
    """A stored memory, as every face returns it."""

    memory_id: str
    time: datetime
    org_id: str
    agent_id: str
    session_id: str | None
    memory_type: MemoryType
    event_type: str
    content: str
    metadata: Metadata
    tags: list[str]
    importance: float
    dedup_key: str
    parent_id: str | None


def known_memory(
    memory_id: str,
    time: datetime,
    org_id: str,
    agent_id: str,
    session_id: str | None,
    memory_type: str,
    event_type: str,
    content: str,
    metadata: Metadata,
    tags: list[str],
    importance: float,
    dedup_key: str,
    parent_id: str | None,
) -> Memory:
    """A Memory from values a store holds (validated when they came in), built as
    ``Memory.model_construct`` would build it, without its per-field alias and
    default lookups: those were a third of the cost of reading a row (a context reads
    hundreds) and half of building the answer to a batch of creates."""
    values = {
        "memory_id": memory_id,
        "time": time,
        "org_id": org_id,
        "agent_id": agent_id,
        "session_id": session_id,
        "memory_type": memory_type,
        "event_type": event_type,
        "content": content,
        "metadata": metadata,
        "tags": tags,
        "importance": importance,
        "dedup_key": dedup_key,
        "parent_id": parent_id,
    }
    memory = Memory.__new__(Memory)
    object.__setattr__(memory, "__dict__", values)
    object.__setattr__(memory, "__pydantic_fields_set__", set(values))
    object.__setattr__(memory, "__pydantic_extra__", None)
    object.__setattr__(memory, "__pydantic_private__", None)
    return memory


# ``known_memory`` is only what ``model_construct`` builds while Memory has no
# aliases, defaults, extras, private attributes or post-init hook, and lists its
# fields in this order: checked here, at import.
assert all(
    f.alias is None and f.validation_alias is None and f.is_required()
    for f in Memory.model_fields.values()
)
assert Memory.model_config.get("extra") != "allow" and not Memory.__private_attributes__
assert not Memory.__pydantic_post_init__
assert list(known_memory.__annotations__)[:-1] == list(Memory.model_fields)


class DuplicateInfo(_Output):
    index: int = Field(description="Position of the skipped item in the request.")
    memory_id: str = Field(description="The memory that already holds this dedup key.")
    dedup_key: str


class BatchResult(_Output):
    memories: list[Memory]
    count: int
    duplicates: list[DuplicateInfo]


class MemoryFilter(_Input):
    """Filters shared by list and search. Times are still expressions here."""

    agent_id: Id | None = None
    session_id: Id | None = None
    memory_types: list[MemoryType] | None = Field(None, max_length=4)
    event_types: list[EventType] | None = Field(None, max_length=64)
    tags: list[Tag] | None = Field(None, max_length=32)
    content_contains: Text | None = Field(None, min_length=1, max_length=1024)
    min_importance: float | None = Field(None, ge=0.0, le=1.0)
    since: str | None = Field(None, description="Relative (30m, 2h, 7d, 1w) or ISO 8601.")
    until: str | None = Field(None, description="Relative (30m, 2h, 7d, 1w) or ISO 8601.")
    limit: int = Field(100, ge=1, le=MAX_LIMIT)
    offset: int = Field(0, ge=0, le=10_000_000)
    order: Order = "desc"


class SearchRequest(MemoryFilter):
    limit: int = Field(50, ge=1, le=MAX_LIMIT)


class MemoryQuery(_Output):
    """A resolved filter, scoped to one org: what a store executes."""

    org_id: str
    agent_id: str | None = None
    session_id: str | None = None
    memory_types: tuple[str, ...] = ()
    event_types: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    content_contains: str | None = None
    min_importance: float | None = None
    since_us: int | None = None
    until_us: int | None = None
    limit: int = 100
    offset: int = 0
    order: Order = "desc"


class MemoryPage(_Output):
    memories: list[Memory]
    count: int
    has_more: bool


class SearchResult(_Output):
    results: list[Memory]
    count: int
    has_more: bool
    query_time_ms: int


class MemoryStats(_Output):
    """Counts a store computes for one agent."""

    memory_count: int
    memories_24h: int
    errors_24h: int
    memory_types: dict[str, int]
    last_time: datetime | None


# --- agents ---------------------------------------------------------------------


class AgentDraft(_Input):
    name: Id = Field(description="Agent name; it is also the agent's id.")
    description: Text | None = Field(None, max_length=4096)
    config: JsonObject | None = None


class Agent(_Output):
    id: str
    org_id: str
    name: str
    description: str | None
    config: Metadata
    created_at: datetime
    last_active_at: datetime | None


class AgentList(_Output):
    agents: list[Agent]
    count: int


class AgentStats(_Output):
    agent_id: str
    memory_count: int
    memories_24h: int
    errors_24h: int
    session_count: int
    active_sessions: int
    memory_types: dict[str, int]
    last_active_at: datetime | None


# --- sessions -------------------------------------------------------------------


class SessionDraft(_Input):
    agent_id: Id
    metadata: JsonObject | None = None
    session_id: Id | None = Field(None, description="Optional client-chosen id; sess_<hex> if absent.")


class SessionUpdate(_Input):
    status: SessionStatus | None = None
    metadata: JsonObject | None = Field(
        None, description="Keys are merged into the session's metadata; a null value removes a key."
    )


class Session(_Output):
    id: str
    org_id: str
    agent_id: str
    status: SessionStatus
    metadata: Metadata
    created_at: datetime
    updated_at: datetime
    closed_at: datetime | None


class SessionList(_Output):
    sessions: list[Session]
    count: int


class ContextRequest(_Input):
    since: str | None = Field(None, description="Relative (30m, 2h, 7d, 1w) or ISO 8601.")
    include_types: list[MemoryType] | None = Field(None, max_length=4)
    max_tokens: int | None = Field(None, ge=50, le=200_000)


class SessionContext(_Output):
    session_id: str
    context: str
    memory_count: int
    token_count: int
    truncated: bool


class HistoryRequest(_Input):
    """An agent's recent history across its sessions (what an MCP ``start_session``
    shows so a model can resume work)."""

    agent_id: Id
    max_tokens: int = Field(800, ge=50, le=20_000, description="Token budget of the history.")


class AgentHistory(_Output):
    agent_id: str
    context: str = Field(description="Markdown, rendered like session context; empty if none.")
    memory_count: int = Field(description="Recent memories considered (newest first).")
    token_count: int
    truncated: bool


# --- auth -----------------------------------------------------------------------


class Principal(_Output):
    """Who is calling: the org every read and write is scoped to, and what it may do."""

    org_id: str
    scopes: frozenset[Scope]
    key_id: str | None = None

    def can(self, scope: Scope) -> bool:
        return scope in self.scopes or "admin" in self.scopes


class Org(_Output):
    id: str
    name: str
    created_at: datetime


class ApiKeyInfo(_Output):
    """A key as listed: never the secret, only a prefix to recognise it by."""

    id: str
    org_id: str
    name: str
    prefix: str
    scopes: list[Scope]
    created_at: datetime
    revoked_at: datetime | None


class CreatedApiKey(ApiKeyInfo):
    key: str = Field(description="The secret; shown only in this response.")


class ApiKeyDraft(_Input):
    name: Text = Field(min_length=1, max_length=128)
    scopes: list[Scope] = Field(default_factory=lambda: ["read", "write"], min_length=1, max_length=3)


class ApiKeyList(_Output):
    keys: list[ApiKeyInfo]
    count: int


# --- validation entry point -------------------------------------------------------

_M = TypeVar("_M", bound=BaseModel)


def parse(model: type[_M], data: object, *, prefix: str = "") -> _M:
    """Validate ``data`` as ``model``; bad input becomes one InvalidInputError whose
    message names the field (``memories[3].content: ...``), for every face alike."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise InvalidInputError(describe(exc, prefix), field=_first_field(exc, prefix)) from None


def describe(exc: ValidationError, prefix: str = "") -> str:
    return describe_errors(exc.errors(include_url=False), prefix)


def describe_errors(errors: Sequence[Any], prefix: str = "") -> str:
    """One message for pydantic-shaped errors (also FastAPI's, for query and path
    parameters), naming each field the same way whichever face reported it."""
    parts = []
    for error in errors[:3]:
        where = _loc(error["loc"], prefix) or "body"
        parts.append(f"{where}: {_message(error)}")
    more = len(errors) - 3
    return "; ".join(parts) + (f" (and {more} more)" if more > 0 else "")


def first_field(errors: Sequence[Any], prefix: str = "") -> str | None:
    return (_loc(errors[0]["loc"], prefix) or None) if errors else None


def _first_field(exc: ValidationError, prefix: str) -> str | None:
    return first_field(exc.errors(include_url=False), prefix)


def _loc(loc: tuple[int | str, ...], prefix: str) -> str:
    text = prefix
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text


def _message(error: Any) -> str:
    kind = error["type"]
    if kind == "string_pattern_mismatch":
        return "has characters or a length that are not allowed (" + str(
            error.get("ctx", {}).get("pattern", "")
        ) + ")"
    if kind == "missing":
        return "is required"
    if kind == "literal_error":
        return "must be one of " + str(error.get("ctx", {}).get("expected", ""))
    if kind == "value_error":  # our own validators: their text, without pydantic's prefix
        return str(error.get("ctx", {}).get("error", error["msg"]))
    return str(error["msg"])
