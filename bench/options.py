"""Command-line options of the benchmark.

One command runs every scenario on every selected size so the numbers in one report come from the same machine,
the same Elasticsearch node and the same code; the options only choose how much work that is.
"""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Sequence

Size = Literal["small", "medium", "large"]
Flavour = Literal["datacenter", "cloud"]

SIZES: tuple[Size, ...] = ("small", "medium", "large")
FLAVOURS: tuple[Flavour, ...] = ("datacenter", "cloud")
REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUTPUT_DIR = REPO_ROOT / "bench" / "results"
# A smoke run's numbers mean little: its reports go beside the full run's, which the repository keeps as `latest.*`.
QUICK_OUTPUT_DIR = DEFAULT_OUTPUT_DIR / "quick"
DEFAULT_PIPELINE = REPO_ROOT / "pipelines" / "confluence_to_es.py"
DEFAULT_ES_URL = "http://127.0.0.1:9200"


@dataclass(frozen=True)
class BenchOptions:
    """Everything one benchmark invocation needs to know."""

    sizes: tuple[Size, ...]
    flavours: tuple[Flavour, ...]
    repeat: int
    seed: int
    es_url: str | None  # None: use (or start) the es_local node
    output_dir: Path
    pipeline: Path
    python: str  # interpreter for the pipeline, the naive loader and the simulator
    pipeline_timeout_s: float
    quick: bool
    latency_ms: float = 0.0  # added by the simulator to every Confluence API request of the measured runs


def _csv_choice(allowed: Sequence[str], what: str):  # type: ignore[no-untyped-def]
    def parse(text: str) -> tuple[str, ...]:
        values = tuple(part.strip().lower() for part in text.split(",") if part.strip())
        unknown = [value for value in values if value not in allowed]
        if unknown or not values:
            raise argparse.ArgumentTypeError(f"{what} must be a comma list of {', '.join(allowed)}; got {text!r}")
        return tuple(dict.fromkeys(values))  # keep order, drop repeats

    return parse


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _non_negative_float(text: str) -> float:
    value = float(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must not be negative, got {value}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description="Benchmark the Confluence to Elasticsearch sync against the simulator, a naive loader and "
        "the raw bulk-indexing speed of Elasticsearch.",
    )
    parser.add_argument("--sizes", type=_csv_choice(SIZES, "--sizes"), default=("small", "medium"),
                        help="data set sizes to run, comma separated (default small,medium)")
    parser.add_argument("--flavours", type=_csv_choice(FLAVOURS, "--flavours"), default=FLAVOURS,
                        help="simulator flavours, comma separated (default datacenter,cloud)")
    parser.add_argument("--repeat", type=_positive_int, default=3,
                        help="repetitions of every measurement; reports give medians (default 3)")
    parser.add_argument("--quick", action="store_true",
                        help="small size, one repetition (a smoke run, numbers are indicative only)")
    parser.add_argument("--seed", type=int, default=1, help="simulator data set seed (default 1)")
    parser.add_argument("--es-url", default=os.environ.get("ES_URL"),
                        help="Elasticsearch URL (default $ES_URL, else the es_local node on port 9200, started "
                        "if needed)")
    parser.add_argument("--output-dir", type=Path, default=None,
                        help=f"where reports go (default {DEFAULT_OUTPUT_DIR.relative_to(REPO_ROOT)}; with --quick "
                        f"{QUICK_OUTPUT_DIR.relative_to(REPO_ROOT)})")
    parser.add_argument("--pipeline", type=Path, default=DEFAULT_PIPELINE, help="the pipeline script to measure")
    parser.add_argument("--python", default=str(REPO_ROOT / ".venv" / "bin" / "python"),
                        help="interpreter that runs the pipeline, the naive loader and the simulator")
    parser.add_argument("--latency-ms", type=_non_negative_float, default=0.0,
                        help="milliseconds the simulator waits before answering each Confluence API request of the "
                        "measured runs, as a remote server would (default 0: every request answered at once); the "
                        "naive loader makes one request per page, so 50 ms add about 4 minutes per run on medium "
                        "and 45 on large (see --pipeline-timeout)")
    parser.add_argument("--pipeline-timeout", type=float, default=3600.0,
                        help="seconds after which one pipeline run is killed and reported as failed")
    return parser


def parse_options(argv: Sequence[str] | None = None) -> BenchOptions:
    args = build_parser().parse_args(argv)
    sizes: tuple[Size, ...] = ("small",) if args.quick else args.sizes
    repeat: int = 1 if args.quick else args.repeat
    python = args.python if Path(args.python).exists() else sys.executable
    return BenchOptions(
        sizes=tuple(size for size in SIZES if size in sizes),
        flavours=args.flavours,
        repeat=repeat,
        seed=args.seed,
        es_url=args.es_url,
        output_dir=args.output_dir or (QUICK_OUTPUT_DIR if args.quick else DEFAULT_OUTPUT_DIR),
        pipeline=args.pipeline,
        python=python,
        pipeline_timeout_s=args.pipeline_timeout,
        quick=args.quick,
        latency_ms=args.latency_ms,
    )
