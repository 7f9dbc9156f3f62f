"""`python -m bench [options]` (or `make bench BENCH_ARGS="..."`): run the benchmark and print the report."""

from __future__ import annotations

import sys

from bench.options import parse_options
from bench.runner import print_report, run_benchmark


def main(argv: list[str] | None = None) -> int:
    options = parse_options(argv)
    report, json_path, markdown_path = run_benchmark(options)
    print_report(report, json_path, markdown_path)
    # Targets are reported, not enforced; a run with errors (a failed sync, a wrong index) exits non-zero.
    return 1 if report["errors"] else 0


if __name__ == "__main__":
    sys.exit(main())
