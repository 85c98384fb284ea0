"""Forget and purge: gone from every read at once, deleted in Arc later, for good."""

from __future__ import annotations

import logging
from pathlib import Path

import httpx
import pytest

from memtrace_mcp.config import Settings
from memtrace_mcp.errors import NotFoundError
from memtrace_mcp.models import ContextRequest, MemoryFilter, SearchRequest
from memtrace_mcp.service import Services
from tests.arc_standin.fixtures import ArcServer
from tests.arc_standin.proxy import ChaosProxy

from ..support.arc import arc_settings
from .conftest import QUICK_CACHES, QUICK_HORIZON_S, opened
from .helpers import A, draft, retired, rows_in_arc, shipped, wait_for

pytestmark = pytest.mark.arc


async def forgetting(services: Services) -> int:
    return int((await services.memories.status()).details["forgetting"])


async def assert_hidden(services: Services, memory_id: str, left: int) -> None:
    """``memory_id`` shows in no read; ``left`` memories remain in session "s"."""
    with pytest.raises(NotFoundError):
        await services.memories.get(A, memory_id)
    with pytest.raises(NotFoundError):
        await services.memories.forget(A, memory_id)
    page = await services.memories.list(A, MemoryFilter(session_id="s", limit=100))
    assert memory_id not in {m.memory_id for m in page.memories} and page.count == left
    assert (
        await services.memories.search(A, SearchRequest(content_contains="forget me"))
    ).count == 0
    assert (await services.memories.list(A, MemoryFilter(tags=["secret"]))).count == 0
    context = await services.sessions.context(A, "s", ContextRequest())
    assert context.memory_count == left and "forget me" not in context.context
    assert (await services.agents.stats(A, "agent_1")).memory_count == left


async def test_forget_is_immediate_and_sticks_when_arc_refuses_the_delete(
    arc_standin_factory, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    arc: ArcServer = arc_standin_factory(delete_enabled=False, **QUICK_CACHES)
    settings = arc_settings(arc, tmp_path / "data", "nodelete", arc_cache_horizon_s=QUICK_HORIZON_S)
    async with opened(settings) as services:
        keep = await services.memories.remember(A, draft("keep", session_id="s"))
        gone = await services.memories.remember(
            A, draft("forget me", session_id="s", tags=["secret"])
        )
        await wait_for(lambda: retired(services))  # both are read from Arc now
        with caplog.at_level(logging.WARNING):
            await services.memories.forget(A, gone.memory_id)
            await assert_hidden(services, gone.memory_id, left=1)

            async def refused() -> bool:
                return "arc refuses deletes" in caplog.text

            await wait_for(refused)
        assert await forgetting(services) == 1
        assert (await services.memories.status()).arc == "connected"  # reads still go to Arc
        await assert_hidden(services, gone.memory_id, left=1)
    assert (await rows_in_arc(arc, "nodelete"))[gone.memory_id] == 1  # Arc still has it
    async with opened(settings) as services:  # and a restart does not bring it back
        await assert_hidden(services, gone.memory_id, left=1)
        assert (await services.memories.get(A, keep.memory_id)).content == "keep"


async def test_forget_deletes_in_arc_and_frees_the_dedup_key(
    quick_arc: ArcServer, quick_settings: Settings
) -> None:
    async with opened(quick_settings) as services:
        await services.memories.remember(A, draft("keep", session_id="s"))
        gone = await services.memories.remember(
            A, draft("forget me", session_id="s", tags=["secret"])
        )
        await wait_for(lambda: retired(services))
        await services.memories.forget(A, gone.memory_id)
        await assert_hidden(services, gone.memory_id, left=1)

        async def deleted() -> bool:
            return gone.memory_id not in await rows_in_arc(quick_arc, "quick")

        await wait_for(deleted)

        async def verified() -> bool:
            return await forgetting(services) == 0

        await wait_for(verified)
        await assert_hidden(services, gone.memory_id, left=1)
        again = await services.memories.remember(
            A, draft("forget me", session_id="s", tags=["secret"])
        )
        assert again.memory_id != gone.memory_id


async def test_forget_and_purge_work_while_arc_is_unreachable(
    quick_arc: ArcServer, tmp_path: Path
) -> None:
    url = httpx.URL(quick_arc.url)
    with ChaosProxy(url.host, url.port or 80) as proxy:
        settings = arc_settings(
            quick_arc, tmp_path / "data", "quick", arc_cache_horizon_s=QUICK_HORIZON_S
        )
        settings = settings.model_copy(update={"arc_url": proxy.url})
        async with opened(settings) as services:
            await services.memories.remember(A, draft("keep", session_id="s"))
            gone = await services.memories.remember(
                A, draft("forget me", session_id="s", tags=["secret"])
            )
            purged = await services.memories.remember_batch(
                A, [draft(f"bot {i}", agent_id="bot") for i in range(30)]
            )
            await wait_for(lambda: retired(services))

            proxy.cut()
            await services.memories.forget(A, gone.memory_id)
            await services.agents.delete(A, "bot", purge=True)
            # Arc's memories are out of reach (partial answers); the forgotten stay out.
            with pytest.raises(NotFoundError):
                await services.memories.get(A, gone.memory_id)
            assert (
                await services.memories.search(A, SearchRequest(content_contains="forget"))
            ).count == 0
            assert (await services.memories.list(A, MemoryFilter(agent_id="bot"))).count == 0
            after = await services.memories.remember(A, draft("bot is back", agent_id="bot"))
            assert [
                m.memory_id
                for m in (await services.memories.list(A, MemoryFilter(agent_id="bot"))).memories
            ] == [after.memory_id]
            assert (await services.memories.status()).arc == "disconnected"

            proxy.resume()

            async def done() -> bool:
                return await forgetting(services) == 0 and await retired(services)

            await wait_for(done, timeout=60)
            in_arc = await rows_in_arc(quick_arc, "quick")
            assert gone.memory_id not in in_arc
            assert not {m.memory_id for m in purged.memories} & set(in_arc)
            assert in_arc[after.memory_id] == 1
            await assert_hidden(services, gone.memory_id, left=1)
            bots = await services.memories.list(A, MemoryFilter(agent_id="bot"))
            assert [m.memory_id for m in bots.memories] == [after.memory_id]


async def test_purging_an_agent_whose_memories_arc_holds_but_the_journal_still_keeps(
    quick_arc: ArcServer, tmp_path: Path
) -> None:
    # Shipped and confirmed, but not yet retired (long horizon): dropping them from the
    # journal must not let Arc's copies through.
    settings = arc_settings(quick_arc, tmp_path / "data", "quick", arc_cache_horizon_s=600.0)
    async with opened(settings) as services:
        bots = await services.memories.remember_batch(
            A, [draft(f"bot {i}", agent_id="bot") for i in range(5)]
        )
        await wait_for(lambda: shipped(services))
        await services.agents.delete(A, "bot", purge=True)
        assert (await services.memories.list(A, MemoryFilter(agent_id="bot"))).count == 0

        async def verified() -> bool:
            return await forgetting(services) == 0

        await wait_for(verified)
        assert not {m.memory_id for m in bots.memories} & set(await rows_in_arc(quick_arc, "quick"))
        assert (await services.memories.list(A, MemoryFilter())).count == 0
