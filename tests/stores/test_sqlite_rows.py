"""The embedded store builds Memory objects from rows without pydantic's
``model_construct``; they must be the very objects it would build."""

from __future__ import annotations

import json

from memtrace_mcp.models import Memory
from memtrace_mcp.stores.sqlite.memories import _memory
from memtrace_mcp.timeexpr import from_us


def test_a_row_becomes_the_memory_model_construct_would_build() -> None:
    row = (
        "0190f1e2-7a3b-7c4d-8e5f-3f9a1c2b7d4e", "org_a", 1_763_787_934_123_456, "agent",
        "sess_1", "decision", "deploy", "Ünïcode content", '{"reasoning": "why"}',
        '["b", "a"]', 0.75, "key", None,
    )  # fmt: skip
    expected = Memory.model_construct(
        memory_id=row[0], org_id=row[1], time=from_us(row[2]), agent_id=row[3],
        session_id=row[4], memory_type=row[5], event_type=row[6], content=row[7],
        metadata=json.loads(row[8]), tags=json.loads(row[9]), importance=row[10],
        dedup_key=row[11], parent_id=row[12],
    )  # fmt: skip
    built = _memory(row)
    assert built == expected
    assert built.model_fields_set == expected.model_fields_set
    assert built.model_dump_json() == expected.model_dump_json()
    assert _memory((*row[:8], "{}", "[]", *row[10:])).model_dump()["metadata"] == {}
