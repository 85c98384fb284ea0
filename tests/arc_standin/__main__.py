"""``python -m tests.arc_standin``: run the Arc stand-in as its own process.

Prints ``arc-standin ready url=http://HOST:PORT`` on stdout once it accepts
connections (``/health`` is pollable too) and exits cleanly on SIGTERM or
SIGINT, flushing buffered rows first, as Arc does.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

import uvicorn

from .app import create_app
from .config import StandinConfig, parse_size

EPILOG = """Settings of the golden recordings' three Arc servers:
  main:     --max-buffer-age-ms 100
  slow:     --max-buffer-age-ms 600000
  nodelete: --max-buffer-age-ms 100 --no-delete --max-payload-size 4KB
"""


def parse_args(argv: list[str] | None = None) -> tuple[StandinConfig, str]:
    """Command line -> (settings, log level)."""
    ap = argparse.ArgumentParser(
        prog="python -m tests.arc_standin",
        description=__doc__,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument(
        "--port", type=int, default=8000, help="0 picks a free port (see the ready line)"
    )
    ap.add_argument(
        "--data-dir",
        type=Path,
        required=True,
        help="Parquet root; token state goes in DATA_DIR/.standin",
    )
    ap.add_argument(
        "--token",
        default=os.environ.get("ARC_AUTH_BOOTSTRAP_TOKEN"),
        help="bootstrap admin token, at least 32 characters (env ARC_AUTH_BOOTSTRAP_TOKEN)",
    )
    ap.add_argument(
        "--max-buffer-age-ms",
        type=int,
        default=5000,
        help="Arc's ingest.max_buffer_age_ms (default 5000)",
    )
    ap.add_argument(
        "--max-buffer-rows", type=int, default=50_000, help="flush a buffer at this many rows"
    )
    ap.add_argument(
        "--delete-enabled",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="Arc's delete.enabled (--no-delete-enabled or --no-delete to turn off)",
    )
    ap.add_argument(
        "--no-delete", dest="delete_enabled", action="store_false", help=argparse.SUPPRESS
    )
    ap.add_argument(
        "--max-payload-size", default="1GB", help="Arc's server.max_payload_size, e.g. 4KB"
    )
    ap.add_argument(
        "--glob-cache-ttl-s", type=float, default=30.0, help="hour-directory glob cache; 0 disables"
    )
    ap.add_argument(
        "--partition-cache-ttl-s",
        type=float,
        default=60.0,
        help="per-SQL pruned-path cache; 0 disables",
    )
    ap.add_argument("--query-timeout-s", type=float, default=300.0, help="504 after this long")
    ap.add_argument("--token-cache-ttl-s", type=float, default=300.0, help="Arc's auth.cache_ttl")
    ap.add_argument(
        "--crash-on-background-panic",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="exit like Arc when a background flush meets a column named ''",
    )
    ap.add_argument(
        "--column-order-seed", type=int, default=0, help="seed for the per-file column shuffle"
    )
    ap.add_argument("--log-level", default="warning")
    args = ap.parse_args(argv)
    if not args.token or len(args.token) < 32:
        ap.error(
            "--token (or ARC_AUTH_BOOTSTRAP_TOKEN) must be at least 32 characters, as Arc requires"
        )
    try:
        parse_size(args.max_payload_size)
    except ValueError as exc:
        ap.error(str(exc))
    config = StandinConfig(
        data_dir=args.data_dir.resolve(),
        admin_token=args.token,
        host=args.host,
        port=args.port,
        max_buffer_age_ms=args.max_buffer_age_ms,
        max_buffer_rows=args.max_buffer_rows,
        delete_enabled=args.delete_enabled,
        max_payload_size=args.max_payload_size,
        glob_cache_ttl_s=args.glob_cache_ttl_s,
        partition_cache_ttl_s=args.partition_cache_ttl_s,
        query_timeout_s=args.query_timeout_s,
        token_cache_ttl_s=args.token_cache_ttl_s,
        crash_on_background_panic=args.crash_on_background_panic,
        column_order_seed=args.column_order_seed,
    )
    return config, args.log_level.upper()


class _ReadyServer(uvicorn.Server):
    """Announces the bound address once the socket accepts connections."""

    async def startup(self, sockets=None) -> None:  # type: ignore[no-untyped-def]
        await super().startup(sockets)
        if self.started:
            host, port = self.servers[0].sockets[0].getsockname()[:2]
            print(f"arc-standin ready url=http://{host}:{port}", flush=True)


def main(argv: list[str] | None = None) -> int:
    config, log_level = parse_args(argv)
    logging.basicConfig(level=log_level, stream=sys.stderr)
    server = _ReadyServer(
        uvicorn.Config(
            create_app(config),
            host=config.host,
            port=config.port,
            log_level="warning",
            access_log=False,
            lifespan="on",
            timeout_graceful_shutdown=30,
        )
    )
    server.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
