"""Command line: ``python -m es_local start|stop|status|build``.

``start`` prints only the node's URL on standard output (progress goes to standard error), so a script can
write ``ES_URL=$(python -m es_local start)``.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from es_local.build import ensure_built
from es_local.errors import EsLocalError
from es_local.health import PortState
from es_local.node import ensure_running, status, stop
from es_local.options import DEFAULT_HEAP, DEFAULT_PORT, DEFAULT_STARTUP_TIMEOUT_S, NodeOptions

EXIT_NOT_RUNNING = 3  # as for `service x status`


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m es_local", description="Run a local Elasticsearch node.")
    commands = parser.add_subparsers(dest="command", required=True)

    def node_arguments(command: argparse.ArgumentParser) -> None:
        command.add_argument("--port", type=int, default=DEFAULT_PORT, help="HTTP port on 127.0.0.1 (default 9200)")
        command.add_argument("--data-dir", type=Path, default=None, help="node folder (default .es-data/<port>)")

    start = commands.add_parser("start", help="start a node, or reuse the one answering on the port")
    node_arguments(start)
    start.add_argument("--heap", default=DEFAULT_HEAP, help="maximum Java heap, e.g. 512m or 2g (default 1g)")
    start.add_argument(
        "--timeout", type=float, default=DEFAULT_STARTUP_TIMEOUT_S, help="seconds to wait for health yellow"
    )
    start.add_argument(
        "--setting",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="extra node setting, repeatable (e.g. --setting path.repo=/tmp/snapshots)",
    )
    node_arguments(commands.add_parser("stop", help="stop the node started by es_local on the port"))
    node_arguments(commands.add_parser("status", help="say whether a node answers on the port"))
    commands.add_parser("build", help="build the Java launcher (Maven) without starting a node")
    return parser


def _settings(pairs: list[str]) -> dict[str, str]:
    settings: dict[str, str] = {}
    for pair in pairs:
        name, equals, value = pair.partition("=")
        if not equals or not name.strip():
            raise EsLocalError(f"--setting {pair!r} is not NAME=VALUE")
        settings[name.strip()] = value
    return settings


def _start(args: argparse.Namespace) -> int:
    options = NodeOptions(
        port=args.port,
        heap=args.heap,
        data_dir=args.data_dir,
        startup_timeout_s=args.timeout,
        extra_settings=_settings(args.setting),
    )
    node = ensure_running(options)
    if node.started:
        built = f", launcher built in {node.build_seconds:.1f}s" if node.build_seconds else ""
        _say(f"started Elasticsearch {node.version} (pid {node.pid}) in {node.startup_seconds:.1f}s{built}")
    else:
        owner = f"pid {node.pid}" if node.pid else "not started by es_local"
        _say(f"reusing Elasticsearch {node.version} already running on port {node.port} ({owner})")
    print(node.url)
    return 0


def _stop(args: argparse.Namespace) -> int:
    options = NodeOptions(port=args.port, data_dir=args.data_dir)
    _say(f"stopped the node on port {args.port}" if stop(options) else f"no es_local node on port {args.port}")
    return 0


def _status(args: argparse.Namespace) -> int:
    current = status(NodeOptions(port=args.port, data_dir=args.data_dir))
    details = [f"{current.url}: {current.state.value}"]
    if current.version:
        details.append(f"version {current.version}")
    if current.health:
        details.append(f"health {current.health}")
    if current.pid:
        details.append(f"pid {current.pid}")
    details.append(f"log {current.log_file}")
    print(", ".join(details))
    return 0 if current.state is PortState.READY else EXIT_NOT_RUNNING


def _build(_: argparse.Namespace) -> int:
    started = time.monotonic()
    launcher = ensure_built()
    _say("launcher built" if launcher.built_now else "launcher already up to date")
    _say(f"took {time.monotonic() - started:.1f}s; java: {launcher.java}")
    return 0


def _say(message: str) -> None:
    print(f"es_local: {message}", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    handlers = {"start": _start, "stop": _stop, "status": _status, "build": _build}
    try:
        return handlers[args.command](args)
    except EsLocalError as error:
        print(f"es_local: error: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
