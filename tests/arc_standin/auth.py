"""Arc's API tokens: bootstrap, lookup with Arc's verify cache, and the token API's store.

Tokens live in SQLite under the state directory, like Arc's ``arc.db``, so a restarted
stand-in keeps them (and, like Arc, ignores the bootstrap token once any token exists).
Hashes are SHA-256 rather than bcrypt: nothing here is a security boundary.
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
import sqlite3
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

VALID_PERMISSIONS = ("read", "write", "delete", "admin")
ZERO_TIME = "0001-01-01T00:00:00Z"
BOOTSTRAP_DESCRIPTION = "Initial admin token (set via ARC_AUTH_BOOTSTRAP_TOKEN)"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS api_tokens (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL UNIQUE,
    description TEXT NOT NULL DEFAULT '',
    token_hash TEXT NOT NULL UNIQUE,
    permissions TEXT NOT NULL,
    created_at TEXT NOT NULL,
    last_used_at TEXT,
    enabled INTEGER NOT NULL DEFAULT 1,
    expires_at TEXT
)
"""


def rfc3339(moment: datetime) -> str:
    """Go's time.RFC3339Nano for a UTC time: trailing zeros of the fraction trimmed."""
    text = moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f").rstrip("0").rstrip(".")
    return text + "Z"


def now_rfc3339() -> str:
    return rfc3339(datetime.now(UTC))


def extract_token(headers: Mapping[str, str], query: Mapping[str, str]) -> str | None:
    """Arc's order: ``Bearer X``, ``Token X``, any other Authorization value whole,
    ``x-api-key``, then ``?p=``. The scheme match is case-sensitive, so
    ``bearer X`` is taken whole and fails."""
    authorization = headers.get("authorization", "")
    if authorization:
        for scheme in ("Bearer ", "Token "):
            if authorization.startswith(scheme):
                return authorization[len(scheme) :]
        return authorization
    return headers.get("x-api-key") or query.get("p") or None


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def new_plaintext() -> str:
    """32 random bytes in padded base64url: 44 characters ending in '=', like Arc's."""
    return base64.urlsafe_b64encode(os.urandom(32)).decode("ascii")


_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h|d)")
_SECONDS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_expires_in(text: str) -> timedelta | None:
    """'24h', '7d', '1h30m' -> timedelta; None when unparseable."""
    if not text or _DURATION.sub("", text):
        return None
    return timedelta(seconds=sum(float(n) * _SECONDS[u] for n, u in _DURATION.findall(text)))


@dataclass(frozen=True)
class TokenInfo:
    id: int
    name: str
    description: str
    permissions: tuple[str, ...]
    created_at: str
    last_used_at: str
    enabled: bool
    expires_at: str | None

    def allows(self, permission: str) -> bool:
        return "admin" in self.permissions or permission in self.permissions

    def as_json(self) -> dict[str, object]:
        """Arc's TokenInfo JSON: ``description`` left out when empty, zero time kept."""
        out: dict[str, object] = {"id": self.id, "name": self.name}
        if self.description:
            out["description"] = self.description
        out.update(
            permissions=list(self.permissions),
            created_at=self.created_at,
            last_used_at=self.last_used_at,
            enabled=self.enabled,
            expires_at=self.expires_at,
        )
        return out


class DuplicateTokenNameError(Exception):
    pass


