"""The REST face: a FastAPI app over the services."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from ... import __version__
from ...service import Services
from . import agents, errors, health, keys, memories, sessions
from ..http_auth import ApiKeyGate
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
    app.add_middleware(ApiKeyGate, auth=services.auth, prefixes=("/api/",), defer=True)
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
            _document_errors(schema, components)
            _document_security(schema)
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


_ERROR_SCHEMA = {
    "title": "Error",
    "type": "object",
    "required": ["error", "message"],
    "properties": {
        "error": {
            "type": "string",
            "description": "invalid_request, unauthorized, forbidden, not_found, duplicate, "
            "conflict, payload_too_large, internal_error or unavailable",
        },
        "message": {"type": "string", "description": "What went wrong, naming the field."},
        "field": {"type": "string", "description": "The offending field, when there is one."},
        "memory_id": {"type": "string", "description": "duplicate: the memory holding the key."},
        "dedup_key": {"type": "string", "description": "duplicate: the key in question."},
    },
}


def _document_errors(schema: dict[str, Any], components: dict[str, Any]) -> None:
    """FastAPI documents a 422 we never send; we send 400 with the Error shape."""
    components.pop("HTTPValidationError", None)
    components.pop("ValidationError", None)
    components["Error"] = _ERROR_SCHEMA
    error_content = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
    for operations in schema.get("paths", {}).values():
        for operation in operations.values():
            responses = operation.get("responses", {})
            responses.pop("422", None)
            for status, response in responses.items():
                if status.startswith(("4", "5")) and "content" not in response:
                    response["content"] = error_content


def _document_security(schema: dict[str, Any]) -> None:
    """Every /api route needs a key; ApiKeyGate checks it, so the framework does not
    know: say it here, the way clients read it."""
    schema["components"]["securitySchemes"] = {
        "ApiKey": {"type": "apiKey", "in": "header", "name": "x-api-key"},
        "Bearer": {"type": "http", "scheme": "bearer"},
    }
    for path, operations in schema.get("paths", {}).items():
        if path.startswith("/api/"):
            for operation in operations.values():
                operation["security"] = [{"ApiKey": []}, {"Bearer": []}]
