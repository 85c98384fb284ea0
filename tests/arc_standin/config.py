"""Settings of one stand-in process; the CLI in ``__main__`` is the only builder."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

_SIZE = re.compile(r"^\s*(\d+)\s*([KMG]?B?)\s*$", re.IGNORECASE)
_UNITS = {
    "": 1,
    "B": 1,
    "K": 1024,
    "KB": 1024,
    "M": 1024**2,
    "MB": 1024**2,
    "G": 1024**3,
    "GB": 1024**3,
}


def parse_size(text: str) -> int:
    """'4KB' -> 4096, the way Arc reads ``server.max_payload_size``."""
    match = _SIZE.match(text)
    if not match:
        raise ValueError(f"not a size: {text!r} (use e.g. 4KB, 10MB, 1GB)")
    return int(match.group(1)) * _UNITS[match.group(2).upper()]


@dataclass(frozen=True)
class StandinConfig:
    data_dir: Path
    admin_token: str
    host: str = "127.0.0.1"
    port: int = 8000
    # Arc's code default is 5000 ms; its sample arc.toml and the golden "main" server use 100.
    max_buffer_age_ms: int = 5000
    max_buffer_rows: int = 50_000
    delete_enabled: bool = True
    # Kept as text because Arc quotes it back in error messages ("exceeds 4KB limit").
    max_payload_size: str = "1GB"
    # Arc's partition pruner caches: hour-directory globs (30 s, shared by all queries)
    # and the pruned path list per SQL text (60 s). 0 disables a cache.
    glob_cache_ttl_s: float = 30.0
    partition_cache_ttl_s: float = 60.0
    query_timeout_s: float = 300.0
    token_cache_ttl_s: float = 300.0
    # Arc's background flush panics on a column named "" and the process dies.
    crash_on_background_panic: bool = True
    # Arc writes each file's columns in Go map order; the seed makes ours reproducible.
    column_order_seed: int = 0

    @property
    def max_payload_bytes(self) -> int:
        return parse_size(self.max_payload_size)

    @property
    def state_dir(self) -> Path:
        """Token database and other non-Parquet state; hidden, so listings skip it."""
        return self.data_dir / ".standin"
