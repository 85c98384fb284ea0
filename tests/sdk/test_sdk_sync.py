"""Every method of the synchronous ``memtrace.Memtrace`` client (memtrace-sdk 0.2.0),
unchanged, against a real server: it works and returns the right data."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from memtrace import (
    AddMemoryRequest,
    Agent,
    AgentList,
    AgentStats,
    AuthenticationError,
    ConflictError,
    ContextOptions,
    CreateSessionRequest,
    ListOptions,
    Memory,
    MemoryList,
    Memtrace,
    MemtraceError,
    NotFoundError,
    RegisterAgentRequest,
    SearchQuery,
    SearchResult,
    Session,
    SessionContext,
    SessionList,
)

from ..support.server import ServerProcess
from .conftest import Names


@pytest.fixture
def client(sdk_server: ServerProcess) -> Iterator[Memtrace]:
    with Memtrace(sdk_server.url, sdk_server.admin_key or "") as c:
        yield c


def recent(moment: datetime) -> bool:
    return (
        datetime.now(UTC) - timedelta(minutes=1)
        <= moment
        <= datetime.now(UTC) + timedelta(seconds=5)
    )


def test_remember_stores_an_episodic_memory(client: Memtrace, names: Names) -> None:
    memory = client.remember(names.agent, "User prefers dark mode")
    assert isinstance(memory, Memory)
    assert memory.agent_id == names.agent
    assert memory.content == "User prefers dark mode"
    assert memory.memory_type == "episodic"
    assert memory.event_type == "general"
    assert memory.org_id == "org_default"
    assert recent(memory.time)
    assert memory.dedup_key and len(memory.dedup_key) == 32


def test_recall_returns_the_agents_recent_memories_newest_first(
    client: Memtrace, names: Names
) -> None:
    for text in ("first", "second", "third"):
        client.remember(names.agent, text)
    client.remember(names("other"), "not mine")
    recalled = client.recall(names.agent)
    assert isinstance(recalled, MemoryList)
    assert [m.content for m in recalled.memories] == ["third", "second", "first"]
    assert recalled.count == 3 and recalled.has_more is False
    assert [m.content for m in client.recall(names.agent, since="1h").memories] == [
        "third",
        "second",
        "first",
    ]


def test_decide_stores_a_decision_with_its_reasoning(client: Memtrace, names: Names) -> None:
    memory = client.decide(names.agent, "Use PostgreSQL", "Needs JSONB and window functions")
    assert memory.memory_type == "decision"
    assert memory.event_type == "decision"
    assert memory.content == "Use PostgreSQL"
    assert memory.metadata == {"reasoning": "Needs JSONB and window functions"}


def test_add_memory_echoes_every_field(client: Memtrace, names: Names) -> None:
    request = AddMemoryRequest(
        agent_id=names.agent,
        session_id=names("sess"),
        memory_type="entity",
        event_type="page_crawled",
        content="Crawled https://example.com — found 3 product pages",
        metadata={"url": "https://example.com", "pages_found": 3},
        tags=["crawling", "products"],
        dedup_key=names("dedup"),
        importance=0.7,
        parent_id=names("parent"),
    )
    memory = client.add_memory(request)
    for field, value in request.model_dump(exclude_none=True).items():
        assert getattr(memory, field) == value, field


def test_add_memory_duplicate_raises_conflict_error(client: Memtrace, names: Names) -> None:
    client.remember(names.agent, "only once")
    with pytest.raises(ConflictError) as caught:
        client.remember(names.agent, "only once")
    assert caught.value.status_code == 409
    assert client.recall(names.agent).count == 1


def test_add_memories_stores_a_batch_and_skips_duplicates(client: Memtrace, names: Names) -> None:
    stored = client.add_memories(
        [
            AddMemoryRequest(
                agent_id=names.agent, memory_type="episodic", event_type="step", content="one"
            ),
            AddMemoryRequest(
                agent_id=names.agent, memory_type="decision", event_type="decision", content="two"
            ),
            AddMemoryRequest(
                agent_id=names.agent, memory_type="episodic", event_type="step", content="one"
            ),
        ]
    )
    assert all(isinstance(m, Memory) for m in stored)
    assert [(m.content, m.memory_type) for m in stored] == [
        ("one", "episodic"),
        ("two", "decision"),
    ]
    assert client.recall(names.agent).count == 2


def test_list_memories_applies_every_option(client: Memtrace, names: Names) -> None:
    session = names("sess")
    for i in range(5):
        client.add_memory(
            AddMemoryRequest(
                agent_id=names.agent,
                session_id=session if i % 2 == 0 else None,
                memory_type="episodic",
                event_type="error" if i == 4 else "step",
                content=f"item {i}",
                tags=["a", "b"] if i < 3 else ["a"],
            )
        )
    page = client.list_memories(ListOptions(agent_id=names.agent, limit=2, offset=1, order="asc"))
    assert [m.content for m in page.memories] == ["item 1", "item 2"] and page.has_more is True
    assert [
        m.content
        for m in client.list_memories(ListOptions(agent_id=names.agent, tags="a,b")).memories
    ] == ["item 2", "item 1", "item 0"]
    assert [m.content for m in client.list_memories(ListOptions(session_id=session)).memories] == [
        "item 4",
        "item 2",
        "item 0",
    ]
    assert [
        m.content
        for m in client.list_memories(
            ListOptions(agent_id=names.agent, event_type="error")
        ).memories
    ] == ["item 4"]
    assert (
        client.list_memories(ListOptions(agent_id=names.agent, memory_type="decision")).count == 0
    )
    assert (
        client.list_memories(ListOptions(agent_id=names.agent, since="1h", until="1h")).count == 0
    )
    assert client.list_memories(ListOptions(agent_id=names.agent, since="7d")).count == 5


def test_search_memories_applies_every_filter(client: Memtrace, names: Names) -> None:
    client.add_memory(
        AddMemoryRequest(
            agent_id=names.agent,
            memory_type="episodic",
            event_type="page_crawled",
            content="Crawled EXAMPLE.com",
            tags=["products"],
            importance=0.8,
            session_id=names("s"),
        )
    )
    client.add_memory(
        AddMemoryRequest(
            agent_id=names.agent,
            memory_type="entity",
            event_type="seen",
            content="example.org is down",
            importance=0.2,
        )
    )
    result = client.search_memories(
        SearchQuery(
            agent_id=names.agent,
            session_id=names("s"),
            memory_types=["episodic", "decision"],
            event_types=["page_crawled"],
            tags=["products"],
            content_contains="example.com",
            since="7d",
            until=(datetime.now(UTC) + timedelta(minutes=1)).isoformat(),
            min_importance=0.5,
            limit=10,
            order="desc",
        )
    )
    assert isinstance(result, SearchResult)
    assert [m.content for m in result.results] == ["Crawled EXAMPLE.com"]
    assert result.count == 1
    assert isinstance(result.query_time_ms, int)
    everything = client.search_memories(
        SearchQuery(agent_id=names.agent, content_contains="EXAMPLE")
    )
    assert [m.content for m in everything.results] == ["example.org is down", "Crawled EXAMPLE.com"]


def test_register_get_and_list_agents(client: Memtrace, names: Names) -> None:
    agent = client.register_agent(
        RegisterAgentRequest(name=names.agent, description="Crawls", config={"depth": 3})
    )
    assert isinstance(agent, Agent)
    assert agent.id == agent.name == names.agent
    assert agent.org_id == "org_default"
    assert agent.description == "Crawls" and agent.config == {"depth": 3}
    assert recent(agent.created_at)
    assert client.get_agent(names.agent) == agent
    listed = client.list_agents()
    assert isinstance(listed, AgentList)
    assert listed.count == len(listed.agents)
    assert agent in listed.agents


def test_register_agent_twice_raises_conflict_error(client: Memtrace, names: Names) -> None:
    client.register_agent(RegisterAgentRequest(name=names.agent))
    with pytest.raises(ConflictError):
        client.register_agent(RegisterAgentRequest(name=names.agent))


def test_get_agent_with_reserved_url_characters_in_its_name(client: Memtrace, names: Names) -> None:
    name = f"bot.v2:{names.tag}"
    client.register_agent(RegisterAgentRequest(name=name))
    assert client.get_agent(name).id == name


def test_get_agent_stats_counts_memories_and_sessions(client: Memtrace, names: Names) -> None:
    client.register_agent(RegisterAgentRequest(name=names.agent))
    client.remember(names.agent, "did a thing")
    client.decide(names.agent, "chose a path", "it was shorter")
    client.add_memory(
        AddMemoryRequest(
            agent_id=names.agent, memory_type="episodic", event_type="error", content="it broke"
        )
    )
    first = client.create_session(CreateSessionRequest(agent_id=names.agent))
    client.create_session(CreateSessionRequest(agent_id=names.agent))
    client.close_session(first.id)
    stats = client.get_agent_stats(names.agent)
    assert isinstance(stats, AgentStats)
    assert (stats.agent_id, stats.memory_count, stats.memories_24h, stats.errors_24h) == (
        names.agent,
        3,
        3,
        1,
    )
    assert (stats.session_count, stats.active_sessions) == (2, 1)
    assert stats.memory_types == {"episodic": 2, "decision": 1}
    assert stats.last_active_at is not None and recent(stats.last_active_at)


def test_get_agent_memories_lists_only_that_agent(client: Memtrace, names: Names) -> None:
    for i in range(3):
        client.remember(names.agent, f"mine {i}")
    client.remember(names("other"), "theirs")
    page = client.get_agent_memories(names.agent)
    assert [m.content for m in page.memories] == ["mine 2", "mine 1", "mine 0"]
    limited = client.get_agent_memories(
        names.agent, ListOptions(agent_id=names("other"), limit=1, order="asc")
    )
    assert [m.content for m in limited.memories] == ["mine 0"] and limited.has_more is True


def test_delete_agent_returns_none_and_the_agent_is_gone(client: Memtrace, names: Names) -> None:
    client.register_agent(RegisterAgentRequest(name=names.agent))
    session = client.create_session(CreateSessionRequest(agent_id=names.agent))
    assert client.delete_agent(names.agent) is None
    with pytest.raises(NotFoundError):
        client.get_agent(names.agent)
    with pytest.raises(NotFoundError):
        client.get_session(session.id)
    with pytest.raises(NotFoundError):
        client.delete_agent(names.agent)


def test_sessions_create_get_list_and_close(client: Memtrace, names: Names) -> None:
    session = client.create_session(
        CreateSessionRequest(agent_id=names.agent, metadata={"task": "research"})
    )
    assert isinstance(session, Session)
    assert session.id.startswith("sess_")
    assert (session.agent_id, session.status, session.metadata) == (
        names.agent,
        "active",
        {"task": "research"},
    )
    assert session.closed_at is None and recent(session.created_at)
    assert client.get_session(session.id) == session
    other = client.create_session(CreateSessionRequest(agent_id=names("other")))
    mine = client.list_sessions(agent_id=names.agent)
    assert isinstance(mine, SessionList)
    assert [s.id for s in mine.sessions] == [session.id] and mine.count == 1
    everyone = client.list_sessions()
    assert {session.id, other.id} <= {s.id for s in everyone.sessions}
    assert everyone.count == len(everyone.sessions)

    closed = client.close_session(session.id)
    assert closed.status == "closed"
    assert closed.closed_at is not None and recent(closed.closed_at)
    assert closed.metadata == {"task": "research"}
    assert client.get_session(session.id).status == "closed"


def test_session_context_and_memories(client: Memtrace, names: Names) -> None:
    session = client.create_session(CreateSessionRequest(agent_id=names.agent))
    client.add_memory(
        AddMemoryRequest(
            agent_id=names.agent,
            session_id=session.id,
            memory_type="episodic",
            event_type="page_crawled",
            content="crawled example.com",
        )
    )
    client.add_memory(
        AddMemoryRequest(
            agent_id=names.agent,
            session_id=session.id,
            memory_type="decision",
            event_type="decision",
            content="use postgres",
            metadata={"reasoning": "jsonb"},
        )
    )
    client.add_memory(
        AddMemoryRequest(
            agent_id=names.agent,
            session_id=session.id,
            memory_type="episodic",
            event_type="error",
            content="timeout",
        )
    )
    client.remember(names.agent, "outside the session")

    ctx = client.get_session_context(session.id)
    assert isinstance(ctx, SessionContext)
    assert ctx.session_id == session.id and ctx.memory_count == 3
    assert ctx.context.startswith(f"## Session Context ({session.id})")
    for piece in (
        "### Recent Actions (1)",
        "### Decisions Made (1)",
        "### Errors (1)",
        "crawled example.com",
        "use postgres",
        "jsonb",
        "timeout",
    ):
        assert piece in ctx.context
    assert "outside the session" not in ctx.context

    narrowed = client.get_session_context(
        session.id, ContextOptions(include_types=["decision"], since="1h", max_tokens=500)
    )
    assert (
        narrowed.memory_count == 1
        and "use postgres" in narrowed.context
        and "timeout" not in narrowed.context
    )

    memories = client.get_session_memories(session.id)
    assert [m.content for m in memories.memories] == [
        "timeout",
        "use postgres",
        "crawled example.com",
    ]
    one = client.get_session_memories(
        session.id, ListOptions(session_id="ignored", limit=1, memory_type="decision")
    )
    assert [m.content for m in one.memories] == ["use postgres"] and one.has_more is False


def test_unknown_ids_raise_not_found_error(client: Memtrace, names: Names) -> None:
    with pytest.raises(NotFoundError):
        client.get_session(names("missing"))
    with pytest.raises(NotFoundError):
        client.get_agent(names("missing"))
    with pytest.raises(NotFoundError):
        client.get_agent_stats(names("missing"))
    with pytest.raises(NotFoundError):
        client.get_session_context(names("missing"))
    with pytest.raises(NotFoundError):
        client.close_session(names("missing"))


def test_a_bad_key_raises_authentication_error(sdk_server: ServerProcess) -> None:
    with Memtrace(sdk_server.url, "mtk_" + "A" * 43 + "=") as bad:
        with pytest.raises(AuthenticationError) as caught:
            bad.list_agents()
        assert caught.value.status_code == 401
        with pytest.raises(AuthenticationError):
            bad.remember("a", "x")


def test_invalid_input_raises_memtrace_error_with_status_400(
    client: Memtrace, names: Names
) -> None:
    with pytest.raises(MemtraceError) as caught:
        client.remember("has space", "x")
    assert caught.value.status_code == 400
    assert caught.value.message == "invalid_request"
    session = client.create_session(CreateSessionRequest(agent_id=names.agent))
    with pytest.raises(MemtraceError) as caught:
        client.get_session_context(session.id, ContextOptions(max_tokens=10))
    assert caught.value.status_code == 400
