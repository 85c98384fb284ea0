"""POST /api/v1/sessions/{id}/context: LLM-ready markdown within a hard token budget
(contract §8)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from .conftest import Timed
from .helpers import MEMORIES, SESSIONS, assert_error, counts, remember

LINE = re.compile(
    r"^- \[(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ)\] ([A-Za-z][A-Za-z0-9_.-]*): (.*) \(#([0-9a-f]{12})\)$",
    re.DOTALL,
)
LEFT_OUT = re.compile(r"(\d+) more memor(?:y|ies) left out")


def documented_tokens(text: str) -> int:
    """The counting method rest/sessions.md documents: an ASCII character is a quarter
    token, any other character a whole token, rounded up over the text."""
    units = sum(1 if ord(ch) < 128 else 4 for ch in text)
    return (units + 3) // 4


def sections(context: str) -> list[tuple[str, int, list[str]]]:
    """[(title, n, entries)] in order of appearance; an entry is a bullet with its
    indented continuation lines (multi-line content)."""
    found: list[tuple[str, int, list[str]]] = []
    for raw in context.splitlines():
        head = re.fullmatch(r"### (.+) \((\d+)\)", raw)
        if head:
            found.append((head.group(1), int(head.group(2)), []))
        elif raw.startswith("- [") and found:
            found[-1][2].append(raw)
        elif raw.startswith("  ") and found and found[-1][2]:
            found[-1][2][-1] += "\n" + raw
    return found


async def context(api: httpx.AsyncClient, session_id: str, **body: object) -> dict:  # type: ignore[type-arg]
    r = await api.post(f"{SESSIONS}/{session_id}/context", json=body)
    assert r.status_code == 200, r.text
    data = r.json()
    assert data["session_id"] == session_id
    assert data["token_count"] == documented_tokens(data["context"])
    if "max_tokens" in body:
        assert data["token_count"] <= body["max_tokens"]  # type: ignore[operator]
    for title, n, lines in sections(data["context"]):
        assert n == len(lines), (title, n, lines)  # a section's count is what it shows
        assert all(LINE.match(x) for x in lines), lines
    return data  # type: ignore[no-any-return]


@pytest.fixture
async def session(api: httpx.AsyncClient) -> str:
    r = await api.post(SESSIONS, json={"agent_id": "agent_abc", "session_id": "sess_ctx"})
    assert r.status_code == 201
    return "sess_ctx"


async def test_context_has_heading_and_sections_in_contract_order(
    api: httpx.AsyncClient, session: str
) -> None:
    # Written in an order unlike the section order.
    note = await remember(
        api, "wrap up at five", session_id=session, memory_type="session", event_type="note"
    )
    entity = await remember(
        api,
        "ACME Corp is the customer",
        session_id=session,
        memory_type="entity",
        event_type="entity_seen",
    )
    error = await remember(api, "timeout on example.org", session_id=session, event_type="error")
    decision = await remember(
        api,
        "use PostgreSQL",
        session_id=session,
        memory_type="decision",
        event_type="decision",
        metadata={"reasoning": "needs JSONB"},
    )
    action1 = await remember(
        api, "crawled example.com", session_id=session, event_type="page_crawled"
    )
    action2 = await remember(api, "parsed 3 pages", session_id=session, event_type="parsed")
    await remember(api, "another session's memory", session_id="elsewhere")

    data = await context(api, session)
    assert data["memory_count"] == 6
    assert data["truncated"] is False
    text = data["context"]
    assert text.startswith(f"## Session Context ({session})\n")
    assert [(t, n) for t, n, _ in sections(text)] == [
        ("Recent Actions", 2),
        ("Decisions Made", 1),
        ("Errors", 1),
        ("Known Entities", 1),
        ("Session Notes", 1),
    ]
    by_title = {t: lines for t, _, lines in sections(text)}
    # Newest first within a section.
    assert [LINE.match(x).group(3) for x in by_title["Recent Actions"]] == [
        "parsed 3 pages",
        "crawled example.com",
    ]  # type: ignore[union-attr]
    for memory, title in [
        (action2, "Recent Actions"),
        (action1, "Recent Actions"),
        (decision, "Decisions Made"),
        (error, "Errors"),
        (entity, "Known Entities"),
        (note, "Session Notes"),
    ]:
        (line,) = [x for x in by_title[title] if x.endswith(f"(#{memory['memory_id'][-12:]})")]
        m = LINE.match(line)
        assert m, line
        assert m.group(1) == memory["time"][:19] + "Z"
        assert m.group(2) == memory["event_type"]
        assert m.group(3).startswith(memory["content"])
    assert "use PostgreSQL" in by_title["Decisions Made"][0]
    assert "needs JSONB" in by_title["Decisions Made"][0]
    assert "another session's memory" not in text


async def test_the_short_id_in_a_context_line_resolves_to_the_memory(
    api: httpx.AsyncClient, session: str
) -> None:
    created = await remember(api, "cite me", session_id=session)
    line = sections((await context(api, session))["context"])[0][2][0]
    short = LINE.match(line).group(4)  # type: ignore[union-attr]
    got = await api.get(f"{MEMORIES}/{short}")
    assert got.status_code == 200 and got.json()["memory_id"] == created["memory_id"]


async def test_an_error_of_any_type_appears_only_under_errors(
    api: httpx.AsyncClient, session: str
) -> None:
    for memory_type in ("episodic", "decision", "entity", "session"):
        await remember(
            api,
            f"{memory_type} failure",
            session_id=session,
            memory_type=memory_type,
            event_type="error",
        )
    data = await context(api, session)
    assert [(t, n) for t, n, _ in sections(data["context"])] == [("Errors", 4)]
    assert data["context"].count("failure") == 4


async def test_empty_sections_are_left_out(api: httpx.AsyncClient, session: str) -> None:
    await remember(api, "only a decision", session_id=session, memory_type="decision")
    text = (await context(api, session))["context"]
    assert [t for t, _, _ in sections(text)] == ["Decisions Made"]
    assert "Recent Actions" not in text and "Errors" not in text


async def test_multiline_content_stays_inside_its_bullet(
    api: httpx.AsyncClient, session: str
) -> None:
    await remember(api, "first line\n### Not a heading\n- not a bullet", session_id=session)
    text = (await context(api, session))["context"]
    assert [(t, n) for t, n, _ in sections(text)] == [("Recent Actions", 1)]
    assert "\n  ### Not a heading\n  - not a bullet" in text


async def test_an_existing_session_without_memories_has_just_the_heading(
    api: httpx.AsyncClient, session: str
) -> None:
    data = await context(api, session)
    assert data["memory_count"] == 0
    assert data["truncated"] is False
    assert data["context"].strip() == f"## Session Context ({session})"


async def test_unknown_session_with_no_memories_is_404(api: httpx.AsyncClient) -> None:
    assert_error(await api.post(f"{SESSIONS}/sess_missing/context", json={}), 404, "not_found")


async def test_a_never_created_session_with_memories_has_a_context(api: httpx.AsyncClient) -> None:
    await remember(api, "orphan memory", session_id="adhoc-1")
    data = await context(api, "adhoc-1")
    assert data["memory_count"] == 1
    assert "orphan memory" in data["context"]


async def test_body_may_be_absent_or_empty(api: httpx.AsyncClient, session: str) -> None:
    await remember(api, "x", session_id=session)
    r = await api.post(f"{SESSIONS}/{session}/context")
    assert r.status_code == 200 and r.json()["memory_count"] == 1
    r = await api.post(
        f"{SESSIONS}/{session}/context", content=b"", headers={"content-type": "application/json"}
    )
    assert r.status_code == 200 and r.json()["memory_count"] == 1


async def test_include_types_limits_the_memories(api: httpx.AsyncClient, session: str) -> None:
    await remember(api, "an action", session_id=session)
    await remember(api, "a decision", session_id=session, memory_type="decision")
    await remember(api, "an entity", session_id=session, memory_type="entity")
    data = await context(api, session, include_types=["episodic", "decision"])
    assert data["memory_count"] == 2
    assert "an entity" not in data["context"]
    assert [t for t, _, _ in sections(data["context"])] == ["Recent Actions", "Decisions Made"]


async def test_since_limits_the_memories_and_defaults_to_the_whole_session(timed: Timed) -> None:
    api, clock = timed.api, timed.clock
    await api.post(SESSIONS, json={"agent_id": "a", "session_id": "long"})
    clock.set(datetime.now(UTC) - timedelta(days=3))
    await remember(api, "three days ago", session_id="long")
    clock.set(datetime.now(UTC) - timedelta(hours=2))
    await remember(api, "two hours ago", session_id="long")
    clock.set(datetime.now(UTC))
    whole = await context(api, "long")
    assert whole["memory_count"] == 2 and "three days ago" in whole["context"]
    recent = await context(api, "long", since="4h")
    assert recent["memory_count"] == 1 and "three days ago" not in recent["context"]
    iso = (datetime.now(UTC) - timedelta(days=1)).isoformat()
    assert (await context(api, "long", since=iso))["memory_count"] == 1
    assert (await context(api, "long", since="1w"))["memory_count"] == 2


async def test_a_budget_that_fits_changes_nothing(api: httpx.AsyncClient, session: str) -> None:
    for i in range(3):
        await remember(api, f"small {i}", session_id=session)
    free = await context(api, session)
    budgeted = await context(api, session, max_tokens=200_000)
    assert budgeted["context"] == free["context"]
    assert budgeted["truncated"] is False


@pytest.mark.parametrize("max_tokens", [50, 51, 60, 75, 100, 137, 200, 333, 500, 1000, 2000])
async def test_token_count_never_exceeds_max_tokens(
    api: httpx.AsyncClient, max_tokens: int
) -> None:
    sid = "S" + "x" * 127  # the longest session id makes the longest heading
    items = []
    for i in range(60):
        content = f"#{i} " + ("long content " * (i % 7 * 40)) + ("日本語🧠" * (i % 5))
        items.append(
            {
                "agent_id": "a",
                "session_id": sid,
                "content": content,
                "memory_type": ["episodic", "decision", "entity", "session"][i % 4],
                "event_type": "error" if i % 9 == 0 else "step",
                "importance": (i % 10) / 10,
                "metadata": {"reasoning": "because " * (i % 3 * 50)},
            }
        )
    assert (await api.post(MEMORIES, json={"memories": items})).status_code == 201
    data = await context(api, sid, max_tokens=max_tokens)
    assert data["token_count"] <= max_tokens
    assert data["truncated"] is True
    assert data["memory_count"] == 60
    assert data["context"].startswith(f"## Session Context ({sid})\n")


async def test_long_contents_are_shortened_before_lines_are_dropped(
    api: httpx.AsyncClient, session: str
) -> None:
    made = [
        await remember(api, f"story {i}: " + "word " * 400, session_id=session) for i in range(3)
    ]
    data = await context(api, session, max_tokens=300)
    assert data["truncated"] is True
    assert not LEFT_OUT.search(data["context"])
    lines = [x for _, _, ls in sections(data["context"]) for x in ls]
    assert len(lines) == 3
    for memory in made:
        assert f"(#{memory['memory_id'][-12:]})" in data["context"]
    assert all("…" in line for line in lines)


async def test_under_pressure_errors_decisions_and_important_memories_are_kept_first(
    timed: Timed,
) -> None:
    api, clock = timed.api, timed.clock
    await api.post(SESSIONS, json={"agent_id": "a", "session_id": "busy"})
    clock.set(datetime.now(UTC) - timedelta(hours=5))  # the important ones are the oldest
    error = await remember(api, "disk full on worker 3", session_id="busy", event_type="error")
    decision = await remember(
        api, "switch to the backup region", session_id="busy", memory_type="decision"
    )
    vital = await remember(
        api, "customer said the deadline is Friday", session_id="busy", importance=0.95
    )
    routine = []
    for i in range(40):
        clock.set(datetime.now(UTC) - timedelta(hours=4, minutes=-i))
        routine.append(
            await remember(api, f"routine step {i:02d} " + "detail " * 12, session_id="busy")
        )
    clock.set(datetime.now(UTC))

    data = await context(api, "busy", max_tokens=250)
    text = data["context"]
    assert data["truncated"] is True
    assert data["memory_count"] == 43
    for kept in (error, decision, vital):
        assert f"(#{kept['memory_id'][-12:]})" in text, kept["content"]
    shown = [r for r in routine if f"(#{r['memory_id'][-12:]})" in text]
    assert 0 < len(shown) < 40
    # Newest routine memories are kept before older ones.
    assert shown == routine[-len(shown) :]
    left_out = LEFT_OUT.search(text)
    assert left_out, text
    assert int(left_out.group(1)) == 43 - 3 - len(shown)
    rendered = sum(n for _, n, _ in sections(text))
    assert rendered == 3 + len(shown)
    assert text.rstrip().endswith("left out._") or text.rstrip().splitlines()[-1].startswith("_")


async def test_cjk_and_emoji_content_respects_the_budget(
    api: httpx.AsyncClient, session: str
) -> None:
    for i in range(30):
        await remember(api, str(i) + "学習した内容🧠" * 30, session_id=session)
    data = await context(api, session, max_tokens=120)
    assert data["token_count"] <= 120 and data["truncated"] is True


@pytest.mark.parametrize("max_tokens", [49, 0, -1, 200_001, 10**12])
async def test_max_tokens_out_of_range_is_400(
    api: httpx.AsyncClient, session: str, max_tokens: int
) -> None:
    r = await api.post(f"{SESSIONS}/{session}/context", json={"max_tokens": max_tokens})
    assert_error(r, 400, "invalid_request", field="max_tokens")


async def test_max_tokens_bounds_50_and_200000_are_accepted(
    api: httpx.AsyncClient, session: str
) -> None:
    await remember(api, "x", session_id=session)
    await context(api, session, max_tokens=50)
    await context(api, session, max_tokens=200_000)


async def test_context_changes_nothing(api: httpx.AsyncClient, session: str) -> None:
    await remember(api, "x", session_id=session)
    before = await counts(api)
    await context(api, session, max_tokens=60)
    assert await counts(api) == before
