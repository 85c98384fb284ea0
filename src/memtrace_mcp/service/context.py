"""Session context: memories rendered as LLM-ready markdown within a token budget.

Token counting (documented in rest/sessions.md): every ASCII character counts a
quarter token and every other character a whole token, rounded up over the text.
It overestimates real tokenizers for English (about 4 characters per token) and for
CJK text and emoji (one or more tokens per character), so a budget it keeps is kept.
The count is additive up to rounding, which lets the budget be planned line by line
and still hold for the rendered whole.

Under a budget: contents are shortened first (down to ``_MIN_CAP`` characters);
if that is not enough, lines are chosen by priority (errors, then decisions, then
memories of importance >= HIGH_IMPORTANCE, then routine ones), newest first within
a priority, and a last line says how many memories were left out.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ..ids import short_id
from ..models import AgentHistory, Memory
from ..timeexpr import to_us

_TITLES = {
    "episodic": "Recent Actions",
    "decision": "Decisions Made",
    "errors": "Errors",
    "entity": "Known Entities",
    "session": "Session Notes",
}
_ORDER = tuple(_TITLES)
_CAPS = (2000, 1000, 500, 250, 120)
_MIN_CAP = 80
_ELLIPSIS = "…"
# A memory at least this important is kept before routine ones under a budget.
HIGH_IMPORTANCE = 0.7
# The shortest line a memory can take: "- [<20-char time>] <1>: <1> (#<12>)\n".
_MIN_LINE_UNITS = 46


def count_tokens(text: str) -> int:
    return (_units(text) + 3) // 4


def _units(text: str) -> int:
    """Quarter-token units: 1 per ASCII character, 4 per other character."""
    if text.isascii():
        return len(text)
    ascii_chars = len(text.encode("ascii", "ignore"))
    return ascii_chars + 4 * (len(text) - ascii_chars)


def section_of(memory: Memory) -> str:
    return "errors" if memory.event_type == "error" else memory.memory_type


def priority_rank(memory: Memory) -> int:
    """0 errors, 1 decisions, 2 high-importance, 3 routine: the order in which lines
    are kept under a budget (newest first within a rank)."""
    kind = section_of(memory)
    if kind == "errors":
        return 0
    if kind == "decision":
        return 1
    return 2 if memory.importance >= HIGH_IMPORTANCE else 3


def _priority(memory: Memory) -> tuple[int, int]:
    return (priority_rank(memory), -to_us(memory.time))


def max_lines(max_tokens: int) -> int:
    """More memory lines than this can never fit in ``max_tokens``."""
    return max_tokens * 4 // _MIN_LINE_UNITS + 1


@dataclass(frozen=True)
class RenderedContext:
    text: str
    token_count: int
    truncated: bool


def _line(memory: Memory, cap: int | None) -> str:
    content = memory.content
    reasoning = memory.metadata.get("reasoning") if memory.memory_type == "decision" else None
    if isinstance(reasoning, str) and reasoning:
        content = f"{content} (reasoning: {reasoning})"
    if cap is not None and len(content) > cap:
        content = content[:cap].rstrip() + _ELLIPSIS
    content = content.replace("\n", "\n  ")
    # The same text as strftime("%Y-%m-%dT%H:%M:%SZ") for any year >= 1000, at half
    # the cost; a context renders hundreds of lines.
    stamp = memory.time.isoformat()[:19] + "Z"
    return f"- [{stamp}] {memory.event_type}: {content} (#{short_id(memory.memory_id)})\n"


def _omitted_line(n: int) -> str:
    return f"\n_{n} more memor{'y' if n == 1 else 'ies'} left out._\n"


def _heading(title: str, label: str) -> str:
    return f"## {title} ({label})\n"


def _assemble(heading: str, chosen: dict[str, list[str]], omitted: int) -> str:
    parts = [heading]
    for kind in _ORDER:
        lines = chosen.get(kind)
        if lines:
            parts.append(f"\n### {_TITLES[kind]} ({len(lines)})\n")
            parts.extend(lines)
    if omitted:
        parts.append(_omitted_line(omitted))
    return "".join(parts)


def render_context(
    session_id: str,
    memories: Sequence[Memory],
    max_tokens: int | None,
    *,
    title: str = "Session Context",
    total: int | None = None,
) -> RenderedContext:
    """``memories`` newest first. Returns markdown whose token count is ≤ max_tokens.
    ``title`` names the heading (``## <title> (<session_id>)``), so an agent's
    history across sessions renders by the same rules as one session. ``total`` is
    how many memories matched when only some were fetched (the best candidates, see
    ``SessionService.context``); the rest are counted as left out."""
    heading = _heading(title, session_id)
    total = max(total or 0, len(memories))
    unfetched = total - len(memories)
    grouped: dict[str, list[Memory]] = {}
    for memory in memories:
        grouped.setdefault(section_of(memory), []).append(memory)

    def full(cap: int | None) -> str:
        lines = {k: [_line(m, cap) for m in ms] for k, ms in grouped.items()}
        return _assemble(heading, lines, unfetched)

    budget_units = max_tokens * 4 if max_tokens is not None else 0
    # max_lines or more lines can never fit, whatever their caps (each takes at least
    # _MIN_LINE_UNITS): skip rendering them whole and shortened, go to picking lines.
    if max_tokens is not None and len(memories) >= max_lines(max_tokens):
        text = _select(heading, memories, budget_units, total)
        return RenderedContext(text, count_tokens(text), True)
    text = full(None)
    if max_tokens is None or count_tokens(text) <= max_tokens:
        return RenderedContext(text, count_tokens(text), unfetched > 0)
    # count_tokens(t) <= max_tokens  <=>  _units(t) <= budget_units
    # Shortening helps only if every line fits at the shortest cap; else pick lines.
    if _units(full(_MIN_CAP)) <= budget_units:
        for cap in (*_CAPS, _MIN_CAP):
            text = full(cap)
            if _units(text) <= budget_units:
                return RenderedContext(text, count_tokens(text), True)
    text = _select(heading, memories, budget_units, total)
    return RenderedContext(text, count_tokens(text), True)


def _select(heading: str, memories: Sequence[Memory], budget_units: int, total: int) -> str:
    """Choose lines by priority until the budget is spent; render them in order."""
    # Reserve room for the heading and the "left out" line (sized for the worst case).
    used = _units(heading) + _units(_omitted_line(total))
    chosen: dict[int, str] = {}
    opened: set[str] = set()
    ranked = sorted(range(len(memories)), key=lambda i: _priority(memories[i]))
    for i in ranked:
        if budget_units - used < _MIN_LINE_UNITS:
            break  # no line is shorter: nothing further can fit
        kind = section_of(memories[i])
        line = _line(memories[i], _MIN_CAP)
        cost = _units(line)
        if kind not in opened:
            cost += _units(f"\n### {_TITLES[kind]} ({total})\n")
        if used + cost > budget_units:
            continue
        used += cost
        chosen[i] = line
        opened.add(kind)
    lines: dict[str, list[str]] = {}
    for i in sorted(chosen):  # back in the given order (newest first)
        lines.setdefault(section_of(memories[i]), []).append(chosen[i])
    return _assemble(heading, lines, total - len(chosen))


# An agent's history shows at most this many of its newest memories, any session.
HISTORY_MEMORIES = 30


def render_history(agent_id: str, memories: Sequence[Memory], max_tokens: int) -> AgentHistory:
    """``memories`` newest first (at most HISTORY_MEMORIES), rendered by the session
    rules under the heading ``## Recent History (agent <id>)``; empty when none."""
    if not memories:
        return AgentHistory(
            agent_id=agent_id, context="", memory_count=0, token_count=0, truncated=False
        )
    rendered = render_context(f"agent {agent_id}", memories, max_tokens, title="Recent History")
    return AgentHistory(
        agent_id=agent_id,
        context=rendered.text,
        memory_count=len(memories),
        token_count=rendered.token_count,
        truncated=rendered.truncated,
    )
