"""Run the Confluence simulator standalone.

    python -m confluence_simulator --flavour cloud --port 8090 --preset small --seed 1
    python -m confluence_simulator --flavour datacenter --context-path /confluence --tz Europe/Berlin \\
        --tls-cert cert.pem --tls-key key.pem

Prints one line with the base URL (and where to find the credentials) once it accepts connections, then serves
until interrupted. The credentials are the data set's fixed default user (see generator.DEFAULT_CREDENTIALS); they
are not printed so they do not end up in logs.
"""

from __future__ import annotations

import argparse
import signal
import sys
from typing import Sequence

from confluence_simulator.config import SimulatorConfig
from confluence_simulator.server import Simulator


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m confluence_simulator", description=__doc__.split("\n\n")[0])
    parser.add_argument("--flavour", "--flavor", choices=("cloud", "datacenter"), default="cloud")
    parser.add_argument("--host", default="127.0.0.1", help="bind address (default loopback)")
    parser.add_argument("--port", type=int, default=8090, help="0 picks a free port")
    parser.add_argument("--preset", choices=("small", "medium", "large"), default="small")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--context-path", default="/confluence", help='Data Center context path ("" for none)')
    parser.add_argument("--tz", default=None, help="profile time zone of all users (CQL date literals)")
    parser.add_argument("--server-tz", default="Europe/Berlin", help="Data Center server time zone")
    parser.add_argument("--index-lag", type=float, default=0.0, help="seconds before changes are searchable")
    parser.add_argument("--unknown-space-cql-fails", action="store_true",
                        help="Data Center: answer a CQL query naming a missing space key with HTTP 400, as 9.3 does")
    parser.add_argument("--tls-cert", default=None, help="PEM certificate: serve HTTPS")
    parser.add_argument("--tls-key", default=None, help="PEM private key for --tls-cert")
    parser.add_argument("--allow-anonymous", action="store_true", help="no credentials = anonymous user")
    parser.add_argument("--admin-token", default=None, help="require this bearer token on /__admin/")
    parser.add_argument("--cloud-v1-legacy", action="store_true",
                        help="Cloud: serve the removed v1 endpoints (with deprecation headers) instead of 410")
    parser.add_argument("--media-host", default=None,
                        help="Cloud: host name that download redirects lead to (another name of this server, "
                             "e.g. localhost, plays Atlassian's media service on a host of its own)")
    parser.add_argument("--oauth-token-seconds", type=int, default=3600,
                        help="lifetime of the OAuth 2.0 access tokens the token endpoint issues")
    parser.add_argument("--request-log", action="store_true", help="log every request to stderr")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if (args.tls_cert is None) != (args.tls_key is None):
        print("error: --tls-cert and --tls-key must be given together", file=sys.stderr)
        return 2
    config = SimulatorConfig(
        flavour=args.flavour,
        preset=args.preset,
        seed=args.seed,
        host=args.host,
        port=args.port,
        context_path=args.context_path,
        tz=args.tz,
        server_tz=args.server_tz,
        index_lag_seconds=args.index_lag,
        unknown_space_cql_fails=args.unknown_space_cql_fails,
        tls_cert=args.tls_cert,
        tls_key=args.tls_key,
        allow_anonymous=args.allow_anonymous,
        admin_token=args.admin_token,
        cloud_v1_removed=not args.cloud_v1_legacy,
        request_log=args.request_log,
        media_host=args.media_host,
        oauth_token_seconds=args.oauth_token_seconds,
    )
    try:
        simulator = Simulator.create(config)
    except OSError as error:
        print(f"error: cannot listen on {args.host}:{args.port}: {error.strerror or error}", file=sys.stderr)
        return 1
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    if config.prewarm:
        simulator.warm_up()  # before announcing: the first sync then runs at full speed
    print(f"Confluence simulator ({args.flavour}, preset {args.preset}, seed {args.seed}) serving at "
          f"{simulator.base_url} - credentials: generator.DEFAULT_CREDENTIALS, admin: {simulator.origin}/__admin/",
          flush=True)
    try:
        simulator.serve_forever()
    except (KeyboardInterrupt, SystemExit):
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
