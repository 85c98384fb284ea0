"""Replaying ``arc-golden/exchanges.jsonl``: send each recorded request, normalise the
answer the way ``record.py`` normalised Arc's, and list what differs.

The placeholder rules mirror ``record.py`` (volatile keys, the storage root, Parquet
file names, "now" timestamps, long strings). One comparison is looser than equality,
as the golden README prescribes: for 500s carrying a DuckDB error only the text up to
``LINE 1:`` counts, since the excerpt after it quotes the rewritten SQL.
"""

from __future__ import annotations

import datetime as dt
import gzip
import hashlib
import json
import os
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import msgpack

# A copy of the recordings (and their README) lives in the repo so a clean clone can
# prove the stand-in; MEMTRACE_ARC_GOLDEN_DIR points at a newer recording instead.
GOLDEN_DIR = Path(os.environ.get("MEMTRACE_ARC_GOLDEN_DIR", Path(__file__).with_name("golden")))
EXPECTED_FAILURES = Path(__file__).with_name("expected_failures.txt")
BAD_TOKEN = "golden-not-a-real-token-00000000000000000000"

# The recorder's three Arc servers, as stand-in options (see the golden README).
PROFILES: dict[str, dict[str, object]] = {
    "main": {"max_buffer_age_ms": 100},
    "slow": {"max_buffer_age_ms": 600_000},
    "nodelete": {"max_buffer_age_ms": 100, "delete_enabled": False, "max_payload_size": "4KB"},
}

_RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?Z$")
_PARQUET_NAME = re.compile(r"([A-Za-z0-9_-]+?)_\d{8}_\d{6}_\d+\.parquet")
_LENGTH_MISMATCH = re.compile(r"array length mismatch \(expected \d+, got \d+ for '[^']*'\)")
_PLACEHOLDER = re.compile(r"<([a-z-]+)>")
_ZERO_TIME = "0001-01-01T00:00:00Z"
_TRUNCATE_OVER = 4096


@dataclass(frozen=True)
class Exchange:
    case: str
    group: str
    server: str
    request: dict[str, Any]
    response: dict[str, Any]
    pre_sleep_ms: int = 0


def load_exchanges(path: Path = GOLDEN_DIR / "exchanges.jsonl") -> list[Exchange]:
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        raw = json.loads(line)
        out.append(
            Exchange(
                raw["case"],
                raw["group"],
                raw["server"],
                raw["request"],
                raw["response"],
                raw.get("pre_sleep_ms", 0),
            )
        )
    return out


def load_expected_failures(path: Path = EXPECTED_FAILURES) -> dict[str, str]:
    """``case_id  reason`` per line; '#' starts a comment."""
    entries = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            case, _, reason = line.partition(" ")
            entries[case] = reason.strip()
    return entries


