"""Realistic, reproducible memory data sets, with the ground truth to check reads.

Many agents of uneven activity, sessions of uneven length (a few long ones), times
spread over weeks with each session's memories close together, realistic event
types, tags, metadata and contents (mostly short, some paragraphs, a few long
multi-line ones, a little non-ASCII). Every content starts with ``step <n>`` so no
two share a dedup key (the key hashes the first 200 bytes). A rare needle sits in
a known handful of contents and a common one in about a quarter, so
``content_contains`` results can be checked exactly.

Items carry an explicit time. Only the bench-only loader (``loader.py``) can store
that time; over the API the server stamps its own.
"""

from __future__ import annotations

import random
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from .sizes import Size

RARE_NEEDLE = "quokka-fjord"
COMMON_NEEDLE = "timeout"
DAY_US = 86_400_000_000
HIGH_IMPORTANCE = 0.9

_ROLES = (
    "web_crawler",
    "code_reviewer",
    "support_bot",
    "research_assistant",
    "data_pipeline",
    "planner",
    "qa_tester",
    "devops_agent",
    "sales_assistant",
    "doc_writer",
)
_TAGS = (
    "crawling",
    "products",
    "auth",
    "billing",
    "frontend",
    "backend",
    "db",
    "perf",
    "security",
    "ci",
    "deploy",
    "staging",
    "prod",
    "customer",
    "bug",
    "feature",
    "docs",
    "research",
    "pricing",
    "onboarding",
    "api",
    "search",
    "cache",
    "infra",
    "mobile",
    "analytics",
    "email",
    "payments",
    "refactor",
    "tests",
    "k8s",
    "oncall",
    "release",
    "migration",
    "ux",
    "legal",
    "data-quality",
    "ml",
    "latency",
    "incident",
)
# event type, memory type, weight
_EVENTS = (
    ("tool_call", "episodic", 22),
    ("page_crawled", "episodic", 12),
    ("file_edited", "episodic", 10),
    ("api_call", "episodic", 10),
    ("test_run", "episodic", 7),
    ("user_message", "episodic", 9),
    ("observation", "episodic", 8),
    ("error", "episodic", 6),
    ("decision", "decision", 8),
    ("entity_seen", "entity", 5),
    ("session_note", "session", 3),
)
_TEXT = (
    "the request returned a cached page after retrying with backoff while the queue was "
    "draining and the worker noticed that latency grew past the budget so it split the batch "
    "into smaller chunks checked the schema migrated two tables and confirmed the customer "
    "record matched the invoice total before the deploy window closed because staging was "
    "green the planner moved on to the next ticket but flagged a flaky test in the payments "
    "suite which failed once on a connection timeout to the database replica and once on a "
    "stale fixture the crawler found new product pages with prices in euros and dollars "
    "parsed the tables normalised units stored the results and scheduled a follow up crawl"
)
_WORDS = tuple(_TEXT.split())
_UNICODE = (
    "café résumé naïve",
    "東京 大阪 検索",
    "données élevées",
    "zürich straße",
    "🚀 shipped ✅",
)
_PATHS = (
    "src/api/routes.py",
    "src/db/models.py",
    "web/app.tsx",
    "infra/main.tf",
    "tests/test_auth.py",
)
_TOOLS = ("web_search", "read_file", "run_sql", "http_get", "send_email", "git_diff", "kubectl")
_EXCS = ("TimeoutError", "ConnectionResetError", "KeyError", "ValidationError", "HTTP 502")


@dataclass(slots=True)
class Item:
    seq: int
    time_us: int
    agent_id: str
    session_id: str | None
    memory_type: str
    event_type: str
    content: str
    metadata: dict[str, Any]
    tags: list[str]
    importance: float

    def body(self) -> dict[str, Any]:
        """The item as a client would POST it (the server stamps the time)."""
        return {
            "agent_id": self.agent_id,
            "session_id": self.session_id,
            "memory_type": self.memory_type,
            "event_type": self.event_type,
            "content": self.content,
            "metadata": self.metadata,
            "tags": self.tags,
            "importance": self.importance,
        }


