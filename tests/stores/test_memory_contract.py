"""What every memory store must do, checked through the services over each backend."""

from __future__ import annotations

import asyncio

import pytest

from memtrace_mcp.errors import DuplicateMemoryError, NotFoundError
from memtrace_mcp.models import (
    ContextRequest,
    MemoryDraft,
    MemoryFilter,
    Principal,
    SearchRequest,
)
from memtrace_mcp.service import Services

A = Principal(org_id="org_default", scopes=frozenset({"admin"}))
B = Principal(org_id="org_b", scopes=frozenset({"admin"}))


def draft(content: str, **fields: object) -> MemoryDraft:
    return MemoryDraft.model_validate({"agent_id": "agent_1", "content": content, **fields})


async def store_many(services: Services, principal: Principal, drafts: list[MemoryDraft]) -> list[str]:
    result = await services.memories.remember_batch(principal, drafts)
    return [m.memory_id for m in result.memories]


async def test_stored_memory_reads_back_with_every_field(services: Services) -> None:
    stored = await services.memories.remember(
        A,
        draft(
            "Crawled https://example.com — 3 pages",
            session_id="sess_1",
            memory_type="decision",
            event_type="page_crawled",
            metadata={"url": "https://example.com", "n": 3, "nested": {"ok": True}},
            tags=["crawling", "products"],
            importance=0.7,
            dedup_key="crawl-1",
            parent_id="parent_1",
        ),
    )
    got = await services.memories.get(A, stored.memory_id)
    assert got == stored
    assert got.org_id == "org_default"
    assert got.metadata == {"url": "https://example.com", "n": 3, "nested": {"ok": True}}
    assert got.tags == ["crawling", "products"]
    assert got.importance == 0.7 and got.dedup_key == "crawl-1" and got.parent_id == "parent_1"


async def test_list_is_newest_first_and_ascending_on_request(services: Services) -> None:
    ids = await store_many(services, A, [draft(f"m{i}") for i in range(5)])
    newest = await services.memories.list(A, MemoryFilter())
    assert [m.memory_id for m in newest.memories] == ids[::-1]
    oldest = await services.memories.list(A, MemoryFilter(order="asc"))
    assert [m.memory_id for m in oldest.memories] == ids


async def test_has_more_is_exact_at_page_boundaries(services: Services) -> None:
    ids = await store_many(services, A, [draft(f"m{i}") for i in range(4)])
    full = await services.memories.list(A, MemoryFilter(limit=4))
    assert full.count == 4 and full.has_more is False
    first = await services.memories.list(A, MemoryFilter(limit=3, order="asc"))
    assert first.has_more is True
    rest = await services.memories.list(A, MemoryFilter(limit=3, offset=3, order="asc"))
    assert [m.memory_id for m in rest.memories] == ids[3:] and rest.has_more is False


async def test_filters_by_agent_session_type_and_event(services: Services) -> None:
    await store_many(
        services,
        A,
        [
            draft("a", agent_id="x", session_id="s1", memory_type="episodic", event_type="e1"),
            draft("b", agent_id="x", session_id="s2", memory_type="decision", event_type="e2"),
            draft("c", agent_id="y", session_id="s1", memory_type="entity", event_type="e1"),
        ],
    )

    async def contents(**flt: object) -> set[str]:
        page = await services.memories.list(A, MemoryFilter.model_validate(flt))
        return {m.content for m in page.memories}

    assert await contents(agent_id="x") == {"a", "b"}
    assert await contents(session_id="s1") == {"a", "c"}
    assert await contents(memory_types=["decision", "entity"]) == {"b", "c"}
    assert await contents(event_types=["e1"]) == {"a", "c"}
    assert await contents(agent_id="x", session_id="s1") == {"a"}


async def test_tags_match_exactly_and_all_must_match(services: Services) -> None:
    await store_many(
        services,
        A,
        [
            draft("golang", tags=["golang"]),
            draft("go", tags=["go", "fast"]),
            draft("go only", tags=["go"]),
        ],
    )

    async def contents(tags: list[str]) -> set[str]:
        page = await services.memories.list(A, MemoryFilter(tags=tags))
        return {m.content for m in page.memories}

    assert await contents(["go"]) == {"go", "go only"}
    assert await contents(["go", "fast"]) == {"go"}
    assert await contents(["gol"]) == set()


