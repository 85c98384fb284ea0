"""Token API and database management routes (admin territory in Arc)."""

from __future__ import annotations

import re

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .auth import (
    VALID_PERMISSIONS,
    DuplicateTokenNameError,
    TokenStore,
    now_rfc3339,
    parse_expires_in,
)
from .delete import DISABLED
from .http_util import BodyError, error, forbidden_unless, json_body
from .storage import Storage

_DB_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,63}$")
_RESERVED = {"system", "internal", "_internal"}
_CREATED = "Token created successfully. Store this token securely - it cannot be retrieved again."


def token_routes(store: TokenStore) -> list[Route]:
    async def create(request: Request) -> Response:
        if denied := forbidden_unless(request, "admin"):
            return denied
        try:
            body = await json_body(
                request,
                "CreateTokenRequest",
                {"name": str, "description": str, "permissions": list, "expires_in": str},
            )
        except BodyError as exc:
            return error(400, f"Invalid request body: {exc}", success_key=True)
        name = str(body.get("name") or "")
        if not name:
            return error(400, "Token name is required", success_key=True)
        permissions = body.get("permissions")
        perms = ("read", "write") if permissions is None else tuple(str(p) for p in permissions)  # type: ignore[union-attr]
        for perm in perms:
            if perm not in VALID_PERMISSIONS:
                return error(
                    400,
                    f"Invalid permission: {perm}. Valid permissions are: "
                    f"{', '.join(VALID_PERMISSIONS)}",
                    success_key=True,
                )
        expires = parse_expires_in(str(body["expires_in"])) if body.get("expires_in") else None
        if body.get("expires_in") and expires is None:
            return error(400, f"Invalid expires_in: {body['expires_in']}", success_key=True)
        try:
            token = store.create(name, str(body.get("description") or ""), perms, expires)
        except DuplicateTokenNameError as exc:
            return error(500, str(exc), success_key=True)  # Arc answers 500, not 409
        return JSONResponse({"message": _CREATED, "success": True, "token": token}, status_code=201)

    async def list_tokens(request: Request) -> Response:
        if denied := forbidden_unless(request, "admin"):
            return denied
        tokens = [t.as_json() for t in store.list()]
        return JSONResponse({"count": len(tokens), "success": True, "tokens": tokens})

    def with_id(action):  # type: ignore[no-untyped-def]
        async def endpoint(request: Request) -> Response:
            if denied := forbidden_unless(request, "admin"):
                return denied
            raw = request.path_params["token_id"]
            if not raw.isdigit():
                return error(400, "Invalid token ID", success_key=True)
            return await action(request, int(raw))

        return endpoint

    async def get_one(_request: Request, token_id: int) -> Response:
        info = store.get(token_id)
        if info is None:
            return error(404, "Token not found", success_key=True)
        return JSONResponse({"success": True, "token": info.as_json()})

    async def update(request: Request, token_id: int) -> Response:
        try:
            body = await json_body(
                request,
                "UpdateTokenRequest",
                {"name": str, "description": str, "permissions": list, "enabled": bool},
            )
        except BodyError as exc:
            return error(400, f"Invalid request body: {exc}", success_key=True)
        perms = body.get("permissions")
        if not store.update(
            token_id,
            name=body.get("name"),
            description=body.get("description"),
            permissions=tuple(perms) if perms is not None else None,  # type: ignore[arg-type]
            enabled=None if body.get("enabled") is None else int(bool(body["enabled"])),
        ):
            return error(404, "Token not found", success_key=True)
        return JSONResponse({"message": "Token updated successfully", "success": True})

    async def delete(_request: Request, token_id: int) -> Response:
        if not store.delete(token_id):
            return error(404, "Token not found", success_key=True)
        return JSONResponse({"message": "Token deleted successfully", "success": True})

    async def revoke(_request: Request, token_id: int) -> Response:
        if not store.revoke(token_id):
            return error(404, "Token not found", success_key=True)
        return JSONResponse({"message": "Token revoked successfully", "success": True})

    async def rotate(_request: Request, token_id: int) -> Response:
        token = store.rotate(token_id)
        if token is None:
            return error(404, "Token not found", success_key=True)
        return JSONResponse(
            {"message": "Token rotated successfully", "new_token": token, "success": True}
        )

    base = "/api/v1/auth/tokens"
    return [
        Route(base, create, methods=["POST"]),
        Route(base, list_tokens, methods=["GET"]),
        Route(base + "/{token_id}", with_id(get_one), methods=["GET"]),
        Route(base + "/{token_id}", with_id(update), methods=["PATCH"]),
        Route(base + "/{token_id}", with_id(delete), methods=["DELETE"]),
        Route(base + "/{token_id}/revoke", with_id(revoke), methods=["POST"]),
        Route(base + "/{token_id}/rotate", with_id(rotate), methods=["POST"]),
    ]


def database_routes(storage: Storage, delete_enabled: bool) -> list[Route]:
    async def list_databases(request: Request) -> Response:
        names = storage.databases()
        databases = [{"name": n, "measurement_count": storage.measurement_count(n)} for n in names]
        return JSONResponse({"databases": databases, "count": len(databases)})

    async def create(request: Request) -> Response:
        if denied := forbidden_unless(request, "admin"):
            return denied
        try:
            body = await json_body(request, "CreateDatabaseRequest", {"name": str})
        except BodyError as exc:
            return error(400, f"Invalid request body: {exc}")
        name = str(body.get("name") or "")
        if not name:
            return error(400, "Database name is required")
        if not _DB_NAME.match(name):
            return error(
                400,
                "Invalid database name: must start with a letter and contain only alphanumeric "
                "characters, underscores, or hyphens (max 64 characters)",
            )
        if name.lower() in _RESERVED:
            return error(400, f"Database name '{name}' is reserved")
        if storage.has_database(name):
            return error(409, f"Database '{name}' already exists")
        storage.create_database(name)
        return JSONResponse(
            {"name": name, "measurement_count": 0, "created_at": now_rfc3339()}, status_code=201
        )

    async def get_one(request: Request) -> Response:
        name = request.path_params["name"]
        if not storage.has_database(name):
            return error(404, f"Database '{name}' not found")
        return JSONResponse({"name": name, "measurement_count": storage.measurement_count(name)})

    async def measurements(request: Request) -> Response:
        name = request.path_params["name"]
        if not storage.has_database_dir(name):
            return error(404, f"Database '{name}' not found")
        tables = [{"name": t} for t in storage.measurements(name)]
        return JSONResponse({"database": name, "measurements": tables, "count": len(tables)})

    async def drop(request: Request) -> Response:
        if denied := forbidden_unless(request, "admin"):
            return denied
        if not delete_enabled:
            return error(403, DISABLED)
        name = request.path_params["name"]
        if request.query_params.get("confirm") != "true":
            return error(400, "Confirmation required. Add ?confirm=true to delete the database.")
        if not storage.has_database(name):
            return error(404, f"Database '{name}' not found")
        removed = storage.drop_database(name)
        return JSONResponse(
            {"files_deleted": removed, "message": f"Database '{name}' deleted successfully"}
        )

    base = "/api/v1/databases"
    return [
        Route(base, list_databases, methods=["GET"]),
        Route(base, create, methods=["POST"]),
        Route(base + "/{name}", get_one, methods=["GET"]),
        Route(base + "/{name}", drop, methods=["DELETE"]),
        Route(base + "/{name}/measurements", measurements, methods=["GET"]),
    ]
