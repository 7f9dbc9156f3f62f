"""`--latency-ms`: the simulator holds back every Confluence API answer of the measured runs, and only those (the
report's line about it is tested with the other report tests)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from bench.options import parse_options
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
