"""Settings: environment (``MEMTRACE_*``), then ``memtrace.toml``, then defaults.

Built once by the CLI or the ASGI factory and passed down; nothing else reads the
environment. The TOML file is looked up at ``$MEMTRACE_CONFIG`` or ``./memtrace.toml``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any, Literal

import platformdirs
from pydantic import Field, SecretStr, field_validator
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)


def _default_data_dir() -> Path:
    return Path(platformdirs.user_data_dir("memtrace-mcp", appauthor=False))


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="MEMTRACE_", extra="ignore")

    host: str = Field("127.0.0.1", description="Interface the HTTP server binds to.")
    port: int = Field(9100, ge=0, le=65535, description="HTTP port.")
    data_dir: Path = Field(default_factory=_default_data_dir, description="Holds memtrace.db.")

    agent_id: str = Field("default", description="Agent id MCP tools use when none is given.")
    dedup_window_hours: float = Field(24.0, ge=0, description="0 turns dedup off.")
    max_content_bytes: int = Field(64 * 1024, ge=1, description="Largest memory content (UTF-8).")
    max_metadata_bytes: int = Field(16 * 1024, ge=2, description="Largest metadata object (JSON).")
    max_body_bytes: int = Field(16 * 1024 * 1024, ge=1024, description="Largest HTTP request body.")
    write_group_max: int = Field(512, ge=1, description="Most writes committed in one transaction.")

    arc_url: str | None = Field(None, description="Arc base URL; setting it selects the Arc store.")
    arc_token: SecretStr | None = Field(None, description="Arc API token (write, read, admin).")
    arc_database: str = Field("memtrace", description="Arc database (x-arc-database).")
    arc_measurement: str = Field("memories", description="Arc measurement (table).")
    arc_batch_size: int = Field(5000, ge=1, description="Most memories shipped to Arc per write.")
    arc_flush_interval_ms: int = Field(200, ge=10, description="Shipper wake-up interval.")
    arc_timeout_s: float = Field(10.0, gt=0, description="Per-request Arc timeout.")
    arc_batch_bytes: int = Field(
        4 * 1024 * 1024, ge=64 * 1024, description="Largest body of one write to Arc (bytes)."
    )
    arc_read_timeout_s: float = Field(
        5.0, gt=0, description="A read waits this long for Arc, then serves the journal alone."
    )
    arc_cache_horizon_s: float = Field(
        120.0,
        ge=0,
        description="How long Arc's path caches may hide a new hour directory (Arc: 30 s glob"
        " + 60 s per query); rows stay journaled this long after Arc first shows their hour.",
    )
    arc_tombstone_grace_s: float = Field(
        600.0, ge=0, description="Forgotten ids stay hidden this long after Arc's delete is verified."
    )

    url: str | None = Field(None, description="Remote mode: a memtrace server the stdio MCP forwards to.")
    api_key: SecretStr | None = Field(None, description="Remote mode: the key for MEMTRACE_URL.")

    allowed_hosts: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Extra Host names accepted by /mcp and /sse (DNS-rebinding protection), "
        "comma-separated, e.g. mcp.example.com; * turns the Host/Origin check off "
        "(only behind a proxy that checks Host itself).",
    )
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    log_format: Literal["text", "json"] = "text"

    @field_validator("allowed_hosts", mode="before")
    @classmethod
    def _split_hosts(cls, value: Any) -> Any:
        """``MEMTRACE_ALLOWED_HOSTS=a.example.com,b.example.com`` (or a TOML list)."""
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @property
    def db_path(self) -> Path:
        return self.data_dir / "memtrace.db"

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        toml_path = os.environ.get("MEMTRACE_CONFIG", "memtrace.toml")
        return (
            init_settings,
            env_settings,
            TomlConfigSettingsSource(settings_cls, toml_file=toml_path),
        )