@pytest.mark.parametrize(
    ("needle", "expected"),
    [
        ("WORLD", {"Hello World", "world peace"}),
        ("o w", {"Hello World"}),
        ("%", {"100% sure"}),
        ("_", {"snake_case"}),
        ("\\", {"C:\\path"}),
        ("'", {"it's"}),
        ('"', {'say "hi"'}),
        ("école", {"ÉCOLE normale"}),
        ("🙂", {"smile 🙂"}),
        ("e_c", {"snake_case"}) if False else ("ke_c", {"snake_case"}),
    ],
)
async def test_content_contains_is_a_case_insensitive_literal_substring(
    services: Services, needle: str, expected: set[str]
) -> None:
    texts = [
        "Hello World", "world peace", "100% sure", "snake_case", "C:\\path", "it's",
        'say "hi"', "ÉCOLE normale", "smile 🙂", "plain",
    ]
    await store_many(services, A, [draft(t) for t in texts])
    result = await services.memories.search(A, SearchRequest(content_contains=needle))
    assert {m.content for m in result.results} == expected


async def test_min_importance_and_time_window_filter(services: Services) -> None:
    await store_many(services, A, [draft("low", importance=0.2), draft("high", importance=0.9)])
    high = await services.memories.search(A, SearchRequest(min_importance=0.5))
    assert [m.content for m in high.results] == ["high"]
    recent = await services.memories.search(A, SearchRequest(since="1h"))
    assert recent.count == 2
    future = await services.memories.search(A, SearchRequest(since="2999-01-01T00:00:00Z"))
    assert future.count == 0
    before = await services.memories.search(A, SearchRequest(until="1h"))
    assert before.count == 0


async def test_duplicate_within_window_is_refused_with_the_existing_id(services: Services) -> None:
    first = await services.memories.remember(A, draft("same"))
    with pytest.raises(DuplicateMemoryError) as caught:
        await services.memories.remember(A, draft("same"))
    assert caught.value.memory_id == first.memory_id
    # Another org has its own dedup space.
    other = await services.memories.remember(B, draft("same"))
    assert other.memory_id != first.memory_id


async def test_batch_skips_and_reports_duplicates_including_within_the_batch(
    services: Services,
) -> None:
    held = await services.memories.remember(A, draft("held", dedup_key="k1"))
    result = await services.memories.remember_batch(
        A, [draft("new", dedup_key="k2"), draft("again", dedup_key="k1"), draft("twin", dedup_key="k2")]
    )
    assert [m.content for m in result.memories] == ["new"]
    assert [(d.index, d.dedup_key) for d in result.duplicates] == [(1, "k1"), (2, "k2")]
    assert result.duplicates[0].memory_id == held.memory_id
    assert result.duplicates[1].memory_id == result.memories[0].memory_id


async def test_concurrent_identical_creates_store_exactly_one(services: Services) -> None:
    outcomes = await asyncio.gather(
        *(services.memories.remember(A, draft("racy")) for _ in range(50)), return_exceptions=True
    )
    stored = [o for o in outcomes if not isinstance(o, BaseException)]
    assert len(stored) == 1
    assert all(isinstance(o, DuplicateMemoryError) for o in outcomes if isinstance(o, BaseException))
    page = await services.memories.list(A, MemoryFilter())
    assert page.count == 1


async def test_forgotten_memory_is_gone_from_every_read(services: Services) -> None:
    keep, gone = await store_many(
        services, A, [draft("keep", session_id="s"), draft("forget me", session_id="s", tags=["t"])]
    )
    await services.memories.forget(A, gone)
    with pytest.raises(NotFoundError):
        await services.memories.get(A, gone)
    assert [m.memory_id for m in (await services.memories.list(A, MemoryFilter())).memories] == [keep]
    assert (await services.memories.search(A, SearchRequest(content_contains="forget"))).count == 0
    assert (await services.memories.list(A, MemoryFilter(tags=["t"]))).count == 0
    context = await services.sessions.context(A, "s", ContextRequest())
    assert context.memory_count == 1 and "forget me" not in context.context
    # The dedup key is free again.
    await services.memories.remember(A, draft("forget me", session_id="s"))


