"""The ``memtrace-mcp`` command: MCP on stdio (the default), serve HTTP, and
manage keys and orgs.

Admin commands open the database file directly; they work whether a server is
running or not, and their changes (a revoked key) reach running servers at once.
Errors print ``error: <message>`` to stderr and exit 1.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import logging
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from . import __version__
from .errors import MemtraceError


def _settings(args: argparse.Namespace) -> Any:
    from .config import Settings

    overrides: dict[str, Any] = {}
    for name in ("host", "port", "data_dir"):
        value = getattr(args, name, None)
        if value is not None:
            overrides[name] = value
    return Settings(**overrides)


def _configure_logging(level: str, fmt: str) -> None:
    if fmt == "json":
        pattern = '{"time":"%(asctime)s","level":"%(levelname)s","logger":"%(name)s","message":"%(message)s"}'
    else:
        pattern = "%(asctime)s %(levelname)s %(name)s: %(message)s"
    logging.basicConfig(level=level.upper(), format=pattern, stream=sys.stderr)


def _print_bootstrap_key(key: str) -> None:
    print("FIRST RUN: Save your admin API key (shown only once)", file=sys.stderr)
    print(f"API Key: {key}", file=sys.stderr, flush=True)


def _steady_gc() -> None:
    """Make the cyclic garbage collector cheap for a long-running server. What was
    imported and built at start-up lives as long as the process: frozen, the
    collector stops walking it. Requests allocate tens of thousands of short-lived,
    acyclic containers (a batch's parsed JSON, its models, its rows): a larger first
    generation collects after every ~50k of them rather than every 700. Together:
    about a tenth of the server's CPU per memory in a batch of creates. (No
    collection first: it would add ~50 ms to a stdio start for a few kB.)"""
    gc.freeze()
    gc.set_threshold(50_000, 20, 20)


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from .asgi import create_app

    settings = _settings(args)
    _configure_logging(settings.log_level, settings.log_format)
    app = create_app(settings, on_bootstrap_key=_print_bootstrap_key)
    _steady_gc()
    uvicorn.run(
        app,
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level,
        access_log=settings.log_level == "debug",
        server_header=False,
    )
    return 0


@asynccontextmanager
async def _tool_services(settings: Any) -> AsyncIterator[Any]:
    """The services behind stdio MCP: a remote server's REST API when MEMTRACE_URL
    is set (remote mode), else the embedded store."""
    if settings.url:
        if settings.api_key is None:
            raise ValueError("MEMTRACE_URL is set but MEMTRACE_API_KEY is not (remote mode needs both)")
        from .transports.mcp.remote import open_remote

        async with open_remote(settings.url, settings.api_key.get_secret_value()) as remote:
            yield remote
        return
    from .wiring import open_services

    async with open_services(settings) as services:
        yield services


def cmd_stdio(args: argparse.Namespace) -> int:
    """MCP on stdin/stdout. Imports no HTTP server stack: start-up stays fast."""
    from .transports.mcp.stdio import run_stdio

    settings = _settings(args)
    _configure_logging(settings.log_level, settings.log_format)

    async def run() -> None:
        async with _tool_services(settings) as services:
            await run_stdio(services, agent_id=settings.agent_id)

    _steady_gc()
    asyncio.run(run())
    return 0


def _with_services(args: argparse.Namespace, action: Callable[[Any], Awaitable[None]]) -> int:
    from .wiring import open_services

    async def run() -> None:
        async with open_services(_settings(args)) as services:
            await action(services)

    asyncio.run(run())
    return 0


def _show(value: Any, as_json: bool, lines: Callable[[], Sequence[str]]) -> None:
    if as_json:
        print(json.dumps(value, indent=2, default=str))
    else:
        for line in lines():
            print(line)


def cmd_keys_create(args: argparse.Namespace) -> int:
    async def action(services: Any) -> None:
        created = await services.auth.create_key_local(args.org, args.name, args.scopes.split(","))
        _show(
            created.model_dump(mode="json"),
            args.json,
            lambda: [
                "API key created (shown only once; save it now):",
                created.key,
                f"  id: {created.id}  org: {created.org_id}  scopes: {','.join(created.scopes)}",
            ],
        )

    return _with_services(args, action)


def cmd_keys_list(args: argparse.Namespace) -> int:
    async def action(services: Any) -> None:
        keys = await services.auth.list_keys_local(args.org)
        rows = [k.model_dump(mode="json") for k in keys]
        _show(
            rows,
            args.json,
            lambda: [f"{'ID':<22}  {'ORG':<30}  {'NAME':<24}  {'PREFIX':<8}  {'SCOPES':<18}  STATE"]
            + [
                f"{k.id:<22}  {k.org_id:<30}  {k.name[:24]:<24}  {k.prefix:<8}  "
                f"{','.join(k.scopes):<18}  {'revoked' if k.revoked_at else 'active'}"
                for k in keys
            ],
        )

    return _with_services(args, action)


def cmd_keys_revoke(args: argparse.Namespace) -> int:
    async def action(services: Any) -> None:
        await services.auth.revoke_key_local(args.key_id)
        print(f"Key {args.key_id} revoked")

    return _with_services(args, action)


def cmd_orgs_create(args: argparse.Namespace) -> int:
    async def action(services: Any) -> None:
        org = await services.auth.create_org(args.name)
        _show(org.model_dump(mode="json"), args.json,
              lambda: ["Organization created", f"  id:   {org.id}", f"  name: {org.name}"])

    return _with_services(args, action)


def cmd_orgs_list(args: argparse.Namespace) -> int:
    async def action(services: Any) -> None:
        orgs = await services.auth.list_orgs()
        _show(
            [o.model_dump(mode="json") for o in orgs],
            args.json,
            lambda: [f"{'ID':<30}  {'NAME':<30}  CREATED"]
            + [f"{o.id:<30}  {o.name[:30]:<30}  {o.created_at:%Y-%m-%d %H:%M}" for o in orgs],
        )

    return _with_services(args, action)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="memtrace-mcp", description="Memory server for AI agents (MCP + REST)."
    )
    parser.add_argument("--version", action="version", version=f"memtrace-mcp {__version__}")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--data-dir", type=Path, default=argparse.SUPPRESS, help="data directory (MEMTRACE_DATA_DIR)"
    )
    parser.add_argument("--data-dir", type=Path, help="data directory (MEMTRACE_DATA_DIR)")
    parser.set_defaults(func=cmd_stdio)  # no command: MCP on stdio
    sub = parser.add_subparsers(dest="command")

    stdio = sub.add_parser(
        "stdio", parents=[common], help="serve MCP on stdin/stdout (the default with no command)"
    )
    stdio.set_defaults(func=cmd_stdio)

    serve = sub.add_parser("serve", parents=[common], help="run the HTTP server (REST + MCP)")
    serve.add_argument("--host", help="bind address (MEMTRACE_HOST, default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port (MEMTRACE_PORT, default 9100)")
    serve.set_defaults(func=cmd_serve)

    keys = sub.add_parser("keys", help="manage API keys").add_subparsers(dest="keys", required=True)
    create = keys.add_parser("create", parents=[common], help="create a key (printed once)")
    create.add_argument("--org", default="org_default", help="org id (default org_default)")
    create.add_argument("--name", required=True)
    create.add_argument("--scopes", default="read,write", help="comma-separated: read,write,admin")
    create.add_argument("--json", action="store_true")
    create.set_defaults(func=cmd_keys_create)
    listing = keys.add_parser("list", parents=[common], help="list keys")
    listing.add_argument("--org", help="only this org")
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(func=cmd_keys_list)
    revoke = keys.add_parser("revoke", parents=[common], help="revoke a key by id")
    revoke.add_argument("key_id")
    revoke.set_defaults(func=cmd_keys_revoke)

    orgs = sub.add_parser("orgs", help="manage orgs").add_subparsers(dest="orgs", required=True)
    ocreate = orgs.add_parser("create", parents=[common], help="create an org")
    ocreate.add_argument("name")
    ocreate.add_argument("--json", action="store_true")
    ocreate.set_defaults(func=cmd_orgs_create)
    olist = orgs.add_parser("list", parents=[common], help="list orgs")
    olist.add_argument("--json", action="store_true")
    olist.set_defaults(func=cmd_orgs_list)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except MemtraceError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return 1
    except (ValueError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
