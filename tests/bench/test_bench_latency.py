"""`--latency-ms`: the simulator holds back every Confluence API answer of the measured runs, and only those."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from bench.options import parse_options
from bench.report import render_markdown
from bench.simulator_process import SimulatorProcess
from bench.site_client import SiteClient


def test_latency_option_is_parsed_and_checked() -> None:
    assert parse_options([]).latency_ms == 0
    assert parse_options(["--latency-ms", "40"]).latency_ms == 40
    with pytest.raises(SystemExit):
        parse_options(["--latency-ms", "-1"])


@pytest.mark.parametrize("flavour", ["datacenter", "cloud"])
def test_added_latency_holds_back_every_api_request_but_not_the_admin_ones(tmp_path: Path, flavour: str) -> None:
    simulator = SimulatorProcess.start(sys.executable, flavour, "small", 1, tmp_path)
    try:
        simulator.add_latency(0.01)
        site = SiteClient(simulator)
        site.search("type = page", limit=5)
        site.get(f"{site.v1}/space" if flavour == "datacenter" else f"{site.v2}/spaces", {"limit": 5})
        simulator.counters()  # an admin request
        (rule,) = simulator._admin("GET", "faults")["rules"]
        site.close()
    finally:
        simulator.stop()
    assert (rule["kind"], rule["delay_seconds"]) == ("slow", 0.01)
    assert rule["fired"] == 2, rule


def test_the_report_says_when_latency_was_added() -> None:
    report = {
        "run_id": "20250101T000000Z", "duration_seconds": 1.0,
        "options": {"sizes": ["small"], "flavours": ["cloud"], "repeat": 1, "seed": 1, "quick": True,
                    "latency_ms": 50.0},
        "machine": {"cpu_model": "cpu", "logical_cores": 2, "usable_cores": 2, "memory_total_mb": 1024,
                    "load_average_1m": 0.1, "python": "3.11", "elasticsearch_version": "8.19.0",
                    "elasticsearch_client": "8.19.0", "os": "Linux"},
        "summary": [], "ratios": [], "simulator_serving": [],
        "extraction": {"available": False, "reason": "no module"}, "targets": [], "warnings": [], "errors": [],
        "notes": ["n"],
    }
    assert "waited 50 ms" in render_markdown(report)
    report["options"]["latency_ms"] = 0.0
    assert "waited" not in render_markdown(report)
