"""POST /api/v1/search: structured filters, content_contains, paging (contract §5)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta

import anyio
import httpx
import pytest

from memtrace_mcp.config import Settings

from .conftest import Timed, client_for
from .helpers import MEMORIES, SEARCH, assert_error, contents, remember, search


def results(body: dict) -> list[str]:  # type: ignore[type-arg]
    return contents(body, "results")


@pytest.fixture(scope="module")
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="module")
async def corpus(module_dirs: Callable[[str], Settings]) -> AsyncIterator[httpx.AsyncClient]:
    """Read-only tests share this app."""
    async with client_for(module_dirs("corpus")) as api:
        yield await _corpus(api)


async def _corpus(api: httpx.AsyncClient) -> httpx.AsyncClient:
    await remember(
        api,
        "Crawled https://example.com: 3 products",
        agent_id="crawler",
        session_id="s1",
        event_type="page_crawled",
        tags=["crawling", "products"],
        importance=0.7,
    )
    await remember(
        api,
        "Chose PostgreSQL over MySQL",
        agent_id="planner",
        session_id="s1",
        memory_type="decision",
        event_type="decision",
        tags=["db"],
        importance=0.9,
    )
    await remember(
        api,
        "Timeout talking to example.org",
        agent_id="crawler",
        session_id="s2",
        event_type="error",
        tags=["crawling"],
        importance=0.5,
    )
    await remember(
        api,
        "User prefers dark mode",
        agent_id="planner",
        memory_type="entity",
        event_type="preference",
        tags=["ui", "products"],
        importance=0.2,
    )
    await remember(
        api,
        "Session note: wrap up",
        agent_id="crawler",
        session_id="s2",
        memory_type="session",
        event_type="note",
    )
    return api


async def test_search_with_no_filters_returns_everything_newest_first(
    corpus: httpx.AsyncClient,
) -> None:
    body = await search(corpus)
    assert body["count"] == 5
    assert results(body)[0] == "Session note: wrap up"
    assert body["has_more"] is False
    assert isinstance(body["query_time_ms"], int) and body["query_time_ms"] >= 0


async def test_search_accepts_a_request_with_no_body(corpus: httpx.AsyncClient) -> None:
    r = await corpus.post(SEARCH)
    assert r.status_code == 200
    assert r.json()["count"] == 5


async def test_the_seed_example_query_works(corpus: httpx.AsyncClient) -> None:
    body = await search(
        corpus,
        agent_id="crawler",
        memory_types=["episodic", "decision"],
        event_types=["page_crawled"],
        tags=["products"],
        content_contains="example.com",
        min_importance=0.5,
        since="7d",
        order="desc",
        limit=50,
    )
    assert results(body) == ["Crawled https://example.com: 3 products"]
    assert body["results"][0]["importance"] == 0.7


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"agent_id": "planner"}, ["User prefers dark mode", "Chose PostgreSQL over MySQL"]),
        ({"session_id": "s2"}, ["Session note: wrap up", "Timeout talking to example.org"]),
        ({"memory_types": ["decision"]}, ["Chose PostgreSQL over MySQL"]),
        (
            {"memory_types": ["decision", "entity"]},
            ["User prefers dark mode", "Chose PostgreSQL over MySQL"],
        ),
        ({"memory_types": ["decision", "decision"]}, ["Chose PostgreSQL over MySQL"]),
        (
            {"event_types": ["error", "note"]},
            ["Session note: wrap up", "Timeout talking to example.org"],
        ),
        ({"event_types": ["erro"]}, []),
        (
            {"tags": ["crawling"]},
            ["Timeout talking to example.org", "Crawled https://example.com: 3 products"],
        ),
        ({"tags": ["crawling", "products"]}, ["Crawled https://example.com: 3 products"]),
        ({"tags": ["crawl"]}, []),
        ({"tags": ["product"]}, []),
        (
            {"min_importance": 0.7},
            ["Chose PostgreSQL over MySQL", "Crawled https://example.com: 3 products"],
        ),
        (
            {"min_importance": 0.5},
            [
                "Timeout talking to example.org",
                "Chose PostgreSQL over MySQL",
                "Crawled https://example.com: 3 products",
            ],
        ),
        ({"min_importance": 0.91}, []),
        ({"min_importance": 0}, None),  # all five
        (
            {"agent_id": "crawler", "event_types": ["error"], "tags": ["crawling"]},
            ["Timeout talking to example.org"],
        ),
        ({"agent_id": "nobody"}, []),
        ({"session_id": "s1", "memory_types": ["entity"]}, []),
    ],
)
async def test_search_filters(
    corpus: httpx.AsyncClient, query: dict, expected: list[str] | None
) -> None:  # type: ignore[type-arg]
    body = await search(corpus, **query)
    if expected is None:
        assert body["count"] == 5
    else:
        assert results(body) == expected
        assert body["count"] == len(expected)


@pytest.mark.parametrize(
    ("needle", "expected"),
    [
        ("example", ["Timeout talking to example.org", "Crawled https://example.com: 3 products"]),
        ("EXAMPLE.COM", ["Crawled https://example.com: 3 products"]),
        ("postgresql", ["Chose PostgreSQL over MySQL"]),
        ("PoStGrEs", ["Chose PostgreSQL over MySQL"]),
        ("dark mode", ["User prefers dark mode"]),
        ("https://", ["Crawled https://example.com: 3 products"]),
        ("ex", ["Timeout talking to example.org", "Crawled https://example.com: 3 products"]),
        ("X", ["Timeout talking to example.org", "Crawled https://example.com: 3 products"]),
        ("Q", ["Chose PostgreSQL over MySQL"]),
        (":", ["Session note: wrap up", "Crawled https://example.com: 3 products"]),
        ("zzz", []),
        ("zz", []),
        ("example.net", []),
    ],
)
async def test_content_contains_is_a_case_insensitive_substring_match(
    corpus: httpx.AsyncClient, needle: str, expected: list[str]
) -> None:
    assert results(await search(corpus, content_contains=needle)) == expected


TRICKY = [
    "100% sure",
    "100 percent sure",
    "snake_case_name",
    "snakeXcaseYname",
    r"C:\Users\agent\file.txt",
    "C:/Users/agent/file.txt",
    "it's Bob's \"quoted\" text",
    "its Bobs quoted text",
    "' OR 1=1 --",
    '"; DROP TABLE memories; --',
    "L'ÉCOLE est fermée",
    "la petite école",
    "Привет, МИР",
    "brain 🧠 emoji",
    "NEAR(a b) AND c OR d* ^e col:f",
    "a\\%_b",
]


@pytest.fixture(scope="module")
async def tricky(module_dirs: Callable[[str], Settings]) -> AsyncIterator[httpx.AsyncClient]:
    async with client_for(module_dirs("tricky")) as api:
        r = await api.post(
            MEMORIES, json={"memories": [{"agent_id": "t", "content": c} for c in TRICKY]}
        )
        assert r.status_code == 201 and r.json()["count"] == len(TRICKY)
        yield api


@pytest.mark.parametrize(
    ("needle", "expected"),
    [
        ("%", ["100% sure", "a\\%_b"]),
        ("0%", ["100% sure"]),
        ("100%", ["100% sure"]),
        ("% s", ["100% sure"]),
        ("_", ["snake_case_name", "a\\%_b"]),
        ("e_c", ["snake_case_name"]),
        ("snake_case", ["snake_case_name"]),
        ("\\", [r"C:\Users\agent\file.txt", "a\\%_b"]),
        ("\\u", [r"C:\Users\agent\file.txt"]),
        (r"C:\Users", [r"C:\Users\agent\file.txt"]),
        ("'", ["it's Bob's \"quoted\" text", "' OR 1=1 --", "L'ÉCOLE est fermée"]),
        ("'s", ["it's Bob's \"quoted\" text"]),
        ('"quoted"', ["it's Bob's \"quoted\" text"]),
        ('"', ["it's Bob's \"quoted\" text", '"; DROP TABLE memories; --']),
        ("' OR 1=1 --", ["' OR 1=1 --"]),
        ("' or 1=1", ["' OR 1=1 --"]),
        ('"; DROP TABLE', ['"; DROP TABLE memories; --']),
        ("école", ["la petite école", "L'ÉCOLE est fermée"]),
        ("ÉCOLE", ["la petite école", "L'ÉCOLE est fermée"]),
        ("É", ["la petite école", "L'ÉCOLE est fermée"]),
        ("é", ["la petite école", "L'ÉCOLE est fermée"]),
        ("fermÉe", ["L'ÉCOLE est fermée"]),
        ("привет", ["Привет, МИР"]),
        ("мир", ["Привет, МИР"]),
        ("🧠", ["brain 🧠 emoji"]),
        ("🧠 e", ["brain 🧠 emoji"]),
        ("NEAR(a", ["NEAR(a b) AND c OR d* ^e col:f"]),
        ("d*", ["NEAR(a b) AND c OR d* ^e col:f"]),
        ("^e", ["NEAR(a b) AND c OR d* ^e col:f"]),
        ("col:f", ["NEAR(a b) AND c OR d* ^e col:f"]),
        ("AND", ["NEAR(a b) AND c OR d* ^e col:f"]),
        ("\\%_", ["a\\%_b"]),
        ("%_", ["a\\%_b"]),
    ],
)
async def test_content_contains_is_safe_for_any_text(
    tricky: httpx.AsyncClient, needle: str, expected: list[str]
) -> None:
    found = results(await search(tricky, content_contains=needle, limit=100))
    assert sorted(found) == sorted(expected)


async def test_content_contains_of_1024_chars_is_accepted(api: httpx.AsyncClient) -> None:
    text = "abc" * 400
    await remember(api, text)
    assert results(await search(api, content_contains=text[:1024])) == [text]


async def test_search_default_limit_is_50_with_exact_has_more(api: httpx.AsyncClient) -> None:
    r = await api.post(
        MEMORIES, json={"memories": [{"agent_id": "a", "content": f"c{i}"} for i in range(51)]}
    )
    assert r.status_code == 201
    body = await search(api)
    assert body["count"] == 50 and body["has_more"] is True
    body = await search(api, limit=51)
    assert body["count"] == 51 and body["has_more"] is False


async def test_search_pages_with_offset_and_order(api: httpx.AsyncClient) -> None:
    for i in range(7):
        await remember(api, f"n{i}")
    first = await search(api, limit=3, order="asc")
    assert results(first) == ["n0", "n1", "n2"] and first["has_more"] is True
    last = await search(api, limit=3, offset=6, order="asc")
    assert results(last) == ["n6"] and last["has_more"] is False
    exact = await search(api, limit=3, offset=4, order="desc")
    assert results(exact) == ["n2", "n1", "n0"] and exact["has_more"] is False


async def test_search_since_and_until_accept_relative_and_iso(timed: Timed) -> None:
    for label, hours in [("old", 30), ("mid", 5), ("new", 0.1)]:
        timed.clock.set(datetime.now(UTC) - timedelta(hours=hours))
        await remember(timed.api, label)
    timed.clock.set(datetime.now(UTC))
    assert results(await search(timed.api, since="1d")) == ["new", "mid"]
    assert results(await search(timed.api, until="1h")) == ["mid", "old"]
    assert results(await search(timed.api, since="2d", until="1h", order="asc")) == ["old", "mid"]
    cut = (datetime.now(UTC) - timedelta(hours=10)).isoformat()
    assert results(await search(timed.api, since=cut)) == ["new", "mid"]


async def test_search_results_carry_full_memories(corpus: httpx.AsyncClient) -> None:
    body = await search(corpus, memory_types=["decision"])
    (memory,) = body["results"]
    got = (await corpus.get(f"{MEMORIES}/{memory['memory_id']}")).json()
    assert memory == got


async def test_search_rejects_a_bad_time_naming_it(api: httpx.AsyncClient) -> None:
    assert_error(
        await api.post(SEARCH, json={"since": "last tuesday"}), 400, "invalid_request", "since"
    )
    assert_error(await api.post(SEARCH, json={"until": "1y"}), 400, "invalid_request", "until")


async def test_case_insensitive_match_holds_for_every_script_before_and_after_indexing(
    api: httpx.AsyncClient,
) -> None:
    # Unicode 11 made Georgian Mtavruli the capitals of Mkhedruli: "ᲠᲔᲡᲢᲝᲠᲐᲜᲘ".lower()
    # is "რესტორანი". The embedded store indexes new memories in the background, a few
    # milliseconds after acknowledging them; a search must find them before and after.
    created = await remember(api, "ᲠᲔᲡᲢᲝᲠᲐᲜᲘ menu")
    with anyio.fail_after(10):
        deadline = anyio.current_time() + 1.0  # the index catches up well within this
        while anyio.current_time() < deadline:
            for needle in ("რე", "რესტორანი", "ᲠᲔᲡᲢᲝᲠᲐᲜᲘ", "menu"):
                found = [
                    m["memory_id"] for m in (await search(api, content_contains=needle))["results"]
                ]
                assert found == [created["memory_id"]], needle
