"""Agents: register, look up, list, stats, delete."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from .. import ids
from ..errors import NotFoundError
from ..models import Agent, AgentDraft, AgentList, AgentStats, Principal
from ..stores.base import MemoryStore, MetadataStore
from .auth import require

_DAY_US = 86_400 * 1_000_000


class AgentService:
    def __init__(
        self,
        metadata: MetadataStore,
        memories: MemoryStore,
        clock: Callable[[], int] = ids.next_time_us,
    ) -> None:
        self._metadata = metadata
        self._memories = memories
        self._clock = clock

    async def register(self, principal: Principal, draft: AgentDraft) -> Agent:
        require(principal, "write")
        return await self._metadata.insert_agent(principal.org_id, draft, self._clock())

    async def get(self, principal: Principal, agent_id: str) -> Agent:
        require(principal, "read")
        agent = await self._metadata.get_agent(principal.org_id, agent_id)
        if agent is None:
            raise NotFoundError(f"agent {agent_id!r} not found")
        return agent

    async def list(self, principal: Principal) -> AgentList:
        require(principal, "read")
        agents = await self._metadata.list_agents(principal.org_id)
        return AgentList(agents=agents, count=len(agents))

    async def stats(self, principal: Principal, agent_id: str) -> AgentStats:
        agent = await self.get(principal, agent_id)
        since = self._clock() - _DAY_US
        memory_stats, (sessions, active) = await asyncio.gather(
            self._memories.memory_stats(principal.org_id, agent.id, since),
            self._metadata.session_counts(principal.org_id, agent.id),
        )
        return AgentStats(
            agent_id=agent.id,
            memory_count=memory_stats.memory_count,
            memories_24h=memory_stats.memories_24h,
            errors_24h=memory_stats.errors_24h,
            session_count=sessions,
            active_sessions=active,
            memory_types=memory_stats.memory_types,
            last_active_at=memory_stats.last_time or agent.last_active_at,
        )

    async def delete(self, principal: Principal, agent_id: str, *, purge: bool) -> None:
        """Remove the agent and its sessions; with ``purge`` forget its memories too."""
        require(principal, "write")
        removed = await self._metadata.delete_agent(principal.org_id, agent_id)
        # Purging also reaches memories left behind by an earlier delete without purge.
        purged = await self._memories.delete_agent_memories(principal.org_id, agent_id) if purge else 0
        if not removed and not purged:
            raise NotFoundError(f"agent {agent_id!r} not found")
