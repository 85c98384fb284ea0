"""Size profiles: how much data each run builds and how long each scenario runs."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Size:
    name: str
    memories: int  # background memories at rest, besides the context sessions
    agents: int
    context_sessions: tuple[int, ...]  # one dedicated session of each size
    weeks: int  # the data set's memories are spread over this many weeks
    single_seconds: int  # scenario 1: wrk duration
    batch_requests: int  # scenario 2: requests of 1000 memories
    read_requests: int  # scenario 3: requests per read query
    context_requests: int  # scenario 4: requests per session size
    mcp_starts: int  # scenario 5: cold starts of the stdio server
    mcp_calls: int  # scenarios 5 and 6: round trips per tool
    stdio_memories: int  # scenario 5: memories in the stdio server's data dir
    quick: bool = False


SIZES: dict[str, Size] = {
    s.name: s
    for s in (
        Size("quick", 2_000, 6, (100, 1_000), 6, 2, 3, 25, 8, 2, 20, 500, quick=True),
        Size("10k", 10_000, 20, (100, 1_000, 10_000), 6, 20, 20, 300, 40, 5, 300, 5_000),
        Size("100k", 100_000, 60, (100, 1_000, 10_000), 6, 20, 30, 400, 40, 5, 300, 5_000),
        Size("1m", 1_000_000, 200, (100, 1_000, 10_000), 8, 20, 50, 400, 40, 5, 300, 5_000),
    )
}
