"""Orgs, API keys, agents and sessions in SQLite. Every query is scoped by org."""

from __future__ import annotations

import json
import sqlite3
import time
from datetime import datetime
from collections.abc import Mapping
from typing import Any

from ...errors import ConflictError, NotFoundError
from ...models import (
    Agent,
    AgentDraft,
    ApiKeyInfo,
    Org,
    Principal,
    Session,
    SessionStatus,
)
from ...timeexpr import from_us, to_us
from ..base import KeyRecord
from .db import Database


def _dt(us: int | None) -> datetime | None:
    return from_us(us) if us is not None else None


def _org(row: sqlite3.Row | tuple[Any, ...]) -> Org:
    return Org(id=row[0], name=row[1], created_at=from_us(row[2]))


_KEY_COLS = "id, org_id, name, prefix, scopes, created_us, revoked_us"


def _key(row: tuple[Any, ...]) -> ApiKeyInfo:
    return ApiKeyInfo(
        id=row[0],
        org_id=row[1],
        name=row[2],
        prefix=row[3],
        scopes=row[4].split(","),
        created_at=from_us(row[5]),
        revoked_at=_dt(row[6]),
    )


_AGENT_COLS = "id, org_id, name, description, config, created_us, last_active_us"


def _agent(row: tuple[Any, ...]) -> Agent:
    return Agent(
        id=row[0],
        org_id=row[1],
        name=row[2],
        description=row[3],
        config=json.loads(row[4]),
        created_at=from_us(row[5]),
        last_active_at=_dt(row[6]),
    )


_SESSION_COLS = "id, org_id, agent_id, status, metadata, created_us, updated_us, closed_us"


def _session(row: tuple[Any, ...]) -> Session:
    return Session(
        id=row[0],
        org_id=row[1],
        agent_id=row[2],
        status=row[3],
        metadata=json.loads(row[4]),
        created_at=from_us(row[5]),
        updated_at=from_us(row[6]),
        closed_at=_dt(row[7]),
    )


def _json(value: Mapping[str, Any] | None) -> str:
    return json.dumps(dict(value or {}), ensure_ascii=False, separators=(",", ":"))


# Writing a memory registers its agent and moves last_active_at; doing that on every
# write would double the writer's work, so this process skips a touch it made less
# than this long ago. Cost: last_active_at may lag by up to a second, and an agent
# deleted by *another* process within that second is re-registered on a later write.
_TOUCH_EVERY_US = 1_000_000
_TOUCHED_MAX = 100_000  # forget the throttle state rather than grow without bound


# Authenticated keys are cached per process, checked against the database's key
# stamp (keystamp.py) on every request. The TTL only bounds the one case a stamp
# cannot cover: a revoking process killed between its commit and its second bump.
_KEY_TTL_S = 30.0
_KEYS_MAX = 10_000