class TokenStore:
    def __init__(self, db_path: Path, cache_ttl_s: float) -> None:
        db_path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(db_path, check_same_thread=False, isolation_level=None)
        # Only a test double's tokens: trade durability for speed (every request touches).
        self._db.execute("PRAGMA journal_mode = WAL")
        self._db.execute("PRAGMA synchronous = OFF")
        self._db.execute(_SCHEMA)
        self._lock = threading.Lock()
        self._cache_ttl_s = cache_ttl_s
        self._cache: dict[str, tuple[float, TokenInfo]] = {}

    def close(self) -> None:
        self._db.close()

    def bootstrap(self, admin_token: str) -> None:
        """Arc creates the admin token only while the token table is empty."""
        with self._lock:
            if self._db.execute("SELECT count(*) FROM api_tokens").fetchone()[0]:
                return
            self._insert("admin", BOOTSTRAP_DESCRIPTION, admin_token, VALID_PERMISSIONS, None)

    def _insert(
        self, name: str, description: str, token: str, perms: tuple[str, ...], expires: str | None
    ) -> None:
        try:
            self._db.execute(
                "INSERT INTO api_tokens (name, description, token_hash, permissions, created_at,"
                " expires_at) VALUES (?, ?, ?, ?, ?, ?)",
                (name, description, _hash(token), ",".join(perms), now_rfc3339(), expires),
            )
        except sqlite3.IntegrityError as exc:
            raise DuplicateTokenNameError(f"token with name '{name}' already exists") from exc

    def create(
        self,
        name: str,
        description: str,
        permissions: tuple[str, ...],
        expires_in: timedelta | None,
    ) -> str:
        token = new_plaintext()
        expires = rfc3339(datetime.now(UTC) + expires_in) if expires_in else None
        with self._lock:
            self._insert(name, description, token, permissions, expires)
        return token

    def verify(self, token: str) -> TokenInfo | None:
        """Like Arc: a cache hit skips the expiry check, so an expired token keeps
        working until its cache entry ages out."""
        key = _hash(token)
        hit = self._cache.get(key)
        if hit and time.monotonic() - hit[0] < self._cache_ttl_s:
            return hit[1]
        with self._lock:
            row = self._db.execute(f"{_SELECT} WHERE token_hash = ?", (key,)).fetchone()
        info = _row_to_info(row) if row else None
        if info is None or not info.enabled or _expired(info):
            self._cache.pop(key, None)
            return None
        self._cache[key] = (time.monotonic(), info)
        return info

    def touch(self, token_id: int) -> None:
        with self._lock:
            self._db.execute(
                "UPDATE api_tokens SET last_used_at = ? WHERE id = ?", (now_rfc3339(), token_id)
            )

    def list(self) -> list[TokenInfo]:
        with self._lock:
            rows = self._db.execute(f"{_SELECT} ORDER BY id").fetchall()
        return [_row_to_info(row) for row in rows]

    def get(self, token_id: int) -> TokenInfo | None:
        with self._lock:
            row = self._db.execute(f"{_SELECT} WHERE id = ?", (token_id,)).fetchone()
        return _row_to_info(row) if row else None

    def update(self, token_id: int, **fields: object) -> bool:
        columns = {k: v for k, v in fields.items() if v is not None}
        if "permissions" in columns:
            columns["permissions"] = ",".join(columns["permissions"])  # type: ignore[arg-type]
        if not columns:
            return self.get(token_id) is not None
        assignments = ", ".join(f"{name} = ?" for name in columns)
        with self._lock:
            cursor = self._db.execute(
                f"UPDATE api_tokens SET {assignments} WHERE id = ?", (*columns.values(), token_id)
            )
        self._cache.clear()
        return cursor.rowcount > 0

    def rotate(self, token_id: int) -> str | None:
        token = new_plaintext()
        with self._lock:
            cursor = self._db.execute(
                "UPDATE api_tokens SET token_hash = ? WHERE id = ?", (_hash(token), token_id)
            )
        self._cache.clear()
        return token if cursor.rowcount else None

    def revoke(self, token_id: int) -> bool:
        return self.update(token_id, enabled=0)

    def delete(self, token_id: int) -> bool:
        with self._lock:
            cursor = self._db.execute("DELETE FROM api_tokens WHERE id = ?", (token_id,))
        self._cache.clear()  # Arc clears the verify cache on revoke and delete.
        return cursor.rowcount > 0


_SELECT = (
    "SELECT id, name, description, permissions, created_at, last_used_at, enabled, expires_at"
    " FROM api_tokens"
)


def _row_to_info(row: tuple) -> TokenInfo:
    ident, name, description, perms, created, last_used, enabled, expires = row
    return TokenInfo(
        id=ident,
        name=name,
        description=description,
        permissions=tuple(p for p in perms.split(",") if p),
        created_at=created,
        last_used_at=last_used or ZERO_TIME,
        enabled=bool(enabled),
        expires_at=expires,
    )


def _expired(info: TokenInfo) -> bool:
    if info.expires_at is None:
        return False
    return datetime.fromisoformat(info.expires_at.replace("Z", "+00:00")) <= datetime.now(UTC)
