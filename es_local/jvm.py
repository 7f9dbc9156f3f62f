"""The ``java`` command line of a local node: JVM flags sized for a small shared machine, and node settings."""

from __future__ import annotations

import os

from es_local.build import MAIN_CLASS, Launcher
from es_local.options import NodeOptions

# Elasticsearch sizes its thread pools from the processor count; two keeps a node polite on a 2-core host
# shared with test runs and other services, and it is never more than the machine has.
DEFAULT_PROCESSORS = min(2, os.cpu_count() or 1)


def _megabytes(heap: str) -> int:
    number, unit = int(heap[:-1]), heap[-1].lower()
    return number * 1024 if unit == "g" else number


def jvm_flags(options: NodeOptions) -> list[str]:
    """Flags close to the ones ``bin/elasticsearch`` sets, minus what only a production install needs."""
    heap_mb = _megabytes(options.heap)
    home = options.home
    return [
        # The heap starts small and grows up to the cap: an idle test node then costs little memory.
        f"-Xms{min(heap_mb, 256)}m",
        f"-Xmx{heap_mb}m",
        f"-XX:MaxDirectMemorySize={max(heap_mb // 2, 64)}m",
        # One GC thread, no concurrent marking threads: the least CPU taken from neighbours for heaps of 1-2 GB.
        "-XX:+UseSerialGC",
        "-Xss1m",
        "-XX:+ExitOnOutOfMemoryError",
        "-XX:-OmitStackTraceInFastThrow",
        f"-XX:ErrorFile={home / 'logs' / 'hs_err_pid%p.log'}",
        f"-Djava.io.tmpdir={home / 'tmp'}",
        "-Djava.awt.headless=true",
        "-Dfile.encoding=UTF-8",
        # Elasticsearch's ISO week rules come from its own calendar data provider (SPI); Java 17 keeps COMPAT.
        "-Djava.locale.providers=SPI,COMPAT",
        "-Djna.nosys=true",
        "-Dio.netty.noUnsafe=true",
        "-Dio.netty.noKeySetOptimization=true",
        "-Dio.netty.recycler.maxCapacityPerThread=0",
        "-Dlog4j.shutdownHookEnabled=false",
        "-Dlog4j2.disable.jmx=true",
        "-Dlog4j2.formatMsgNoLookups=true",
        f"-Des.path.conf={home / 'config'}",
    ]


def node_settings(options: NodeOptions) -> dict[str, str]:
    """Settings the launcher always passes; ``options.extra_settings`` override them."""
    home = options.home
    settings = {
        "node.name": f"es-local-{options.port}",
        "path.home": str(home),
        "path.data": str(home / "data"),
        "path.logs": str(home / "logs"),
        "http.port": str(options.port),
        "node.processors": str(DEFAULT_PROCESSORS),
    }
    settings.update(options.extra_settings)
    return settings


def java_command(launcher: Launcher, options: NodeOptions) -> list[str]:
    settings = [f"-E{name}={value}" for name, value in node_settings(options).items()]
    return [str(launcher.java), *jvm_flags(options), "-cp", launcher.classpath, MAIN_CLASS, *settings]


def is_node_command_line(arguments: list[str], options: NodeOptions) -> bool:
    """True when a process's arguments are those of the local node for ``options`` (guards against pid reuse)."""
    return MAIN_CLASS in arguments and f"-Epath.home={options.home}" in arguments
