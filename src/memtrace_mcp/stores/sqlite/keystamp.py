"""A stamp that every process on one database file sees change when a key is revoked.

Looking an API key up in SQLite on every request cost a read transaction, and on
the event loop's thread each SQLite call gives the GIL away and waits to get it
back from the writer thread. Key lookups are therefore cached, and a cache is only
correct if a revocation made anywhere (this server, another server, the CLI)
reaches it before the revoked key's next request.

The stamp is 8 bytes in a file beside the database, mapped into memory: a reader
compares them with what it saw when it cached an entry (a memory read, no system
call); a revoker writes fresh random bytes, which every process mapping the file
sees at once. Random bytes rather than a counter, so two processes bumping at the
same moment cannot bring the stamp back to a value a reader has cached.
"""

from __future__ import annotations

import mmap
import os
from pathlib import Path

_SIZE = 8


class KeyStamp:
    def __init__(self, db_path: Path) -> None:
        self.path = db_path.with_name(db_path.name + "-keystamp")
        self._map: mmap.mmap | None = None

    def open(self) -> None:
        """Map the stamp, creating it. Failing is failing to open the store: a
        process that could not bump the stamp would revoke keys other processes
        still accept. (The directory is writable: SQLite's WAL files live there.)"""
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            if os.fstat(fd).st_size < _SIZE:
                os.ftruncate(fd, _SIZE)  # never shrinks a stamp another process wrote
            self._map = mmap.mmap(fd, _SIZE)
        finally:
            os.close(fd)

    def close(self) -> None:
        if self._map is not None:
            self._map.close()
            self._map = None

    def read(self) -> bytes | None:
        """The current stamp; None when closed (then nothing may be cached)."""
        return self._map[:_SIZE] if self._map is not None else None

    def bump(self) -> None:
        if self._map is not None:
            self._map[:_SIZE] = os.urandom(_SIZE)
