"""Records for store-level tests."""

from __future__ import annotations

import json

from memtrace_mcp import ids
from memtrace_mcp.stores.base import NewMemory


def new_memory(content: str, *, org_id: str = "org_default", **fields: object) -> NewMemory:
    now = ids.next_time_us()
    values: dict[str, object] = {
        "memory_id": ids.memory_id(now),
        "time_us": now,
        "org_id": org_id,
        "agent_id": "agent_1",
        "session_id": None,
        "memory_type": "episodic",
        "event_type": "general",
        "content": content,
        "metadata_json": "{}",
        "tags": (),
        "importance": 0.0,
        "dedup_key": ids.memory_id(now),
        "parent_id": None,
    }
    values.update(fields)
    values.setdefault("metadata", json.loads(str(values["metadata_json"])))
    return NewMemory(**values)  # type: ignore[arg-type]
