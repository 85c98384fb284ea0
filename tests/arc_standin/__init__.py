"""The Arc stand-in: a named test double for the Arc time-series database.

Arc (Basekick Labs) cannot be installed where memtrace-mcp is built and tested,
so this package reimplements the slice of Arc's HTTP API that memtrace's Arc
client uses, on DuckDB over Parquet files laid out the way Arc lays them out.
Fidelity is proven by replaying ``../shared/arc-golden/exchanges.jsonl`` (real
requests answered by a real Arc v26.06.3) in ``test_golden_replay.py``.

Run it as its own process: ``python -m tests.arc_standin --help``. Tests use the
fixtures in ``fixtures.py``; fault injection goes through ``proxy.py``.
"""
