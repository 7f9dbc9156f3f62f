"""The benchmark report: one JSON document (everything) and a Markdown rendering (the tables people read).

Files go to the output folder as `<timestamp>.json` / `<timestamp>.md`, and are copied to `latest.json` /
`latest.md` so a README or a CI job can link to the newest result without knowing its name.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from bench.records import REFERENCE_FULL, RUN_STEPS, SINK_LIMIT

REPORT_SCHEMA_VERSION = 1

_SCENARIO_LABELS = {
    "full_sync": "ours: full sync",
    "incremental_no_change": "ours: incremental, no change",
    "incremental_after_change": "ours: incremental after change",
    "naive_baseline": "naive loader (pages + blog posts)",
    "sink_limit": "sink limit (bulk only)",
    "reference_full_sync": "ours: reference full sync",
}


# Scenarios left out of the time-and-CPU table: the sink limit runs in the benchmark's own process, and the
# reference full sync is a single run (no median) whose index only serves to check the last incremental run's.
_NO_COST_SPLIT = (SINK_LIMIT, REFERENCE_FULL)


def _number(value: Any, digits: int = 1) -> str:
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "NO"
    if isinstance(value, int) or (isinstance(value, float) and value.is_integer() and abs(value) >= 100):
        return f"{int(value):,}"
    return f"{value:,.{digits}f}"


def _table(headers: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return lines


def render_markdown(report: dict[str, Any]) -> str:
    machine = report["machine"]
    options = report["options"]
    lines = [
        f"# Benchmark {report['run_id']}",
        "",
        f"Sizes {', '.join(options['sizes'])}; flavours {', '.join(options['flavours'])}; "
        f"{options['repeat']} repetition(s), medians shown; seed {options['seed']}"
        f"{' (quick mode: indicative only)' if options['quick'] else ''}. Took {report['duration_seconds']:.0f} s.",
        "",
        *(([f"Every Confluence API request of the measured runs waited {options['latency_ms']:g} ms before its answer "
            "(`--latency-ms`), as a remote server would; the targets below are set for a local server.", ""])
          if options.get("latency_ms") else []),
        f"Machine: {machine['cpu_model']}, {machine['logical_cores']} logical cores "
        f"({machine['usable_cores']} usable), {machine['memory_total_mb']:,} MB memory, "
        f"load {machine['load_average_1m']}; "
        f"Python {machine['python']}; Elasticsearch {machine['elasticsearch_version']} "
        f"(client {machine['elasticsearch_client']}); {machine['os']}.",
        "",
        "## Runs (medians)",
        "",
    ]
    rows = []
    for summary in report["summary"]:
        m = summary["medians"]
        check = summary["index_matches"]
        rows.append([
            _SCENARIO_LABELS.get(summary["scenario"], summary["scenario"]), summary["flavour"], summary["size"],
            f"{summary['successful_runs']}/{summary['runs']}", _number(m["documents"], 0),
            _number(m["docs_per_second"], 0), _number(m["wall_seconds"], 2),
            _number(m["reported_elapsed_seconds"], 2), _number(m["cpu_seconds"], 2),
            _number(m["requests"], 0), _number(m["docs_per_request"], 1),
            _number(None if m["bytes_read"] is None else m["bytes_read"] / 2**20, 1),
            _number(m.get("file_requests"), 0),
            _number(None if m.get("file_bytes_read") is None else m["file_bytes_read"] / 2**20, 1),
            _number(m["peak_rss_mb"], 0), "–" if check is None else ("yes" if check else "NO"),
        ])
    lines += _table(["Scenario", "Flavour", "Size", "OK runs", "Docs", "Docs/s", "Wall s",
                     "Own s", "CPU s", "Requests",
                     "Docs/request", "MB read", "File requests", "File MB", "Peak RSS MB", "Index matches"], rows)
    lines += ["", "## Where the time and the CPU go (medians)", ""]
    lines += _table(["Scenario", "Flavour", "Size", "Wall s", "Start and exit s", "Preflight s", "Extract s",
                     "Normalize s", "Load s", "Reconcile s", "CPU s: job", "its workers", "simulator",
                     "Elasticsearch", "Machine busy"], _cost_rows(report["summary"]))
    lines += ["", "## Ratios", ""]
    lines += _table(["Flavour", "Size", "ours / sink limit", "ours / naive", "incremental no-change / full time",
                     "same, own time (no start-up)"],
                    [[r["flavour"], r["size"], _number(r["ours_vs_sink_limit"], 2), _number(r["ours_vs_naive"], 2),
                      _number(r["incremental_no_change_vs_full_time"], 3),
                      _number(r["incremental_no_change_vs_full_own_time"], 3)] for r in report["ratios"]])
    lines += ["", "## Simulator serving rate (one Python process)", ""]
    lines += _table(["Flavour", "Size", "Endpoint", "Pages", "Pages/s", "Pages per simulator CPU-s", "MB sent",
                     "Small keep-alive request ms"],
                    [[s["flavour"], s["size"], f"`{s['endpoint']}`", _number(s["pages"], 0),
                      _number(s["pages_per_second"], 0), _number(s["pages_per_simulator_cpu_second"], 0),
                      _number(s["bytes_sent"] / 2**20, 1), _number(s["keepalive_request_ms"], 1)]
                     for s in report["simulator_serving"]])
    extraction = report["extraction"]
    lines += ["", "## Attachment text extraction", ""]
    if extraction["available"]:
        lines.append(f"Extractor: `{extraction['extractor']}`")
        lines.append("")
        lines += _table(["Format", "File KB", "MB/s", "Characters", "Error"],
                        [[f["format"], _number(f["file_bytes"] / 1024, 1), _number(f["mb_per_second"], 2),
                          _number(f["characters_extracted"], 0), f["error"] or ""] for f in extraction["formats"]])
    else:
        lines.append(f"Skipped: {extraction['reason']}.")
    lines += ["", "## Targets", "", "```"] + [target["line"] for target in report["targets"]] + ["```"]
    if report["warnings"]:
        lines += ["", "## Warnings", ""] + [f"- {warning}" for warning in report["warnings"]]
    if report["errors"]:
        lines += ["", "## Errors", ""] + [f"- {error}" for error in report["errors"]]
    lines += ["", "## Notes", ""] + [f"- {note}" for note in report["notes"]]
    return "\n".join(lines) + "\n"


def _cost_rows(summaries: list[dict[str, Any]]) -> list[list[str]]:
    """The time and CPU split of the runs of our pipeline and the naive loader (the sink limit has no process)."""
    rows = []
    for summary in summaries:
        if summary["scenario"] in _NO_COST_SPLIT:
            continue
        m = summary["medians"]
        busy = m.get("machine_busy_share")
        rows.append([
            _SCENARIO_LABELS.get(summary["scenario"], summary["scenario"]), summary["flavour"], summary["size"],
            _number(m["wall_seconds"], 2),
            *(_number(m.get(f"{step}_seconds"), 2) for step in RUN_STEPS),
            *(_number(m.get(name), 2) for name in ("job_cpu_seconds", "worker_cpu_seconds", "simulator_cpu_seconds",
                                                    "elasticsearch_cpu_seconds")),
            "–" if busy is None else f"{100 * busy:.0f}%",
        ])
    return rows


def write_report(report: dict[str, Any], output_dir: Path) -> tuple[Path, Path]:
    output_dir.mkdir(parents=True, exist_ok=True)
    stem = report["run_id"]
    json_path, markdown_path = output_dir / f"{stem}.json", output_dir / f"{stem}.md"
    json_path.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    markdown_path.write_text(render_markdown(report))
    shutil.copyfile(json_path, output_dir / "latest.json")
    shutil.copyfile(markdown_path, output_dir / "latest.md")
    return json_path, markdown_path
