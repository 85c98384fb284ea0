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
import struct
import threading
import time

_lock = threading.Lock()
_last_us = 0

# Random bits for memory ids come from the OS (as ``secrets`` does) but a few
# kilobytes per system call: one getrandom(2) per id cost as much as validating the
# memory. The pool holds them ready as 62-bit numbers; ``list.pop`` hands each out
# once, whatever thread asks. A forked child must not reuse its parent's numbers
# (duplicate ids), so it starts with an empty pool.
_POOL_NUMBERS = 512
_pool: list[int] = []


os.register_at_fork(after_in_child=_pool.clear)


def _rand62() -> int:
    try:
        return _pool.pop()
    except IndexError:
        fresh = struct.unpack(f">{_POOL_NUMBERS}Q", os.urandom(8 * _POOL_NUMBERS))
        _pool.extend(number >> 2 for number in fresh)
        return _pool.pop()

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
    # 48 bits of ms | version 7 | 12 bits of µs | variant 0b10 | 62 random bits,
    # written group by group.
    ms, sub_us = divmod(time_us, 1000)
    return (
        f"{(ms >> 16) & 0xFFFF_FFFF:08x}-{ms & 0xFFFF:04x}-{0x7000 | sub_us:04x}"
        f"-{0x8000 | rand62 >> 48:04x}-{rand62 & 0xFFFF_FFFF_FFFF:012x}"
    )
