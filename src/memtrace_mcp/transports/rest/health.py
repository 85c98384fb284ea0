"""/health and /ready: public, no key."""


import time
from typing import Literal

from fastapi import APIRouter
from pydantic import BaseModel
from starlette.responses import JSONResponse

from ...errors import MemtraceError
from ...service import Services


class Health(BaseModel):
    status: Literal["ok"]
    service: Literal["memtrace"]
    uptime: str


class Readiness(BaseModel):
    status: Literal["ready", "not_ready"]
    store: Literal["embedded", "arc"]
    arc: Literal["connected", "disconnected", "not_configured"]
    backlog: int


def format_uptime(seconds: float) -> str:
    total = int(seconds)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes}m{secs}s"
    if minutes:
        return f"{minutes}m{secs}s"
    return f"{secs}s"


def router(services: Services, store_kind: Literal["embedded", "arc"]) -> APIRouter:
    api = APIRouter(tags=["health"])
    started = time.monotonic()

    @api.get("/health", response_model=Health, summary="Liveness")
    async def health() -> JSONResponse:
        uptime = format_uptime(time.monotonic() - started)
        return JSONResponse({"status": "ok", "service": "memtrace", "uptime": uptime})

    @api.get(
        "/ready",
        response_model=Readiness,
        summary="Whether the store can serve",
        responses={503: {"description": "Not ready", "model": Readiness}},
    )
    async def ready() -> JSONResponse:
        try:
            status = await services.memories.status()
        except MemtraceError:
            body = {"status": "not_ready", "store": store_kind, "arc": "not_configured", "backlog": 0}
            if store_kind == "arc":
                body["arc"] = "disconnected"
            return JSONResponse(body, 503)
        body = {
            "status": "ready" if status.ready else "not_ready",
            "store": status.store,
            "arc": status.arc,
            "backlog": status.backlog,
        }
        return JSONResponse(body, 200 if status.ready else 503)

    return api