async def test_short_id_resolves_within_the_org_only(services: Services) -> None:
    stored = await services.memories.remember(A, draft("cite me"))
    short = stored.memory_id[-12:]
    assert (await services.memories.get(A, short)).memory_id == stored.memory_id
    with pytest.raises(NotFoundError):
        await services.memories.get(B, short)


async def test_other_orgs_memories_are_invisible(services: Services) -> None:
    mine = await services.memories.remember(A, draft("secret", session_id="s", tags=["t"]))
    with pytest.raises(NotFoundError):
        await services.memories.get(B, mine.memory_id)
    with pytest.raises(NotFoundError):
        await services.memories.forget(B, mine.memory_id)
    assert (await services.memories.list(B, MemoryFilter())).count == 0
    assert (await services.memories.search(B, SearchRequest(content_contains="secret"))).count == 0
    assert (await services.memories.list(B, MemoryFilter(tags=["t"]))).count == 0
    with pytest.raises(NotFoundError):
        await services.sessions.context(B, "s", ContextRequest())
    assert (await services.memories.get(A, mine.memory_id)).content == "secret"


async def test_agent_stats_count_types_recent_and_errors(services: Services) -> None:
    await store_many(
        services,
        A,
        [
            draft("ok", event_type="step"),
            draft("boom", event_type="error"),
            draft("chose", memory_type="decision"),
        ],
    )
    stats = await services.agents.stats(A, "agent_1")
    assert stats.memory_count == 3 and stats.memories_24h == 3 and stats.errors_24h == 1
    assert stats.memory_types == {"decision": 1, "episodic": 2}
    assert stats.last_active_at is not None


async def test_purging_an_agent_forgets_its_memories_only(services: Services) -> None:
    await store_many(services, A, [draft("x1", agent_id="x"), draft("y1", agent_id="y")])
    await services.agents.delete(A, "x", purge=True)
    page = await services.memories.list(A, MemoryFilter())
    assert [m.content for m in page.memories] == ["y1"]


async def test_context_counts_every_match_and_renders_sections(services: Services) -> None:
    await store_many(
        services,
        A,
        [
            draft("did a", session_id="s", event_type="act"),
            draft("chose b", session_id="s", memory_type="decision", metadata={"reasoning": "cheap"}),
            draft("failed c", session_id="s", event_type="error", memory_type="decision"),
            draft("other session", session_id="t"),
        ],
    )
    ctx = await services.sessions.context(A, "s", ContextRequest())
    assert ctx.memory_count == 3 and ctx.truncated is False
    text = ctx.context
    assert text.startswith("## Session Context (s)\n")
    assert text.index("### Recent Actions (1)") < text.index("### Decisions Made (1)") < text.index(
        "### Errors (1)"
    )
    assert "chose b (reasoning: cheap)" in text and "other session" not in text


async def test_budgeted_context_of_a_long_session_keeps_old_errors_and_important_ones(
    services: Services,
) -> None:
    old = [
        draft("disk full on node 3", session_id="long", event_type="error"),
        draft("customer is the CFO", session_id="long", memory_type="entity", importance=0.9),
    ]
    routine = [draft(f"step {i}", session_id="long") for i in range(400)]
    await store_many(services, A, old + routine)
    ctx = await services.sessions.context(A, "long", ContextRequest(max_tokens=300))
    assert ctx.memory_count == 402 and ctx.truncated and ctx.token_count <= 300
    assert "disk full on node 3" in ctx.context and "customer is the CFO" in ctx.context
    assert "step 399" in ctx.context and "step 0 (#" not in ctx.context
    shown = ctx.context.count("\n- [")
    assert f"_{402 - shown} more memories left out._" in ctx.context
