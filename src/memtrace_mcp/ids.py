"""Identifiers: time-sortable memory ids (UUIDv7), random session/key ids.

A memory id encodes its own timestamp to the microsecond: 48 bits of Unix
milliseconds and, in the 12 ``rand_a`` bits, the microseconds within that
millisecond (RFC 9562 method 3). Sorting ids therefore sorts by time, and a store
can order and page by id. Within a process the clock never repeats or goes back,
so ids from one process are strictly increasing.
"""

from __future__ import annotations

import os
import secrets
import threading
import time

_lock = threading.Lock()
_last_us = 0

# Random bits for memory ids come from the OS (as ``secrets`` does) but a few
# kilobytes per system call: one getrandom(2) per id cost as much as validating the
# memory. A forked child must not reuse its parent's bytes (duplicate ids), so it
# starts with an empty pool.
_POOL_BYTES = 4096
_pool = b""
_pool_pos = 0


def _empty_pool() -> None:
    global _pool, _pool_pos
    _pool, _pool_pos = b"", 0


os.register_at_fork(after_in_child=_empty_pool)


def _rand62() -> int:
    global _pool, _pool_pos
    with _lock:
        if _pool_pos + 8 > len(_pool):
            _pool, _pool_pos = os.urandom(_POOL_BYTES), 0
        chunk = _pool[_pool_pos : _pool_pos + 8]
        _pool_pos += 8
    return int.from_bytes(chunk, "big") >> 2

SHORT_ID_LEN = 12  # the UUID's last group: 48 random bits


def next_time_us() -> int:
    """Current time in microseconds, strictly increasing within this process."""
    global _last_us
    now = time.time_ns() // 1000
    with _lock:
        if now <= _last_us:
            now = _last_us + 1
        _last_us = now
    return now


def memory_id(time_us: int) -> str:
    return _uuid7(time_us, _rand62())


def short_id(memory_id_: str) -> str:
    """The part of a memory id a model can cite; the service resolves it back."""
    return memory_id_[-SHORT_ID_LEN:]


def session_id() -> str:
    return "sess_" + secrets.token_hex(12)


def key_id() -> str:
    return "key_" + secrets.token_hex(8)


def org_id() -> str:
    return "org_" + secrets.token_hex(12)


def memory_id_floor(time_us: int) -> str:
    """The smallest memory id a memory stored at ``time_us`` can have: ids and times
    sort together, so a time bound is also an id bound an index can seek to."""
    return _uuid7(time_us, 0)


def _uuid7(time_us: int, rand62: int) -> str:
    ms, sub_us = divmod(time_us, 1000)
    value = (ms & 0xFFFF_FFFF_FFFF) << 80 | 0x7 << 76 | sub_us << 64 | 0b10 << 62 | rand62
    h = f"{value:032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"
