"""Scenario 4: session context with ``max_tokens`` 2000 for sessions of 100, 1k
and 10k memories (dedicated sessions of the data set).

Checks every answer: the exact memory count, the budget (re-counted here with
the documented rule: a quarter token per ASCII character, one per other
character), and the markdown heading.
"""

from __future__ import annotations

from ..progress import Progress
from ..result import Result, sequential
from ..sizes import Size
from . import Ctx

MAX_TOKENS = 2000
GENERATOR = "httpx, sequential (1 in flight)"


def label(n: int) -> str:
    return f"context_{n // 1000}k" if n >= 1000 and n % 1000 == 0 else f"context_{n}"


def names(size: Size) -> list[str]:
    return [label(n) for n in size.context_sessions]


def tokens(text: str) -> int:
    ascii_chars = len(text.encode("ascii", "ignore"))
    return (ascii_chars + 4 * (len(text) - ascii_chars) + 3) // 4


def run(ctx: Ctx) -> list[Result]:
    results = []
    sessions = sorted(ctx.truth.context_sessions.items())
    n = ctx.size.context_requests
    with ctx.http() as http, Progress(f"{ctx.store} context", n * len(sessions), "requests") as bar:
        for size, session_id in sessions:

            def call(_i: int, session_id: str = session_id, size: int = size) -> str | None:
                answer = http.post(
                    f"/api/v1/sessions/{session_id}/context", json={"max_tokens": MAX_TOKENS}
                )
                if answer.status_code != 200:
                    raise RuntimeError(f"HTTP {answer.status_code}: {answer.text[:200]}")
                body = answer.json()
                counted = tokens(body["context"])
                if body["memory_count"] != size:
                    return f"memory_count {body['memory_count']}, expected {size}"
                if body["token_count"] > MAX_TOKENS or counted > MAX_TOKENS:
                    return f"budget broken: token_count {body['token_count']}, counted {counted}"
                if not body["context"].startswith(f"## Session Context ({session_id})"):
                    return "context does not start with its heading"
                return None

            result = Result(
                label(size), ctx.store, generator=f"{GENERATOR}, max_tokens {MAX_TOKENS}"
            )
            with ctx.profiled(label(size)):
                sequential(result, n, call, progress=bar.advance)
            result.extra["session_memories"] = size
            result.peak_rss_mib = ctx.rss()
            results.append(result)
    return results