@dataclass
class Truth:
    """What a correct server must answer about the loaded data set."""

    total: int = 0
    agents: Counter[str] = field(default_factory=Counter)
    sessions: Counter[str] = field(default_factory=Counter)
    tags: Counter[str] = field(default_factory=Counter)
    session_agent: dict[str, str] = field(default_factory=dict)
    context_sessions: dict[int, str] = field(default_factory=dict)
    rare: int = 0
    common: int = 0
    high_importance: int = 0
    first_us: int = 0
    last_us: int = 0
    sample_ids: list[str] = field(default_factory=list)


class Dataset:
    """``size.memories`` background memories plus one session per context size."""

    def __init__(
        self,
        size: Size,
        *,
        seed: int = 7,
        memories: int | None = None,
        context_sessions: tuple[int, ...] | None = None,
        seq_base: int = 0,
        end_us: int | None = None,
    ) -> None:
        self.size = size
        self.count = size.memories if memories is None else memories
        self.context = size.context_sessions if context_sessions is None else context_sessions
        self.seq_base = seq_base
        self.end_us = end_us or (time.time_ns() // 1000 - 10 * 60_000_000)
        self.span_us = size.weeks * 7 * DAY_US
        self.agents = [f"{_ROLES[i % len(_ROLES)]}-{i:02d}" for i in range(size.agents)]
        self._seed = seed
        self.truth = Truth()

    @property
    def total(self) -> int:
        return self.count + sum(self.context)

    def _schedule(self) -> list[tuple[int, int, str | None]]:
        """(time_us, agent index, session id) for every memory, in time order."""
        rng = random.Random(self._seed)
        weights = [1 / (i + 1) ** 0.8 for i in range(len(self.agents))]
        start = self.end_us - self.span_us
        plan: list[tuple[int, int, str | None]] = []
        loose = self.count // 10  # memories outside any session
        for _ in range(loose):
            plan.append(
                (
                    rng.randrange(start, self.end_us),
                    rng.choices(range(len(weights)), weights)[0],
                    None,
                )
            )
        n_sess = 0
        while len(plan) < self.count:
            agent = rng.choices(range(len(weights)), weights)[0]
            length = min(max(1, int(rng.lognormvariate(3.2, 1.0))), 600, self.count - len(plan))
            sid = f"sess_{self._seed:x}{n_sess:07x}"
            n_sess += 1
            t = rng.randrange(start, self.end_us - 3_600_000_000)
            for _ in range(length):
                t += int(rng.expovariate(1 / 45_000_000)) + 1
                plan.append((min(t, self.end_us), agent, sid))
        for n in self.context:  # dedicated sessions, 15 s apart, ending two hours ago
            sid = f"sess_ctx_{n}"
            self.truth.context_sessions[n] = sid
            t0 = self.end_us - 2 * 3_600_000_000 - n * 15_000_000
            plan += [(t0 + i * 15_000_000, 0, sid) for i in range(n)]
        plan.sort(key=lambda p: p[0])
        last = 0
        for i, (t, a, s) in enumerate(plan):  # ids are time-based: keep times distinct
            last = max(t, last + 1)
            plan[i] = (last, a, s)
        return plan

    def chunks(self, size: int) -> Iterator[list[Item]]:
        """All items in time order, ``size`` at a time; fills ``truth`` as it goes."""
        self.truth = Truth()  # counted afresh on every pass
        rng = random.Random(self._seed + 1)
        plan = self._schedule()
        rare_every = max(self.total // max(5, self.total // 25_000), 1)
        truth = self.truth
        truth.first_us, truth.last_us = plan[0][0], plan[-1][0]
        chunk: list[Item] = []
        for n, (t, agent_idx, sid) in enumerate(plan):
            seq = self.seq_base + n
            item = _item(
                rng, seq, t, self.agents[agent_idx], sid, rare=n % rare_every == rare_every // 2
            )
            _account(truth, item)
            chunk.append(item)
            if len(chunk) == size:
                yield chunk
                chunk = []
        if chunk:
            yield chunk


def _account(truth: Truth, item: Item) -> None:
    truth.total += 1
    truth.agents[item.agent_id] += 1
    if item.session_id:
        truth.sessions[item.session_id] += 1
        truth.session_agent.setdefault(item.session_id, item.agent_id)
    truth.tags.update(item.tags)
    low = item.content.lower()
    truth.rare += RARE_NEEDLE in low
    truth.common += COMMON_NEEDLE in low
    truth.high_importance += item.importance >= HIGH_IMPORTANCE


def _event(rng: random.Random) -> tuple[str, str]:
    event, mtype, _ = rng.choices(_EVENTS, [w for *_, w in _EVENTS])[0]
    return event, mtype


def _sentences(rng: random.Random, n: int) -> str:
    out = []
    for _ in range(n):
        words = rng.choices(_WORDS, k=rng.randrange(8, 22))
        if rng.random() < 0.05:
            words.append(rng.choice(_UNICODE))
        out.append(" ".join(words).capitalize() + ".")
    return " ".join(out)


def _headline(rng: random.Random, event: str) -> tuple[str, dict[str, Any]]:
    """A short, event-specific first line and its metadata."""
    n = rng.randrange(1, 500)
    if event == "page_crawled":
        url = f"https://shop{rng.randrange(40)}.example.com/p/{rng.randrange(10**6)}"
        return f"Crawled {url}: found {n % 17} product pages", {"url": url, "pages_found": n % 17}
    if event == "tool_call":
        tool = rng.choice(_TOOLS)
        extra = f" timeout={n % 60}s" if rng.random() < 0.3 else ""
        return f"Called {tool}(q={n}){extra} -> ok in {n * 3} ms", {
            "tool": tool,
            "duration_ms": n * 3,
        }
    if event == "file_edited":
        path = rng.choice(_PATHS)
        return f"Edited {path}: +{n % 90} -{n % 31} lines", {"file": path, "lines_added": n % 90}
    if event == "api_call":
        code = rng.choice((200, 200, 200, 201, 404, 429, 500))
        return f"GET /v2/orders/{n} returned {code}", {"status": code, "bytes": n * 113}
    if event == "test_run":
        return f"Ran {n} tests: {n - n % 4} passed, {n % 4} failed", {
            "passed": n - n % 4,
            "failed": n % 4,
        }
    if event == "user_message":
        return f"User asked about invoice #{n} and the refund policy", {
            "channel": rng.choice(("chat", "email"))
        }
    if event == "error":
        exc = rng.choice(_EXCS)
        return (
            f"{exc}: request {COMMON_NEEDLE} after {n % 30 + 1}s talking to db-replica-{n % 3}",
            {"exception": exc, "retryable": n % 2 == 0},
        )
    if event == "decision":
        return f"Use the read replica for report #{n}", {
            "reasoning": "primary is at 80% CPU during business hours",
            "alternatives": ["cache", "primary"],
        }
    if event == "entity_seen":
        return f"Customer acct-{n} is on the enterprise plan, renews in {n % 12 + 1} months", {
            "entity": f"acct-{n}",
            "kind": "customer",
        }
    return f"Session summary: {n % 9 + 1} tickets closed, {n % 4} open", {
        "tickets_closed": n % 9 + 1
    }


def _item(rng: random.Random, seq: int, t: int, agent: str, sid: str | None, *, rare: bool) -> Item:
    event, mtype = _event(rng)
    head, metadata = _headline(rng, event)
    parts = [f"step {seq}: {head}"]
    roll = rng.random()
    if roll > 0.95:  # long: paragraphs, often a traceback-like block
        parts += [
            "\n\n" + _sentences(rng, rng.randrange(3, 8)) for _ in range(rng.randrange(4, 12))
        ]
        if event == "error":
            parts.append(
                "\nTraceback:\n"
                + "\n".join(f'  File "{p}", line {rng.randrange(900)}' for p in _PATHS)
            )
    elif roll > 0.70:  # medium: a paragraph
        parts.append(" " + _sentences(rng, rng.randrange(2, 8)))
    if rare:
        parts.insert(1, f" (saw {RARE_NEEDLE} in the logs)")
    tags = list(
        dict.fromkeys(
            rng.choices(
                _TAGS,
                [1 / (i + 1) for i in range(len(_TAGS))],
                k=rng.choice((0, 1, 1, 2, 2, 2, 3, 3, 4)),
            )
        )
    )
    if event in ("error", "decision"):
        importance = round(rng.uniform(0.5, 1.0), 2)
    else:
        importance = round(min(rng.betavariate(2, 5), 1.0), 2)
    return Item(seq, t, agent, sid, mtype, event, "".join(parts), metadata, tags, importance)
