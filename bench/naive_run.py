"""Running the naive baseline (`bench.naive_loader`) as a measured child process, like the pipeline."""

from __future__ import annotations

import json
import os
from pathlib import Path

from elasticsearch import Elasticsearch

from bench import es_tools
from bench.neighbour_cpu import NeighbourMeter
from bench.options import REPO_ROOT, BenchOptions
from bench.process_monitor import run_measured
from bench.records import NAIVE, RunRecord
from bench.simulator_process import SimulatorProcess


def run_naive(options: BenchOptions, es: Elasticsearch, es_url: str, simulator: SimulatorProcess,
              template_index: str, index: str, log_dir: Path, repeat: int, neighbours: NeighbourMeter,
              usable_cores: int) -> RunRecord:
    """Load the site with the naive loader into `index` (created with `template_index`'s mapping)."""
    es_tools.create_like(es, template_index, index)
    label = f"{NAIVE}-r{repeat + 1}"
    log_dir.mkdir(parents=True, exist_ok=True)
    summary_path = log_dir / f"{label}.summary.json"
    summary_path.unlink(missing_ok=True)
    credentials = simulator.credentials
    user, secret = ((credentials["email"], credentials["api_token"]) if simulator.flavour == "cloud"
                    else (credentials["username"], credentials["password"]))
    env = {**os.environ, "NAIVE_CONFLUENCE_USER": user, "NAIVE_CONFLUENCE_SECRET": secret}
    command = [options.python, "-m", "bench.naive_loader", "--flavour", simulator.flavour, "--base-url",
               simulator.base_url, "--es-url", es_url, "--index", index, "--summary-json", str(summary_path)]
    before = simulator.counters()
    cpu_before = neighbours.snapshot()
    measurement = run_measured(command, env=env, cwd=REPO_ROOT, log_dir=log_dir, label=label,
                               timeout_s=options.pipeline_timeout_s)
    neighbour_cpu = neighbours.since(cpu_before)
    traffic = simulator.counters().since(before)
    summary = json.loads(summary_path.read_text()) if summary_path.exists() else None
    ok = measurement.succeeded and summary is not None
    by_type = {str(k): int(v) for k, v in (summary or {}).get("documents", {}).items()}
    documents = sum(by_type.values()) if summary is not None else None
    wall = measurement.wall_seconds
    record = RunRecord(
        scenario=NAIVE, flavour=simulator.flavour, size=simulator.preset, repeat=repeat + 1, ok=ok,
        error=None if ok else f"exit code {measurement.exit_code}: {measurement.stderr_tail(5)}",
        documents=documents, index_documents=es_tools.count(es, index) if ok else None,
        docs_per_second=documents / wall if documents is not None and wall > 0 else None,
        wall_seconds=wall, cpu_seconds=measurement.cpu_seconds, cpu_user_seconds=measurement.cpu_user_seconds,
        cpu_system_seconds=measurement.cpu_system_seconds, requests=traffic.requests,
        docs_per_request=documents / traffic.requests if documents is not None and traffic.requests else None,
        bytes_read=traffic.bytes_sent, file_requests=traffic.file_requests, file_bytes_read=traffic.file_bytes_sent,
        peak_rss_mb=measurement.peak_rss_bytes / 2**20,
        reported_elapsed_seconds=(summary or {}).get("elapsed_seconds"), documents_by_type=by_type,
        details={"indexes": "pages and blog posts only", "requests_by_endpoint": traffic.by_endpoint},
    )
    record.job_cpu_seconds = measurement.cpu_seconds  # one process, no workers
    record.add_start_and_exit()
    record.add_neighbours(neighbour_cpu, usable_cores)
    return record
