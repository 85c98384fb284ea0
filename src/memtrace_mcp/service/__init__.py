"""The core: every rule of the product, behind four services every face shares."""

from __future__ import annotations

from dataclasses import dataclass

from .agents import AgentService
from .auth import AuthService
from .memories import MemoryService
from .sessions import SessionService


@dataclass(frozen=True)
class Services:
    auth: AuthService
    memories: MemoryService
    agents: AgentService
    sessions: SessionService


__all__ = ["AgentService", "AuthService", "MemoryService", "Services", "SessionService"]
