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
            rid INTEGER PRIMARY KEY AUTOINCREMENT,
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
            folded, content='', tokenize='trigram case_sensitive 1'
        );
        CREATE TABLE fts_state (
            id INTEGER PRIMARY KEY CHECK (id = 1),
            watermark INTEGER NOT NULL
        );
        INSERT INTO fts_state(id, watermark) VALUES (1, 0);
        CREATE TRIGGER memories_ad AFTER DELETE ON memories BEGIN
            INSERT INTO memories_fts(memories_fts, rowid, folded)
                SELECT 'delete', old.rid, mt_lower(old.content)
                WHERE old.rid <= (SELECT watermark FROM fts_state);
            DELETE FROM memory_tags WHERE org_id = old.org_id AND memory_id = old.memory_id
                AND tag IN (SELECT value FROM json_each(old.tags));
        END;
        """,
    ),
    (
        # The Arc store's local half (stores/arc/journal.py explains each table).
        # ``seq`` starts at the creation time in µs, so a fresh data dir pointed at
        # an Arc database that already holds rows numbers its own rows after them.
        "arc journal",
        """
        CREATE TABLE arc_journal (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            memory_id TEXT NOT NULL,
            org_id TEXT NOT NULL,
            time_us INTEGER NOT NULL,
            hour INTEGER NOT NULL,
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
        INSERT INTO sqlite_sequence(name, seq) VALUES (
            'arc_journal', CAST((julianday('now') - 2440587.5) * 86400000000 AS INTEGER)
        );
        CREATE UNIQUE INDEX arc_journal_id ON arc_journal(org_id, memory_id);
        CREATE INDEX arc_journal_agent ON arc_journal(org_id, agent_id, memory_id);
        CREATE INDEX arc_journal_session
            ON arc_journal(org_id, session_id, memory_id) WHERE session_id IS NOT NULL;
        CREATE INDEX arc_journal_hour ON arc_journal(hour, seq);
        CREATE TABLE arc_dedup (
            org_id TEXT NOT NULL,
            dedup_key TEXT NOT NULL,
            memory_id TEXT NOT NULL,
            agent_id TEXT NOT NULL,
            time_us INTEGER NOT NULL,
            PRIMARY KEY (org_id, dedup_key, memory_id)
        ) WITHOUT ROWID;
        CREATE INDEX arc_dedup_id ON arc_dedup(org_id, memory_id);
        CREATE INDEX arc_dedup_agent ON arc_dedup(org_id, agent_id);
        CREATE INDEX arc_dedup_time ON arc_dedup(time_us);
        CREATE TABLE arc_tombstones (
            org_id TEXT NOT NULL,
            memory_id TEXT NOT NULL,
            created_us INTEGER NOT NULL,
            verified_us INTEGER,
            next_try_us INTEGER NOT NULL DEFAULT 0,
            attempts INTEGER NOT NULL DEFAULT 0,
            PRIMARY KEY (org_id, memory_id)
        ) WITHOUT ROWID;
        CREATE TABLE arc_purges (
            org_id TEXT NOT NULL,
            agent_id TEXT NOT NULL,
            max_seq INTEGER NOT NULL,
            created_us INTEGER NOT NULL,
            verified_us INTEGER,
            next_try_us INTEGER NOT NULL DEFAULT 0,
            attempts INTEGER NOT NULL DEFAULT 0,
            PRIMARY KEY (org_id, agent_id, max_seq)
        ) WITHOUT ROWID;
        CREATE TABLE arc_spans (
            org_id TEXT NOT NULL,
            kind TEXT NOT NULL,
            key TEXT NOT NULL,
            first_us INTEGER NOT NULL,
            last_us INTEGER NOT NULL,
            PRIMARY KEY (org_id, kind, key)
        ) WITHOUT ROWID;
        CREATE TABLE arc_hours (
            hour INTEGER PRIMARY KEY,
            settle_us INTEGER NOT NULL
        );
        CREATE TABLE arc_state (
            key TEXT PRIMARY KEY,
            value
        ) WITHOUT ROWID;
        """,
    ),
    (
        # Positions made the index five times the size and half the speed to fill,
        # and search needs none: every candidate is checked against the content
        # (search.py). Rebuilt from the start by the background indexer.
        "search index without positions",
        """
        DROP TRIGGER memories_ad;
        DROP TABLE memories_fts;
        CREATE VIRTUAL TABLE memories_fts USING fts5(
            folded, content='', tokenize='trigram case_sensitive 1', detail=none
        );
        UPDATE fts_state SET watermark = 0;
        CREATE TRIGGER memories_ad AFTER DELETE ON memories BEGIN
            INSERT INTO memories_fts(memories_fts, rowid, folded)
                SELECT 'delete', old.rid, mt_lower(old.content)
                WHERE old.rid <= (SELECT watermark FROM fts_state);
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
