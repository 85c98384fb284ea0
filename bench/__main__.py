"""``python -m bench``: build the data sets, run the scenarios, print the table,
write the JSON. See bench/README.md.

Exit code 0 when every scenario that ran answered correctly (timings never fail
a run), 1 when one returned wrong results or errors, 2 on bad arguments.
"""

from __future__ import annotations

import argparse
import secrets
import shutil
import signal
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NoReturn

from . import machine, report
from .profiling import Profiler
from .progress import note
from .result import Result
from .runner import run_store
from .scenarios import GROUPS
from .sizes import SIZES
from .targets import judge

DEFAULT_OUT = Path(__file__).parent / "results" / "latest.json"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(
        prog="python -m bench",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    ap.add_argument(
        "--size",
        choices=list(SIZES),
        default="quick",
        help="data set and run length (default quick: every scenario, tiny, checked)",
    )
    ap.add_argument(
        "--quick", dest="size", action="store_const", const="quick", help="same as --size quick"
    )
    ap.add_argument(
        "--store",
        choices=["embedded", "arc", "both"],
        default="both",
        help="which store to measure (default both; Arc says 'unavailable' when it cannot run)",
    )
    ap.add_argument(
        "--scenarios",
        default=",".join(GROUPS),
        help=f"comma-separated groups (default all): {','.join(GROUPS)}",
    )
    ap.add_argument(
        "--out", type=Path, default=DEFAULT_OUT, help=f"JSON file (default {DEFAULT_OUT})"
    )
    ap.add_argument(
        "--profile",
        type=Path,
        metavar="DIR",
        help="record the server with py-spy during each scenario into DIR",
    )
    ap.add_argument("--work-dir", type=Path, help="where data dirs go (default: a temp dir)")
    ap.add_argument(
        "--keep", action="store_true", help="keep the work dir (data dirs, server logs)"
    )
    args = ap.parse_args(argv)
    groups = [g.strip() for g in args.scenarios.split(",") if g.strip()]
    unknown = sorted(set(groups) - set(GROUPS))
    if unknown or not groups:
        ap.error(f"unknown scenario group(s) {unknown}; choose from {','.join(GROUPS)}")
    args.groups = [g for g in GROUPS if g in groups]
    return args


def _terminate(signum: int, _frame: Any) -> NoReturn:
    raise SystemExit(128 + signum)  # unwinds: every process the bench started is stopped


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _terminate)
    size = SIZES[args.size]
    stores = ["embedded", "arc"] if args.store == "both" else [args.store]
    run_id = secrets.token_hex(4)
    work = args.work_dir or Path(tempfile.mkdtemp(prefix=f"memtrace-bench-{run_id}-"))
    work.mkdir(parents=True, exist_ok=True)
    profiler = Profiler(args.profile) if args.profile else None
    run: dict[str, Any] = {
        "bench": "memtrace-mcp",
        "schema": 1,
        "size": size.name,
        "run_id": run_id,
        "command": " ".join([Path(sys.executable).name, "-m", "bench", *(argv or sys.argv[1:])]),
        "groups": args.groups,
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine.describe(),
        "stores": {},
    }
    results: list[Result] = []
    started = time.monotonic()
    note(f"run {run_id}: size {size.name}, stores {stores}, groups {args.groups}, work dir {work}")
    try:
        for store in stores:
            info, store_results = run_store(store, size, args.groups, work, run_id, profiler)
            run["stores"][store] = info
            results += store_results
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
        else:
            note(f"kept the work dir {work}")
    for result in results:
        judge(result, size.name)
    failed = [r for r in results if r.status == "failed"]
    run.update(
        finished_at=datetime.now(UTC).isoformat(timespec="seconds"),
        elapsed_s=round(time.monotonic() - started, 1),
        load_average_at_end=machine.load_average(),
        ok=not failed,
    )
    report.write_json(args.out, run, results)
    print(report.render(run, results))
    print(f"\nJSON: {args.out}")
    for r in failed:
        print(
            f"FAILED {r.store} {r.scenario}: {r.reason or '; '.join(r.failed_checks)}",
            file=sys.stderr,
        )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
