"""What the service needs from storage. Concrete stores implement these protocols;
the service never learns which one it talks to.

A ``MemoryStore`` keeps memories; a ``MetadataStore`` keeps orgs, keys, agents and
sessions. Every method takes the org explicitly: there is no unscoped read.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, NamedTuple, Protocol

from ..models import (
    Agent,
    AgentDraft,
    ApiKeyInfo,
    Memory,
    MemoryQuery,
    MemoryStats,
    Org,
    Principal,
    Session,
    SessionStatus,
    known_memory,
)
from ..timeexpr import from_us


class NewMemory(NamedTuple):
    """A validated memory, with the id and time the service gave it. A named tuple:
    a batch builds a thousand, and a frozen dataclass took longer to build than the
    memory took to validate."""

    memory_id: str
    time_us: int
    org_id: str
    agent_id: str
    session_id: str | None
    memory_type: str
    event_type: str
    content: str
    metadata_json: str
    tags: tuple[str, ...]
    importance: float
    dedup_key: str
    parent_id: str | None
    metadata: Mapping[str, Any]  # metadata_json, parsed (the client's object)

    def as_memory(self) -> Memory:
        """The memory as stored, for the answer to the write."""
        return known_memory(
            self.memory_id, from_us(self.time_us), self.org_id, self.agent_id,
            self.session_id, self.memory_type, self.event_type, self.content,
            dict(self.metadata), list(self.tags), self.importance, self.dedup_key,
            self.parent_id,
        )  # fmt: skip


@dataclass(frozen=True, slots=True)
class Duplicate:
    """An insert that was refused because ``dedup_key`` is already held by ``memory_id``."""

    memory_id: str
    dedup_key: str


@dataclass(frozen=True, slots=True)
class StoreStatus:
    store: Literal["embedded", "arc"]
    ready: bool
    arc: Literal["connected", "disconnected", "not_configured"] = "not_configured"
    backlog: int = 0
    details: Mapping[str, int] = field(default_factory=dict)


class MemoryStore(Protocol):
    async def insert_memories(
        self, records: Sequence[NewMemory], *, dedup_since_us: int | None
    ) -> list[Memory | Duplicate]:
        """Store ``records`` atomically with their dedup check: a record whose
        dedup key is held (by a stored memory newer than ``dedup_since_us``, or by an
        earlier record of the same call) comes back as a ``Duplicate``. Returns only
        once the stored ones are durable. ``dedup_since_us=None`` disables dedup."""
        ...

    async def get_memory(self, org_id: str, memory_id: str) -> Memory | None: ...

    async def find_memory_ids(self, org_id: str, short_id: str) -> list[str]:
        """Full ids in the org whose short form (last id group) is ``short_id``."""
        ...

    async def query_memories(self, query: MemoryQuery) -> list[Memory]:
        """Up to ``query.limit`` memories, ordered by (time, memory_id) in ``query.order``."""
        ...

    async def query_many(self, queries: Sequence[MemoryQuery]) -> list[list[Memory]]:
        """``query_memories`` for each query, in order; a store may answer them in one
        read (session context asks for several small candidate lists at once)."""
        ...

    async def count_memories(self, query: MemoryQuery) -> int: ...

    async def delete_memory(self, org_id: str, memory_id: str) -> bool: ...

    async def delete_agent_memories(self, org_id: str, agent_id: str) -> int: ...

    async def memory_stats(self, org_id: str, agent_id: str, since_us: int) -> MemoryStats: ...

    async def status(self) -> StoreStatus: ...


@dataclass(frozen=True, slots=True)
class KeyRecord:
    info: ApiKeyInfo
    key_hash: str


class MetadataStore(Protocol):
    # orgs
    async def ensure_org(self, org_id: str, name: str, now_us: int) -> Org: ...
    async def create_org(self, org_id: str, name: str, now_us: int) -> Org: ...
    async def get_org(self, org_id: str) -> Org | None: ...
    async def list_orgs(self) -> list[Org]: ...

    # keys
    async def insert_key(self, record: KeyRecord, *, only_if_no_keys: bool = False) -> bool:
        """Store a key. With ``only_if_no_keys``, store it only when the store holds no
        active key at all (first-run bootstrap, race-free across processes)."""
        ...

    async def principal_for_hash(self, key_hash: str) -> Principal | None:
        """The principal of an active (unrevoked) key, or None."""
        ...

    async def list_keys(self, org_id: str | None) -> list[ApiKeyInfo]: ...
    async def revoke_key(self, org_id: str | None, key_id: str, now_us: int) -> bool: ...

    # agents
    async def touch_agents(self, org_id: str, last_active: Mapping[str, int]) -> None:
        """Register unknown agents and move ``last_active_at`` forward."""
        ...

    async def insert_agent(self, org_id: str, draft: AgentDraft, now_us: int) -> Agent:
        """Raises ConflictError when the org already has an agent with that id."""
        ...

    async def get_agent(self, org_id: str, agent_id: str) -> Agent | None: ...
    async def list_agents(self, org_id: str) -> list[Agent]: ...
    async def delete_agent(self, org_id: str, agent_id: str) -> bool:
        """Remove the agent and its sessions."""
        ...

    # sessions
    async def insert_session(self, session: Session) -> Session:
        """Raises ConflictError when the id is taken in the org."""
        ...

    async def get_session(self, org_id: str, session_id: str) -> Session | None: ...
    async def list_sessions(
        self, org_id: str, agent_id: str | None, status: SessionStatus | None
    ) -> list[Session]: ...
    async def update_session(
        self,
        org_id: str,
        session_id: str,
        *,
        status: SessionStatus | None,
        metadata_patch: Mapping[str, object] | None,
        now_us: int,
    ) -> Session | None: ...
    async def session_counts(self, org_id: str, agent_id: str) -> tuple[int, int]:
        """(sessions, active sessions) of one agent."""
        ...


__all__ = [
    "Duplicate",
    "KeyRecord",
    "MemoryStore",
    "MetadataStore",
    "NewMemory",
    "StoreStatus",
]
