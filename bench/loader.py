"""Bench-only data loaders.

``load_at_rest`` writes a data set into an embedded data dir *before* any server
starts, through the SQLite store classes, with each memory's own past time: the
API cannot do that (the server stamps ``time`` itself), and a benchmark of reads
over data that all arrived in the last minute would not be realistic. It is data
at rest; every measured request still goes over HTTP or MCP from another process.

``load_over_api`` sends the same items as batch creates to a running server (used
for the Arc store, whose local journal and Arc half the bench must not forge).
Those memories carry the load time, not the planned one: the report says so, and
``truth.first_us``/``last_us`` are set from the times the server gave.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from datetime import datetime
from pathlib import Path

import httpx

from memtrace_mcp.config import Settings
from memtrace_mcp.ids import memory_id
from memtrace_mcp.models import Session
from memtrace_mcp.service.auth import DEFAULT_ORG
from memtrace_mcp.service.memories import dedup_key_for
from memtrace_mcp.stores.base import NewMemory
from memtrace_mcp.stores.sqlite.db import Database
from memtrace_mcp.stores.sqlite.memories import SqliteMemoryStore
from memtrace_mcp.stores.sqlite.metadata import SqliteMetadataStore
from memtrace_mcp.stores.sqlite.search import index_pending
from memtrace_mcp.timeexpr import from_us, to_us

from .datasets import Dataset, Item
from .progress import Progress

CHUNK = 5_000
SAMPLE_IDS = 2_000


def _record(item: Item) -> NewMemory:
    return NewMemory(
        memory_id=memory_id(item.time_us),
        time_us=item.time_us,
        org_id=DEFAULT_ORG,
        agent_id=item.agent_id,
        session_id=item.session_id,
        memory_type=item.memory_type,
        event_type=item.event_type,
        content=item.content,
        metadata_json=json.dumps(item.metadata, ensure_ascii=False, separators=(",", ":")),
        tags=tuple(item.tags),
        importance=item.importance,
        dedup_key=dedup_key_for(item.agent_id, item.event_type, item.content),
        parent_id=None,
        metadata=item.metadata,
    )


async def _load(data_dir: Path, dataset: Dataset, progress: Progress) -> None:
    db = Database(Settings(data_dir=data_dir).db_path)
    await db.open()
    # Indexed below, at rest: a server that had received these over weeks would
    # have indexed them long ago.
    memories, metadata = SqliteMemoryStore(db, background_index=False), SqliteMetadataStore(db)
    rng = random.Random(11)
    sessions: dict[str, tuple[str, int, int]] = {}  # id -> (agent, first, last)
    try:
        await metadata.ensure_org(DEFAULT_ORG, "Default", dataset.end_us)
        for chunk in dataset.chunks(CHUNK):
            records = [_record(item) for item in chunk]
            # Dedup off: the contents are unique by construction (``step <n>``).
            await memories.insert_memories(records, dedup_since_us=None)
            await metadata.touch_agents(DEFAULT_ORG, {r.agent_id: r.time_us for r in records})
            for rec in records:
                if rec.session_id:
                    agent, first, _ = sessions.get(rec.session_id, (rec.agent_id, rec.time_us, 0))
                    sessions[rec.session_id] = (agent, first, rec.time_us)
            picks = rng.sample(records, min(len(records), SAMPLE_IDS // 10 + 1))
            dataset.truth.sample_ids += [r.memory_id for r in picks]
            progress.advance(len(records))
        # Sessions as a client creates them; group-committed a few hundred at a time.
        rows = list(sessions.items())
        for start in range(0, len(rows), 500):
            await asyncio.gather(
                *(
                    metadata.insert_session(
                        Session(
                            id=sid,
                            org_id=DEFAULT_ORG,
                            agent_id=agent,
                            status="active",
                            metadata={"task": f"task for {agent}"},
                            created_at=from_us(first),
                            updated_at=from_us(last),
                            closed_at=None,
                        )
                    )
                    for sid, (agent, first, last) in rows[start : start + 500]
                )
            )
    finally:
        await db.close()
    rng.shuffle(dataset.truth.sample_ids)
    del dataset.truth.sample_ids[SAMPLE_IDS:]


async def _index(data_dir: Path, progress: Progress) -> None:
    db = Database(Settings(data_dir=data_dir).db_path)
    await db.open()
    try:
        # The loader's rids run 1..N without gaps, so the watermark counts rows.
        while await db.write(index_pending):
            progress.set(
                await db.read(lambda c: c.execute("SELECT watermark FROM fts_state").fetchone()[0])
            )
    finally:
        await db.close()


def load_at_rest(data_dir: Path, dataset: Dataset, label: str) -> float:
    """Fill ``data_dir`` (no server may be running on it) with ``dataset`` and build
    its search index; return the seconds the index took (the server's own indexer,
    run to the end)."""
    with Progress(f"load {label} at rest", dataset.total, "memories") as progress:
        asyncio.run(_load(data_dir, dataset, progress))
    started = time.monotonic()
    with Progress(f"index {label} for search", dataset.total, "memories") as progress:
        asyncio.run(_index(data_dir, progress))
    return time.monotonic() - started


def load_over_api(base_url: str, key: str, dataset: Dataset, label: str) -> None:
    """POST ``dataset`` in batches of 1000; every item must be stored."""
    rng = random.Random(11)
    with (
        Progress(f"load {label} over the API", dataset.total, "memories") as progress,
        httpx.Client(base_url=base_url, headers={"x-api-key": key}, timeout=120) as http,
    ):
        for chunk in dataset.chunks(1_000):
            answer = http.post("/api/v1/memories", json={"memories": [i.body() for i in chunk]})
            answer.raise_for_status()
            body = answer.json()
            if body["count"] != len(chunk):
                raise RuntimeError(
                    f"batch load stored {body['count']} of {len(chunk)}: {body['duplicates'][:3]}"
                )
            stored = body["memories"]
            times = sorted(to_us(datetime.fromisoformat(m["time"])) for m in stored)
            truth = dataset.truth
            truth.first_us = min(truth.first_us, times[0]) if truth.sample_ids else times[0]
            truth.last_us = max(truth.last_us, times[-1])
            dataset.truth.sample_ids += [
                m["memory_id"] for m in rng.sample(stored, min(len(stored), 50))
            ]
            progress.advance(len(chunk))
    rng.shuffle(dataset.truth.sample_ids)
    del dataset.truth.sample_ids[SAMPLE_IDS:]
