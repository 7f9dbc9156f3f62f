"""A description of the machine the numbers were measured on.

Throughput numbers mean nothing without the hardware and software behind them, so every report starts with this.
"""

from __future__ import annotations

import os
import platform
import sys
from pathlib import Path
from typing import Any

import psutil
from elasticsearch import Elasticsearch


def _cpu_model() -> str:
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text(errors="replace").splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def usable_cores() -> int:
    """Cores this process may run on (a container or taskset may allow fewer than the machine has)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def describe_machine(es: Elasticsearch) -> dict[str, Any]:
    info = es.info()
    memory = psutil.virtual_memory()
    return {
        "cpu_model": _cpu_model(),
        "logical_cores": psutil.cpu_count(logical=True),
        "physical_cores": psutil.cpu_count(logical=False),
        "usable_cores": usable_cores(),
        "memory_total_mb": round(memory.total / 2**20),
        "memory_available_mb": round(memory.available / 2**20),
        "load_average_1m": round(os.getloadavg()[0], 2),
        "os": platform.platform(),
        "python": sys.version.split()[0],
        "elasticsearch_version": info["version"]["number"],
        "elasticsearch_client": _client_version(),
    }


def _client_version() -> str:
    from elasticsearch import __versionstr__

    return str(__versionstr__)
