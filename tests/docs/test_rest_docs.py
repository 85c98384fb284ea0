"""The REST reference in rest/ stays true to the app."""

from __future__ import annotations

import re
from pathlib import Path

from memtrace_mcp.config import Settings
from memtrace_mcp.transports.rest.app import create_rest_app
from memtrace_mcp.wiring import build_runtime

from scripts.gen_openapi import generate

REST = Path(__file__).resolve().parents[2] / "rest"


def test_committed_openapi_document_matches_what_the_app_generates() -> None:
    committed = (REST / "openapi.json").read_text()
    assert committed == generate(), "rest/openapi.json is stale: run scripts/gen_openapi.py"


def test_every_route_is_documented_in_a_rest_page(tmp_path: Path) -> None:
    app = create_rest_app(build_runtime(Settings(data_dir=tmp_path)).services)
    pages = "\n".join(p.read_text() for p in REST.glob("*.md"))
    documented = set(re.findall(r"^#+ `?(GET|POST|PUT|PATCH|DELETE) (/\S*?)`?$", pages, re.M))
    routes = {
        (method.upper(), path)
        for path, operations in app.openapi()["paths"].items()
        for method in operations
    }
    assert routes - documented == set(), "routes missing from rest/*.md"
    assert documented - routes == set(), "rest/*.md documents routes the app lacks"


def test_each_resource_has_its_page() -> None:
    for name in ("README", "memories", "search", "sessions", "agents", "keys"):
        assert (REST / f"{name}.md").is_file(), name
