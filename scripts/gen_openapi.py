"""Write rest/openapi.json from the app (run after changing a route or a model):

    .venv/bin/python scripts/gen_openapi.py
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))


def generate() -> str:
    from memtrace_mcp.config import Settings
    from memtrace_mcp.transports.rest.app import create_rest_app
    from memtrace_mcp.wiring import build_runtime

    with tempfile.TemporaryDirectory() as tmp:
        runtime = build_runtime(Settings(data_dir=Path(tmp)))
        schema = create_rest_app(runtime.services).openapi()
    return json.dumps(schema, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


if __name__ == "__main__":
    (ROOT / "rest" / "openapi.json").write_text(generate())
    print("wrote rest/openapi.json")
