"""Schema migrations: small, named, applied in order inside the opening transaction.

``PRAGMA user_version`` records how many have run. Opening runs under
``BEGIN IMMEDIATE``, so two processes starting at once apply each migration once.
"""

from __future__ import annotations

import sqlite3

_MIGRATIONS: list[tuple[str, str]] = [
    (
        "metadata tables",
        """
        CREATE TABLE orgs (
            id TEXT PRIMARY KEY,
            name TEXT NOT NULL,
            created_us INTEGER NOT NULL
        );
        CREATE TABLE api_keys (
            id TEXT PRIMARY KEY,
            key_hash TEXT NOT NULL UNIQUE,
            prefix TEXT NOT NULL,
            name TEXT NOT NULL,
            org_id TEXT NOT NULL REFERENCES orgs(id),
            scopes TEXT NOT NULL,
            created_us INTEGER NOT NULL,
            revoked_us INTEGER
        );
        CREATE INDEX api_keys_org ON api_keys(org_id, created_us);
        CREATE TABLE agents (
            org_id TEXT NOT NULL,
            id TEXT NOT NULL,
            name TEXT NOT NULL,
            description TEXT,
            config TEXT NOT NULL DEFAULT '{}',
            created_us INTEGER NOT NULL,
            last_active_us INTEGER,
            PRIMARY KEY (org_id, id)
        ) WITHOUT ROWID;
        CREATE TABLE sessions (
            org_id TEXT NOT NULL,
            id TEXT NOT NULL,
            agent_id TEXT NOT NULL,
            status TEXT NOT NULL,
            metadata TEXT NOT NULL DEFAULT '{}',
            created_us INTEGER NOT NULL,
            updated_us INTEGER NOT NULL,
            closed_us INTEGER,
            PRIMARY KEY (org_id, id)
        ) WITHOUT ROWID;
        CREATE INDEX sessions_agent ON sessions(org_id, agent_id, created_us);
        CREATE INDEX sessions_created ON sessions(org_id, created_us);
        """,
    ),
    (
        "memories",
        """
        CREATE TABLE memories (
            rid INTEGER PRIMARY KEY,
            memory_id TEXT NOT NULL UNIQUE,
            org_id TEXT NOT NULL,
            time_us INTEGER NOT NULL,
            agent_id TEXT NOT NULL,
            session_id TEXT,
            memory_type TEXT NOT NULL,
            event_type TEXT NOT NULL,
            content TEXT NOT NULL,
            metadata TEXT NOT NULL,
            tags TEXT NOT NULL,
            importance REAL NOT NULL,
            dedup_key TEXT NOT NULL,
            parent_id TEXT
        );
        CREATE INDEX memories_org_id ON memories(org_id, memory_id);
        CREATE INDEX memories_org_agent ON memories(org_id, agent_id, memory_id);
        CREATE INDEX memories_org_session
            ON memories(org_id, session_id, memory_id) WHERE session_id IS NOT NULL;
        CREATE INDEX memories_org_dedup ON memories(org_id, dedup_key, time_us);
        CREATE INDEX memories_org_short ON memories(org_id, substr(memory_id, 25));
        CREATE TABLE memory_tags (
            org_id TEXT NOT NULL,
            tag TEXT NOT NULL,
            memory_id TEXT NOT NULL,
            PRIMARY KEY (org_id, tag, memory_id)
        ) WITHOUT ROWID;
        CREATE VIRTUAL TABLE memories_fts USING fts5(
            content, content='memories', content_rowid='rid', tokenize='trigram'
        );
        CREATE TRIGGER memories_ai AFTER INSERT ON memories BEGIN
            INSERT INTO memories_fts(rowid, content) VALUES (new.rid, new.content);
        END;
        CREATE TRIGGER memories_ad AFTER DELETE ON memories BEGIN
            INSERT INTO memories_fts(memories_fts, rowid, content)
                VALUES ('delete', old.rid, old.content);
            DELETE FROM memory_tags WHERE org_id = old.org_id AND memory_id = old.memory_id
                AND tag IN (SELECT value FROM json_each(old.tags));
        END;
        """,
    ),
]


def migrate(conn: sqlite3.Connection) -> None:
    """Apply pending migrations; the caller holds a write transaction."""
    (version,) = conn.execute("PRAGMA user_version").fetchone()
    for number, (_name, sql) in enumerate(_MIGRATIONS[version:], start=version + 1):
        for statement in _split(sql):
            conn.execute(statement)
        conn.execute(f"PRAGMA user_version = {number}")


def _split(sql: str) -> list[str]:
    """Split a migration into statements; triggers keep their inner semantics."""
    statements: list[str] = []
    buffer = ""
    for line in sql.strip().splitlines():
        buffer += line + "\n"
        if sqlite3.complete_statement(buffer):
            statements.append(buffer.strip())
            buffer = ""
    if buffer.strip():
        statements.append(buffer.strip())
    return statements
