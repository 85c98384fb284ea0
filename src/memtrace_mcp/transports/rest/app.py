"""The REST face: a FastAPI app over the services."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from ... import __version__
from ...service import Services
from . import agents, errors, health, keys, memories, sessions
from .io import BODY_MODELS

DESCRIPTION = (
    "Memory for AI agents: store what agents did, saw and decided; search it; "
    "get LLM-ready session context. Authenticate with `x-api-key: mtk_...` or "
    "`Authorization: Bearer mtk_...`. Every error is `{\"error\", \"message\"}`."
)


def create_rest_app(
    services: Services, *, store_kind: Literal["embedded", "arc"] = "embedded", **kwargs: Any
) -> FastAPI:
    app = FastAPI(
        title="memtrace",
        version=__version__,
        description=DESCRIPTION,
        redirect_slashes=False,
        **kwargs,
    )
    errors.install(app)
    app.include_router(health.router(services, store_kind))
    app.include_router(memories.router(services))
    app.include_router(agents.router(services))
    app.include_router(sessions.router(services))
    app.include_router(keys.router(services))

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title, version=app.version, description=app.description,
                routes=app.routes,
            )
            components = schema.setdefault("components", {}).setdefault("schemas", {})
            for name, model in sorted(BODY_MODELS.items()):
                model_schema = model.model_json_schema(
                    ref_template="#/components/schemas/{model}", mode="validation"
                )
                for def_name, definition in model_schema.pop("$defs", {}).items():
                    components.setdefault(def_name, definition)
                components[name] = model_schema
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    return app
