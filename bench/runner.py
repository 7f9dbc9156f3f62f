"""One benchmark invocation: every series, then the report.

Kept apart from the command line so the smoke test and other tools can call `run_benchmark(options)` directly.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from bench import es_tools
from bench.extraction_rate import measure_extraction
from bench.machine import describe_machine
from bench.neighbour_cpu import local_elasticsearch_process
from bench.options import BenchOptions
from bench.records import RunRecord, summarise
from bench.report import REPORT_SCHEMA_VERSION, render_markdown, write_report
from bench.series import Series
from bench.targets import evaluate, ratios

NOTES = (
    "Docs/s = documents the run wrote / wall time of its process (interpreter start-up and imports included); "
    "'Own s' is the time the program reports for its own work, without start-up.",
    "Wall and CPU time (os.wait4) and peak RSS (kernel high-water mark of each process, and the process tree's "
    "summed PSS while worker processes run, sampled every 50 ms) are those of the measured process and its "
    "children; the simulator runs in its own process and is not included.",
    "Where the time and the CPU go: start and exit = wall time - the program's own (interpreter start and "
    "imports, the run lock, saving the watermarks, exit); the steps are those the pipeline reports (preflight: "
    "settings and checks; extract: reading Confluence, bodies and files; normalize: dlt's; load: bulk writes; "
    "reconcile: the deletion check). CPU s: its workers = the worker processes the run waited for (body "
    "conversion, text extraction), as it reports them; job = the rest of the process tree's CPU; then the "
    "simulator's and the Elasticsearch node's CPU during the run (the node's only when it runs on this machine "
    "and listens on the benchmark's port). Machine busy = all of these CPU seconds / (wall time x usable cores), "
    "100% when every core was busy for the whole run.",
    "Requests and MB read are counted by the simulator: Confluence API requests (admin endpoints excluded); "
    "attachment file downloads are counted apart as file requests (two per file on Cloud: the REST download "
    "endpoint redirects to the media service).",
    "Sink limit = the pipeline's final documents (read back from its index) bulk-loaded with the official "
    "client's helpers into a fresh index with the same mapping, best of streaming_bulk and parallel_bulk "
    "(2 threads); its CPU is the benchmark process's, client side only.",
    "The naive loader indexes pages and blog posts only (one request per item, BeautifulSoup, sequential); "
    "its docs/s is over what it indexes.",
    "The pipeline's own modules are compiled to bytecode before the runs, as pip does when it installs a package "
    "(an editable install under PYTHONDONTWRITEBYTECODE would compile them again at every start).",
    "Index matches: after an incremental run the index holds exactly the _ids and versions of a full sync of "
    "the same site state (no-change run: of the index before it).",
)


SLOW_KEEPALIVE_MS = 10.0
PIPELINE_PACKAGES = ("confluence_source", "destinations", "pipelines")


def compile_pipeline_modules(options: BenchOptions) -> None:
    """Compile the measured checkout's modules with the interpreter that runs them, so every run starts as an
    installed copy does instead of paying for compiling some 50 modules from source each time."""
    root = options.pipeline.resolve().parent.parent
    folders = [str(root / name) for name in PIPELINE_PACKAGES if (root / name).is_dir()]
    if folders:
        compiled = subprocess.run([options.python, "-m", "compileall", "-q", *folders], capture_output=True, text=True)
        if compiled.returncode != 0:  # a module that does not compile: the runs would fail, say why now
            raise RuntimeError(f"compiling the pipeline's modules failed:\n{compiled.stdout}{compiled.stderr}")


def _run_id() -> str:
    return datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")


def run_benchmark(options: BenchOptions, keep_work_dir: bool = False) -> tuple[dict[str, Any], Path, Path]:
    started_wall, started_at = time.perf_counter(), datetime.now(timezone.utc)
    run_id = _run_id()
    es_url = es_tools.resolve_es_url(options.es_url)
    es = es_tools.connect(es_url)
    es_process = local_elasticsearch_process(es, es_url)
    namer = es_tools.IndexNamer(run_id)
    work_dir = Path(tempfile.mkdtemp(prefix=f"bench-{run_id}-"))
    records: list[RunRecord] = []
    serving: list[dict[str, Any]] = []
    errors: list[str] = []
    print(f"Benchmark {run_id}: sizes {','.join(options.sizes)}, flavours {','.join(options.flavours)}, "
          f"{options.repeat} repetition(s); Elasticsearch at {es_url}; work folder {work_dir}", flush=True)
    try:
        compile_pipeline_modules(options)
        machine = describe_machine(es)
        for size in options.sizes:
            for flavour in options.flavours:
                result = Series(options, es, es_url, namer, work_dir, flavour, size, es_process).run()
                records.extend(result.records)
                errors.extend(f"{flavour}/{size}: {error}" for error in result.errors)
                if result.serving_rate is not None:
                    serving.append(result.serving_rate.as_dict())
        extraction = measure_extraction()
    finally:
        es_tools.delete_matching(es, namer.pattern)
        if not keep_work_dir:
            shutil.rmtree(work_dir, ignore_errors=True)
    warnings = [
        f"{rate['flavour']}/{rate['size']}: a small request on a kept-alive connection takes "
        f"{rate['keepalive_request_ms']:.0f} ms on the simulator (a local server should answer in ~1 ms; "
        "typically Nagle's algorithm against delayed ACKs): every sequential client, the naive loader above all, "
        "is slowed by it, so ratios against the naive baseline overstate the pipeline's advantage"
        for rate in serving if rate["keepalive_request_ms"] > SLOW_KEEPALIVE_MS
    ]
    summaries = summarise(records)
    targets = evaluate(summaries, records, options.flavours, options.sizes)
    errors.extend(f"{r.flavour}/{r.size} {r.scenario} #{r.repeat}: {r.error}" for r in records if not r.ok)
    errors.extend(f"{r.flavour}/{r.size} {r.scenario} #{r.repeat}: the index differs from "
                  f"{r.index_check.expected_from}: {'; '.join(r.index_check.examples)}"
                  for r in records if r.index_check is not None and not r.index_check.matches)
    report: dict[str, Any] = {
        "schema_version": REPORT_SCHEMA_VERSION,
        "run_id": run_id,
        "started_at": started_at.isoformat(timespec="seconds"),
        "finished_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "duration_seconds": time.perf_counter() - started_wall,
        "options": {"sizes": list(options.sizes), "flavours": list(options.flavours), "repeat": options.repeat,
                    "seed": options.seed, "quick": options.quick, "pipeline": str(options.pipeline),
                    "latency_ms": options.latency_ms},
        "machine": machine,
        "runs": [record.as_dict() for record in records],
        "summary": [summary.as_dict() for summary in summaries],
        "ratios": [{"flavour": flavour, "size": size, **ratios(summaries, flavour, size)}
                   for size in options.sizes for flavour in options.flavours],
        "simulator_serving": serving,
        "extraction": extraction.as_dict(),
        "targets": [{**target.as_dict(), "line": target.line()} for target in targets],
        "warnings": warnings,
        "errors": errors,
        "notes": list(NOTES),
    }
    json_path, markdown_path = write_report(report, options.output_dir)
    return report, json_path, markdown_path


def print_report(report: dict[str, Any], json_path: Path, markdown_path: Path) -> None:
    print()
    print(render_markdown(report))
    print(f"Report written to {json_path} and {markdown_path} (also latest.json / latest.md)")
