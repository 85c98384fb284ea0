"""The embedded store caches the keys it has looked up; each database handle below
stands for a process (its own connections and its own map of the key stamp), so a
revocation through one must reach the others' caches at once."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from memtrace_mcp.errors import UnauthorizedError
from memtrace_mcp.ids import next_time_us
from memtrace_mcp.models import ApiKeyInfo
from memtrace_mcp.service.auth import AuthService, hash_key, new_key
from memtrace_mcp.stores.base import KeyRecord
from memtrace_mcp.timeexpr import from_us
from memtrace_mcp.stores.sqlite.db import Database
from memtrace_mcp.stores.sqlite.metadata import SqliteMetadataStore


@pytest.fixture
async def two_processes(tmp_path: Path) -> AsyncIterator[tuple[AuthService, AuthService]]:
    dbs = [Database(tmp_path / "memtrace.db") for _ in range(2)]
    for db in dbs:
        await db.open()
    try:
        first, second = (AuthService(SqliteMetadataStore(db), next_time_us) for db in dbs)
        await first.ensure_default_org()
        yield first, second
    finally:
        for db in dbs:
            await db.close()


async def test_a_key_revoked_elsewhere_is_refused_on_its_next_use(
    two_processes: tuple[AuthService, AuthService],
) -> None:
    first, second = two_processes
    created = await first.create_key_local("org_default", "k", ["read"])
    for _ in range(3):  # looked up once, then answered from the cache
        assert (await second.authenticate(created.key)).key_id == created.id
    await first.revoke_key_local(created.id)
    with pytest.raises(UnauthorizedError):
        await second.authenticate(created.key)
    with pytest.raises(UnauthorizedError):
        await first.authenticate(created.key)


async def test_revoking_one_key_leaves_the_others_working(
    two_processes: tuple[AuthService, AuthService],
) -> None:
    first, second = two_processes
    kept = await first.create_key_local("org_default", "kept", ["read", "write"])
    gone = await first.create_key_local("org_default", "gone", ["read"])
    for key in (kept.key, gone.key):
        await second.authenticate(key)
    await first.revoke_key_local(gone.id)
    principal = await second.authenticate(kept.key)
    assert principal.key_id == kept.id and principal.scopes == frozenset({"read", "write"})


async def test_a_refusal_is_not_remembered_so_a_key_stored_later_works(tmp_path: Path) -> None:
    dbs = [Database(tmp_path / "memtrace.db") for _ in range(2)]
    for db in dbs:
        await db.open()
    try:
        writer, reader = (SqliteMetadataStore(db) for db in dbs)
        auth = AuthService(reader, next_time_us)
        await AuthService(writer, next_time_us).ensure_default_org()
        secret = new_key()
        with pytest.raises(UnauthorizedError):
            await auth.authenticate(secret)
        info = ApiKeyInfo(
            id="key_later", org_id="org_default", name="later", prefix=secret[:8],
            scopes=["read"], created_at=from_us(next_time_us()), revoked_at=None,
        )
        await writer.insert_key(KeyRecord(info=info, key_hash=hash_key(secret)))
        assert (await auth.authenticate(secret)).key_id == "key_later"
    finally:
        for db in dbs:
            await db.close()


async def test_the_key_stamp_file_is_private(tmp_path: Path) -> None:
    db = Database(tmp_path / "memtrace.db")
    await db.open()
    try:
        assert (db.keystamp.path.stat().st_mode & 0o777) == 0o600
    finally:
        await db.close()