class SqliteMetadataStore:
    def __init__(self, db: Database) -> None:
        self._db = db
        self._touched: dict[tuple[str, str], int] = {}
        self._keys: dict[str, tuple[bytes, float, Principal]] = {}

    # --- orgs -------------------------------------------------------------------

    async def ensure_org(self, org_id: str, name: str, now_us: int) -> Org:
        def job(conn: sqlite3.Connection) -> Org:
            conn.execute(
                "INSERT INTO orgs(id, name, created_us) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
                (org_id, name, now_us),
            )
            return _org(conn.execute("SELECT * FROM orgs WHERE id = ?", (org_id,)).fetchone())

        return await self._db.write(job)

    async def create_org(self, org_id: str, name: str, now_us: int) -> Org:
        def job(conn: sqlite3.Connection) -> Org:
            try:
                conn.execute(
                    "INSERT INTO orgs(id, name, created_us) VALUES (?, ?, ?)",
                    (org_id, name, now_us),
                )
            except sqlite3.IntegrityError:
                raise ConflictError(f"org {org_id!r} already exists") from None
            return Org(id=org_id, name=name, created_at=from_us(now_us))

        return await self._db.write(job)

    async def get_org(self, org_id: str) -> Org | None:
        row = self._db.read_now(
            lambda c: c.execute("SELECT * FROM orgs WHERE id = ?", (org_id,)).fetchone()
        )
        return _org(row) if row else None

    async def list_orgs(self) -> list[Org]:
        rows = await self._db.read(
            lambda c: c.execute("SELECT * FROM orgs ORDER BY created_us, id").fetchall()
        )
        return [_org(r) for r in rows]

    # --- keys -------------------------------------------------------------------

    async def insert_key(self, record: KeyRecord, *, only_if_no_keys: bool = False) -> bool:
        info = record.info

        def job(conn: sqlite3.Connection) -> bool:
            if only_if_no_keys:
                active = conn.execute(
                    "SELECT 1 FROM api_keys WHERE revoked_us IS NULL LIMIT 1"
                ).fetchone()
                if active:
                    return False
            if not conn.execute("SELECT 1 FROM orgs WHERE id = ?", (info.org_id,)).fetchone():
                raise NotFoundError(f"org {info.org_id!r} not found")
            conn.execute(
                "INSERT INTO api_keys(id, key_hash, prefix, name, org_id, scopes, created_us)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    info.id,
                    record.key_hash,
                    info.prefix,
                    info.name,
                    info.org_id,
                    ",".join(info.scopes),
                    to_us(info.created_at),
                ),
            )
            return True

        return await self._db.write(job)

    async def principal_for_hash(self, key_hash: str) -> Principal | None:
        # The stamp is read before the lookup: a revocation committed after this
        # read bumps the stamp again, so the entry cached below is dropped.
        stamp = self._db.keystamp.read()
        cached = self._keys.get(key_hash)
        if cached is not None and stamp is not None:
            seen, expires, principal = cached
            if seen == stamp and time.monotonic() < expires:
                return principal
        row = self._db.read_now(
            lambda c: c.execute(
                "SELECT id, org_id, scopes FROM api_keys WHERE key_hash = ? AND revoked_us IS NULL",
                (key_hash,),
            ).fetchone()
        )
        if row is None:
            self._keys.pop(key_hash, None)
            return None  # unknown keys are not cached: a key created later must work
        principal = Principal(org_id=row[1], scopes=frozenset(row[2].split(",")), key_id=row[0])
        if stamp is not None:
            if len(self._keys) >= _KEYS_MAX:
                self._keys.clear()
            self._keys[key_hash] = (stamp, time.monotonic() + _KEY_TTL_S, principal)
        return principal

    async def list_keys(self, org_id: str | None) -> list[ApiKeyInfo]:
        sql = f"SELECT {_KEY_COLS} FROM api_keys"
        params: tuple[str, ...] = ()
        if org_id is not None:
            sql += " WHERE org_id = ?"
            params = (org_id,)
        rows = await self._db.read(lambda c: c.execute(sql + " ORDER BY created_us", params).fetchall())
        return [_key(r) for r in rows]

    async def revoke_key(self, org_id: str | None, key_id: str, now_us: int) -> bool:
        stamp = self._db.keystamp

        def job(conn: sqlite3.Connection) -> bool:
            sql = "UPDATE api_keys SET revoked_us = ? WHERE id = ? AND revoked_us IS NULL"
            params: tuple[Any, ...] = (now_us, key_id)
            if org_id is not None:
                sql += " AND org_id = ?"
                params += (org_id,)
            # Bumped before the change too, so that only an entry cached in the
            # moment between this bump and the commit depends on the bump below
            # (and, should this process die in between, on _KEY_TTL_S).
            stamp.bump()
            return conn.execute(sql, params).rowcount > 0

        revoked = await self._db.write(job)
        stamp.bump()  # committed: every process drops its cached keys
        return revoked

    # --- agents -----------------------------------------------------------------

    async def touch_agents(self, org_id: str, last_active: Mapping[str, int]) -> None:
        rows = [
            (org_id, agent, agent, t, t)
            for agent, t in last_active.items()
            if t - self._touched.get((org_id, agent), -_TOUCH_EVERY_US) >= _TOUCH_EVERY_US
        ]
        if not rows:
            return
        if len(self._touched) > _TOUCHED_MAX:
            self._touched.clear()
        for row in rows:
            self._touched[(org_id, row[1])] = row[3]

        def job(conn: sqlite3.Connection) -> None:
            conn.executemany(
                "INSERT INTO agents(org_id, id, name, created_us, last_active_us)"
                " VALUES (?, ?, ?, ?, ?) ON CONFLICT(org_id, id) DO UPDATE SET"
                " last_active_us = max(coalesce(last_active_us, 0), excluded.last_active_us)",
                rows,
            )

        await self._db.write(job)

    async def insert_agent(self, org_id: str, draft: AgentDraft, now_us: int) -> Agent:
        def job(conn: sqlite3.Connection) -> Agent:
            try:
                conn.execute(
                    "INSERT INTO agents(org_id, id, name, description, config, created_us)"
                    " VALUES (?, ?, ?, ?, ?, ?)",
                    (org_id, draft.name, draft.name, draft.description, _json(draft.config), now_us),
                )
            except sqlite3.IntegrityError:
                raise ConflictError(
                    f"agent {draft.name!r} already exists in this organization"
                ) from None
            return Agent(
                id=draft.name,
                org_id=org_id,
                name=draft.name,
                description=draft.description,
                config=dict(draft.config or {}),
                created_at=from_us(now_us),
                last_active_at=None,
            )

        return await self._db.write(job)

    async def get_agent(self, org_id: str, agent_id: str) -> Agent | None:
        row = self._db.read_now(
            lambda c: c.execute(
                f"SELECT {_AGENT_COLS} FROM agents WHERE org_id = ? AND id = ?", (org_id, agent_id)
            ).fetchone()
        )
        return _agent(row) if row else None

    async def list_agents(self, org_id: str) -> list[Agent]:
        rows = await self._db.read(
            lambda c: c.execute(
                f"SELECT {_AGENT_COLS} FROM agents WHERE org_id = ? ORDER BY created_us DESC, id",
                (org_id,),
            ).fetchall()
        )
        return [_agent(r) for r in rows]

    async def delete_agent(self, org_id: str, agent_id: str) -> bool:
        self._touched.pop((org_id, agent_id), None)

        def job(conn: sqlite3.Connection) -> bool:
            gone = conn.execute(
                "DELETE FROM agents WHERE org_id = ? AND id = ?", (org_id, agent_id)
            ).rowcount
            conn.execute("DELETE FROM sessions WHERE org_id = ? AND agent_id = ?", (org_id, agent_id))
            return gone > 0

        return await self._db.write(job)

    # --- sessions ---------------------------------------------------------------

    async def insert_session(self, session: Session) -> Session:
        def job(conn: sqlite3.Connection) -> Session:
            try:
                conn.execute(
                    "INSERT INTO sessions(org_id, id, agent_id, status, metadata, created_us,"
                    " updated_us, closed_us) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        session.org_id,
                        session.id,
                        session.agent_id,
                        session.status,
                        _json(session.metadata),
                        to_us(session.created_at),
                        to_us(session.updated_at),
                        None,
                    ),
                )
            except sqlite3.IntegrityError:
                raise ConflictError(f"session {session.id!r} already exists") from None
            return session

        return await self._db.write(job)

    async def get_session(self, org_id: str, session_id: str) -> Session | None:
        row = self._db.read_now(
            lambda c: c.execute(
                f"SELECT {_SESSION_COLS} FROM sessions WHERE org_id = ? AND id = ?",
                (org_id, session_id),
            ).fetchone()
        )
        return _session(row) if row else None

    async def list_sessions(
        self, org_id: str, agent_id: str | None, status: SessionStatus | None
    ) -> list[Session]:
        sql = f"SELECT {_SESSION_COLS} FROM sessions WHERE org_id = ?"
        params: list[Any] = [org_id]
        if agent_id is not None:
            sql += " AND agent_id = ?"
            params.append(agent_id)
        if status is not None:
            sql += " AND status = ?"
            params.append(status)
        sql += " ORDER BY created_us DESC, id"
        rows = await self._db.read(lambda c: c.execute(sql, params).fetchall())
        return [_session(r) for r in rows]

    async def update_session(
        self,
        org_id: str,
        session_id: str,
        *,
        status: SessionStatus | None,
        metadata_patch: Mapping[str, object] | None,
        now_us: int,
    ) -> Session | None:
        def job(conn: sqlite3.Connection) -> Session | None:
            row = conn.execute(
                f"SELECT {_SESSION_COLS} FROM sessions WHERE org_id = ? AND id = ?",
                (org_id, session_id),
            ).fetchone()
            if row is None:
                return None
            current = _session(row)
            metadata = dict(current.metadata)
            for key, value in (metadata_patch or {}).items():
                if value is None:
                    metadata.pop(key, None)
                else:
                    metadata[key] = value
            new_status = status or current.status
            closed_us = row[7]
            if status == "closed" and current.status != "closed":
                closed_us = now_us
            elif new_status == "active":
                closed_us = None
            conn.execute(
                "UPDATE sessions SET status = ?, metadata = ?, updated_us = ?, closed_us = ?"
                " WHERE org_id = ? AND id = ?",
                (new_status, _json(metadata), now_us, closed_us, org_id, session_id),
            )
            return current.model_copy(
                update={
                    "status": new_status,
                    "metadata": metadata,
                    "updated_at": from_us(now_us),
                    "closed_at": _dt(closed_us),
                }
            )

        return await self._db.write(job)

    async def session_counts(self, org_id: str, agent_id: str) -> tuple[int, int]:
        row = await self._db.read(
            lambda c: c.execute(
                "SELECT count(*), count(*) FILTER (WHERE status = 'active')"
                " FROM sessions WHERE org_id = ? AND agent_id = ?",
                (org_id, agent_id),
            ).fetchone()
        )
        return int(row[0]), int(row[1])