def _unjson(value: Any) -> Any:
    if isinstance(value, dict):
        if set(value) == {"$bytes"}:
            return bytes.fromhex(value["$bytes"])
        return {k: _unjson(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_unjson(v) for v in value]
    return value


@dataclass
class Replayer:
    """Sends exchanges to one stand-in per server profile, learning tokens on the way."""

    clients: dict[str, httpx.Client]
    storage_roots: dict[str, str]
    tokens: dict[str, str] = field(default_factory=dict)
    started: float = field(default_factory=time.time)

    def replay(self, exchange: Exchange) -> list[str]:
        """Send one exchange; the differences from the recording (empty: identical)."""
        if exchange.pre_sleep_ms:
            time.sleep(exchange.pre_sleep_ms / 1000)  # the recording waited here too
        req = exchange.request
        headers = {k: self._fill(v) for k, v in req.get("headers", {}).items()}
        response = self.clients[exchange.server].request(
            req["method"], self._fill(req["path"]), headers=headers, content=self._body(req)
        )
        self._learn_token(req, response)
        return compare(exchange, response, self.storage_roots[exchange.server], self.started)

    def replay_all(self, exchanges: list[Exchange]) -> dict[str, list[str]]:
        """Every exchange in order; a transport failure is recorded as a difference."""
        outcomes = {}
        for exchange in exchanges:
            try:
                outcomes[exchange.case] = self.replay(exchange)
            except httpx.HTTPError as exc:
                outcomes[exchange.case] = [f"request failed: {exc!r}"]
        return outcomes

    def _fill(self, text: str) -> str:
        return _PLACEHOLDER.sub(lambda m: self.tokens.get(m.group(1), BAD_TOKEN), text)

    @staticmethod
    def _body(req: dict[str, Any]) -> bytes | None:
        if "body_json" in req:
            return json.dumps(req["body_json"], ensure_ascii=False).encode("utf-8")
        if "body_msgpack" in req:
            packed = msgpack.packb(_unjson(req["body_msgpack"]))
            return (
                gzip.compress(packed, mtime=0) if req.get("body_compression") == "gzip" else packed
            )
        if "body_raw" in req:
            raw = req["body_raw"]
            return bytes.fromhex(raw["$bytes"]) if isinstance(raw, dict) else raw.encode("utf-8")
        return None

    def _learn_token(self, req: dict[str, Any], response: httpx.Response) -> None:
        if (
            req["path"] == "/api/v1/auth/tokens"
            and req["method"] == "POST"
            and response.status_code == 201
        ):
            role = str(req["body_json"]["name"]).removeprefix("golden-")
            self.tokens[role] = response.json()["token"]


# ---------------- normalisation (mirrors record.py) ----------------
def _norm_str(text: str, root: str, started: float) -> Any:
    text = text.replace(root, "<storage>")
    if ".parquet" in text:
        text = _PARQUET_NAME.sub(r"\1_<ts>.parquet", text)
    if "array length mismatch" in text:
        text = _LENGTH_MISMATCH.sub(
            "array length mismatch (expected <n>, got <m> for '<column>')", text
        )
    if "LINE 1:" in text:
        head, _, excerpt = text.partition("LINE 1:")
        if (
            "read_parquet(" in excerpt
            or "<storage>" in excerpt
            or excerpt.lstrip().startswith("...")
        ):
            text = head + "LINE 1: <excerpt of the rewritten SQL>"
    if _RFC3339.match(text):
        moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
        if started - 600 <= moment <= time.time() + 600:
            return "<now>"
    if len(text) > _TRUNCATE_OVER:
        return {
            "$truncated_string": {
                "length": len(text),
                "sha256": hashlib.sha256(text.encode()).hexdigest(),
                "first_200": text[:200],
                "last_200": text[-200:],
            }
        }
    return text


def normalise(value: Any, root: str, path: str, started: float, key: str | None = None) -> Any:
    health = path in ("/health", "/ready")
    if isinstance(value, dict):
        out = {k: normalise(v, root, path, started, k) for k, v in value.items()}
        columns, data = value.get("columns"), out.get("data")
        if isinstance(columns, list) and isinstance(data, list) and "total_size_mb" in columns:
            at = columns.index("total_size_mb")
            for row in data:
                if isinstance(row, list) and at < len(row):
                    row[at] = "<size_mb>"
        return out
    if isinstance(value, list):
        return [normalise(v, root, path, started) for v in value]
    if key == "execution_time_ms" and isinstance(value, (int, float)):
        return "<ms>"
    if key == "total_size_mb" and isinstance(value, (int, float)):
        return "<size_mb>"
    if isinstance(value, str) and (
        key in ("timestamp", "created_at", "expires_at")
        or (key == "last_used_at" and value != _ZERO_TIME)
        or (health and key == "time")
    ):
        return "<ts>"
    if key == "token" and isinstance(value, str) and path == "/api/v1/auth/tokens":
        return "<token-plaintext>"
    if health and key in ("uptime", "uptime_sec"):
        return "<uptime>"
    return _norm_str(value, root, started) if isinstance(value, str) else value


def _msgpack_jsonable(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return {"$timestamp": value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")}
    if isinstance(value, bytes):
        return {"$bytes": value.hex()}
    if isinstance(value, dict):
        return {str(k): _msgpack_jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_msgpack_jsonable(v) for v in value]
    return value


def _duckdb_head(value: Any) -> Any:
    """DuckDB errors compare up to their ``LINE 1:`` excerpt."""
    if (
        isinstance(value, dict)
        and isinstance(value.get("error"), str)
        and value["error"].startswith("arrow query failed:")
    ):
        return {**value, "error": value["error"].partition("LINE 1:")[0].rstrip()}
    return value


def compare(exchange: Exchange, response: httpx.Response, root: str, started: float) -> list[str]:
    expected, path = exchange.response, exchange.request["path"].split("?")[0]
    problems = []
    if response.status_code != expected["status"]:
        problems.append(f"status {response.status_code} != {expected['status']}")
    content_type = response.headers.get("content-type")
    if content_type != expected["content_type"]:
        problems.append(f"content-type {content_type!r} != {expected['content_type']!r}")
    if content_type and "msgpack" in content_type:
        decoded = msgpack.unpackb(response.content, timestamp=3, strict_map_key=False)
        actual: Any = {"decoded": normalise(_msgpack_jsonable(decoded), root, path, started)}
        wanted: Any = {"decoded": expected["body"]["decoded"]}
        actual["decoded"], wanted["decoded"] = (
            _duckdb_head(actual["decoded"]),
            _duckdb_head(wanted["decoded"]),
        )
    else:
        text = response.text
        try:
            parsed = json.loads(text) if text else text
        except ValueError:
            parsed = text
        actual, wanted = (
            _duckdb_head(normalise(parsed, root, path, started)),
            _duckdb_head(expected["body"]),
        )
        if "body_text" in expected:
            raw = re.sub(r'"execution_time_ms":[0-9.eE+-]+', '"execution_time_ms":"<ms>"', text)
            raw = re.sub(r'"timestamp":"[^"]*"', '"timestamp":"<ts>"', raw)
            if _norm_str(raw, root, started) != expected["body_text"]:
                problems.append(f"body text differs:\n  got  {raw}\n  want {expected['body_text']}")
    if actual != wanted:
        problems.append(
            f"body differs:\n  got  {json.dumps(actual, ensure_ascii=False)[:3000]}"
            f"\n  want {json.dumps(wanted, ensure_ascii=False)[:3000]}"
        )
    return problems
