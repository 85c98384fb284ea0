"""GET /api/v1/memories: every filter, time expressions, paging and order (contract §5)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta, timezone

import httpx
import pytest

from memtrace_mcp.config import Settings

from .conftest import Timed, client_for, timed_client
from .helpers import MEMORIES, assert_error, contents, list_memories, remember


@pytest.fixture(scope="module")
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="module")
async def mixed(module_dirs: Callable[[str], Settings]) -> AsyncIterator[httpx.AsyncClient]:
    """Read-only tests share this app."""
    async with client_for(module_dirs("mixed")) as api:
        yield await _mixed(api)


async def _mixed(api: httpx.AsyncClient) -> httpx.AsyncClient:
    """Six memories across agents, sessions, types, event types and tags (oldest first)."""
    await remember(
        api,
        "m1",
        agent_id="alpha",
        session_id="s1",
        memory_type="episodic",
        event_type="page_crawled",
        tags=["go", "web"],
    )
    await remember(
        api,
        "m2",
        agent_id="alpha",
        session_id="s2",
        memory_type="decision",
        event_type="decision",
        tags=["golang"],
    )
    await remember(
        api,
        "m3",
        agent_id="beta",
        session_id="s1",
        memory_type="entity",
        event_type="error",
        tags=["go", "db"],
    )
    await remember(
        api,
        "m4",
        agent_id="beta",
        memory_type="session",
        event_type="user_message",
        tags=["web", "db", "go"],
    )
    await remember(
        api, "m5", agent_id="alpha", session_id="s1", memory_type="episodic", event_type="error"
    )
    await remember(api, "m6", agent_id="gamma", memory_type="episodic", tags=["Go"])
    return api


async def test_list_defaults_to_newest_first_with_count_and_has_more(
    mixed: httpx.AsyncClient,
) -> None:
    page = await list_memories(mixed)
    assert contents(page) == ["m6", "m5", "m4", "m3", "m2", "m1"]
    assert page["count"] == 6
    assert page["has_more"] is False


async def test_list_of_an_empty_org_is_empty(api: httpx.AsyncClient) -> None:
    assert await list_memories(api) == {"memories": [], "count": 0, "has_more": False}


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"agent_id": "alpha"}, ["m5", "m2", "m1"]),
        ({"agent_id": "beta"}, ["m4", "m3"]),
        ({"agent_id": "nobody"}, []),
        ({"agent_id": "alph"}, []),
        ({"session_id": "s1"}, ["m5", "m3", "m1"]),
        ({"session_id": "s2"}, ["m2"]),
        ({"session_id": "s"}, []),
        ({"memory_type": "episodic"}, ["m6", "m5", "m1"]),
        ({"memory_type": "decision"}, ["m2"]),
        ({"memory_type": "entity"}, ["m3"]),
        ({"memory_type": "session"}, ["m4"]),
        ({"event_type": "error"}, ["m5", "m3"]),
        ({"event_type": "page_crawled"}, ["m1"]),
        ({"event_type": "general"}, ["m6"]),
        ({"event_type": "err"}, []),
        ({"agent_id": "alpha", "session_id": "s1"}, ["m5", "m1"]),
        ({"agent_id": "alpha", "event_type": "error"}, ["m5"]),
        ({"session_id": "s1", "memory_type": "entity", "event_type": "error"}, ["m3"]),
    ],
)
async def test_list_filters_match_exactly(
    mixed: httpx.AsyncClient, params: dict[str, str], expected: list[str]
) -> None:
    page = await list_memories(mixed, **params)
    assert contents(page) == expected
    assert page["count"] == len(expected)


@pytest.mark.parametrize(
    ("tags", "expected"),
    [
        ("go", ["m4", "m3", "m1"]),  # not m2 (golang) and not m6 (Go)
        ("golang", ["m2"]),
        ("Go", ["m6"]),
        ("gol", []),
        ("web", ["m4", "m1"]),
        ("go,web", ["m4", "m1"]),  # AND across tags
        ("go,db", ["m4", "m3"]),
        ("go,web,db", ["m4"]),
        ("web,golang", []),
        (" go , db ", ["m4", "m3"]),  # items are trimmed
        ("go,,db,", ["m4", "m3"]),  # empty items are dropped
        ("go,go", ["m4", "m3", "m1"]),
    ],
)
async def test_tags_match_exactly_and_all_must_match(
    mixed: httpx.AsyncClient, tags: str, expected: list[str]
) -> None:
    assert contents(await list_memories(mixed, tags=tags)) == expected


async def test_tags_combine_with_other_filters(mixed: httpx.AsyncClient) -> None:
    page = await list_memories(mixed, tags="go", agent_id="beta", memory_type="entity")
    assert contents(page) == ["m3"]


async def test_order_asc_lists_oldest_first(mixed: httpx.AsyncClient) -> None:
    assert contents(await list_memories(mixed, order="asc")) == ["m1", "m2", "m3", "m4", "m5", "m6"]
    assert contents(await list_memories(mixed, order="asc", tags="go")) == ["m1", "m3", "m4"]


@pytest.mark.parametrize("order", ["desc", "asc"])
async def test_pages_walk_every_memory_once_in_order(api: httpx.AsyncClient, order: str) -> None:
    for i in range(10):
        await remember(api, f"p{i}")
    seen: list[str] = []
    offset = 0
    while True:
        page = await list_memories(api, limit=3, offset=offset, order=order)
        seen += contents(page)
        offset += 3
        if not page["has_more"]:
            break
    expected = [f"p{i}" for i in range(10)]
    assert seen == (expected if order == "asc" else expected[::-1])


async def test_has_more_is_exact_when_a_page_is_exactly_full(api: httpx.AsyncClient) -> None:
    for i in range(4):
        await remember(api, f"e{i}")
    assert (await list_memories(api, limit=4))["has_more"] is False
    assert (await list_memories(api, limit=3))["has_more"] is True
    assert (await list_memories(api, limit=2, offset=2))["has_more"] is False
    assert (await list_memories(api, limit=2, offset=1))["has_more"] is True
    last = await list_memories(api, limit=3, offset=3)
    assert contents(last) == ["e0"] and last["has_more"] is False
    beyond = await list_memories(api, limit=3, offset=10)
    assert beyond == {"memories": [], "count": 0, "has_more": False}


async def test_has_more_is_exact_under_filters_too(mixed: httpx.AsyncClient) -> None:
    assert (await list_memories(mixed, agent_id="alpha", limit=3))["has_more"] is False
    assert (await list_memories(mixed, agent_id="alpha", limit=2))["has_more"] is True
    assert (await list_memories(mixed, tags="go", limit=3))["has_more"] is False
    assert (await list_memories(mixed, tags="go", limit=2))["has_more"] is True


async def test_limit_bounds_1_and_1000_are_accepted(mixed: httpx.AsyncClient) -> None:
    one = await list_memories(mixed, limit=1)
    assert contents(one) == ["m6"] and one["has_more"] is True
    assert (await list_memories(mixed, limit=1000))["count"] == 6


async def test_default_limit_is_100(api: httpx.AsyncClient) -> None:
    r = await api.post(
        MEMORIES, json={"memories": [{"agent_id": "a", "content": f"c{i}"} for i in range(101)]}
    )
    assert r.status_code == 201
    page = await list_memories(api)
    assert page["count"] == 100 and page["has_more"] is True


# --- time -----------------------------------------------------------------------


@pytest.fixture(scope="module")
async def aged(module_dirs: Callable[[str], Settings]) -> AsyncIterator[Timed]:
    """Memories stored 10 days, 2 days, 3 hours, 45 minutes, 10 minutes and 20 seconds
    ago; read-only tests share this app."""
    async with timed_client(module_dirs("aged")) as timed:
        yield await _aged(timed)


async def _aged(timed: Timed) -> Timed:
    for label, delta in [
        ("10d", timedelta(days=10)),
        ("2d", timedelta(days=2)),
        ("3h", timedelta(hours=3)),
        ("45m", timedelta(minutes=45)),
        ("10m", timedelta(minutes=10)),
        ("20s", timedelta(seconds=20)),
    ]:
        timed.clock.set(datetime.now(UTC) - delta)
        await remember(timed.api, f"aged {label}")
    timed.clock.set(datetime.now(UTC))
    return timed


@pytest.mark.parametrize(
    ("since", "expected"),
    [
        ("30s", ["20s"]),
        ("30m", ["10m", "20s"]),  # minutes, not months
        ("1h", ["45m", "10m", "20s"]),
        ("2h", ["45m", "10m", "20s"]),
        ("4h", ["3h", "45m", "10m", "20s"]),
        ("1d", ["3h", "45m", "10m", "20s"]),
        ("7d", ["2d", "3h", "45m", "10m", "20s"]),
        ("1w", ["2d", "3h", "45m", "10m", "20s"]),
        ("2w", ["10d", "2d", "3h", "45m", "10m", "20s"]),
        ("600m", ["3h", "45m", "10m", "20s"]),
    ],
)
async def test_since_relative_means_that_long_ago(
    aged: Timed, since: str, expected: list[str]
) -> None:
    page = await list_memories(aged.api, since=since, order="asc")
    assert contents(page) == [f"aged {e}" for e in expected]


@pytest.mark.parametrize(
    ("until", "expected"),
    [
        ("30m", ["10d", "2d", "3h", "45m"]),
        ("1h", ["10d", "2d", "3h"]),
        ("1d", ["10d", "2d"]),
        ("1w", ["10d"]),
        ("3w", []),
    ],
)
async def test_until_relative_means_older_than_that_long_ago(
    aged: Timed, until: str, expected: list[str]
) -> None:
    page = await list_memories(aged.api, until=until, order="asc")
    assert contents(page) == [f"aged {e}" for e in expected]


async def test_since_and_until_together_make_a_window(aged: Timed) -> None:
    page = await list_memories(aged.api, since="1d", until="30m", order="asc")
    assert contents(page) == ["aged 3h", "aged 45m"]


async def test_iso_8601_times_with_z_offset_and_no_offset_are_the_same_instant(aged: Timed) -> None:
    cut = datetime.now(UTC) - timedelta(hours=1)
    plus_two = cut.astimezone(timezone(timedelta(hours=2)))
    forms = [
        cut.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        cut.replace(tzinfo=None).isoformat(),  # no offset: taken as UTC
        plus_two.isoformat(),  # +02:00
        cut.astimezone(timezone(timedelta(hours=-5, minutes=-30))).isoformat(),
    ]
    for form in forms:
        after = await list_memories(aged.api, since=form, order="asc")
        assert contents(after) == ["aged 45m", "aged 10m", "aged 20s"], form
        before = await list_memories(aged.api, until=form, order="asc")
        assert contents(before) == ["aged 10d", "aged 2d", "aged 3h"], form


async def test_iso_date_only_is_midnight_utc(aged: Timed) -> None:
    tomorrow = (datetime.now(UTC) + timedelta(days=1)).date().isoformat()
    assert (await list_memories(aged.api, since=tomorrow))["count"] == 0
    assert (await list_memories(aged.api, until=tomorrow))["count"] == 6


@pytest.mark.parametrize(
    ("param", "value"),
    [
        ("since", "yesterday"),
        ("since", "0h"),
        ("since", "-2h"),
        ("since", "+2h"),
        ("since", "2H"),
        ("since", "2 h"),
        ("since", "2y"),
        ("since", "1mo"),
        ("since", "h"),
        ("since", "1.5h"),
        ("since", "2026-13-45T00:00:00Z"),
        ("since", "' OR 1=1 --"),
        ("until", "tomorrow"),
        ("until", "0m"),
        ("until", "7days"),
        ("until", "2026-02-30"),
    ],
)
async def test_malformed_times_are_400_naming_the_parameter(
    aged: Timed, param: str, value: str
) -> None:
    r = await aged.api.get(MEMORIES, params={param: value})
    assert_error(r, 400, "invalid_request", field=param)


async def test_memories_at_the_same_instant_are_ordered_by_memory_id(timed: Timed) -> None:
    timed.clock.frozen = True
    r = await timed.api.post(
        MEMORIES, json={"memories": [{"agent_id": "a", "content": f"tie {i}"} for i in range(8)]}
    )
    assert r.status_code == 201
    stored = r.json()["memories"]
    assert len({m["time"] for m in stored}) == 1
    by_id = sorted(stored, key=lambda m: m["memory_id"])
    asc = (await timed.api.get(MEMORIES, params={"order": "asc"})).json()["memories"]
    assert [m["memory_id"] for m in asc] == [m["memory_id"] for m in by_id]
    desc = (await timed.api.get(MEMORIES)).json()["memories"]
    assert [m["memory_id"] for m in desc] == [m["memory_id"] for m in reversed(by_id)]
    # Paging through ties loses nothing and repeats nothing.
    paged = []
    for offset in range(0, 8, 3):
        page = (
            await timed.api.get(MEMORIES, params={"limit": 3, "offset": offset, "order": "asc"})
        ).json()
        paged += [m["memory_id"] for m in page["memories"]]
    assert paged == [m["memory_id"] for m in by_id]


async def test_results_are_ordered_by_time_even_when_written_out_of_order(timed: Timed) -> None:
    """A memory written later but stamped earlier (another process's clock) sorts by its time."""
    timed.clock.set(datetime.now(UTC) - timedelta(minutes=1))
    await remember(timed.api, "newer")
    timed.clock.set(datetime.now(UTC) - timedelta(minutes=5))
    await remember(timed.api, "older")
    assert contents(await list_memories(timed.api)) == ["newer", "older"]
    assert contents(await list_memories(timed.api, order="asc")) == ["older", "newer"]


async def test_since_is_inclusive_and_until_exclusive_to_the_microsecond(
    api: httpx.AsyncClient,
) -> None:
    before = await remember(api, "before")
    pivot = await remember(api, "pivot")
    after = await remember(api, "after")
    at = pivot["time"]  # ISO with microseconds and Z
    assert contents(await list_memories(api, since=at, order="asc")) == ["pivot", "after"]
    assert contents(await list_memories(api, until=at, order="asc")) == ["before"]
    assert contents(
        await list_memories(api, since=before["time"], until=after["time"], order="asc")
    ) == [
        "before",
        "pivot",
    ]


async def test_time_windows_combine_with_tags_and_agents(timed: Timed) -> None:
    api, clock = timed.api, timed.clock
    for label, hours, tags, agent in [
        ("old x", 30, ["x"], "a"),
        ("old y", 29, ["y"], "a"),
        ("new x", 1, ["x"], "a"),
        ("new x other agent", 0.5, ["x"], "b"),
        ("new xy", 0.2, ["x", "y"], "a"),
    ]:
        clock.set(datetime.now(UTC) - timedelta(hours=hours))
        await remember(api, label, tags=tags, agent_id=agent)
    clock.set(datetime.now(UTC))
    assert contents(await list_memories(api, tags="x", since="1d")) == [
        "new xy",
        "new x other agent",
        "new x",
    ]
    assert contents(await list_memories(api, tags="x", until="1d")) == ["old x"]
    assert contents(await list_memories(api, tags="x,y", since="2d")) == ["new xy"]
    assert contents(await list_memories(api, tags="x", agent_id="a", since="2h", until="15m")) == [
        "new x"
    ]
    page = await list_memories(api, tags="x", since="2d", limit=2, offset=1)
    assert contents(page) == ["new x other agent", "new x"] and page["has_more"] is True
