"""The simulator's HTTP server: a real threaded server speaking Confluence Cloud or Data Center REST.

Use it in-process (tests) or standalone (`python -m confluence_simulator`):

    sim = Simulator.start(SimulatorConfig(flavour="cloud", preset="small", seed=1, port=0))
    sim.base_url        Cloud: the site URL (APIs under /wiki/...); DC: URL including the context path
    sim.site            the live data (confluence_simulator.model.Site)
    sim.mutations       Mutations wrapper: every call also expires cached responses and search results
    sim.faults          FaultInjector consulted once per request
    sim.rate_limiter    RateLimiter or None (per user token bucket)
    sim.credentials     {"email", "api_token", "username", "password", "pat"} of the site's default user
    sim.stats()         counters per endpoint and status, bytes sent, faults injected
    sim.stop()

Paths served:
    Cloud       /wiki/api/v2/...           endpoint names v2.*   (see api_v2.CloudV2Api.register)
                /wiki/rest/api/...         endpoint names v1.*   (search, restrictions, users, download; the
                                                                   removed v1 endpoints answer 410)
                /wiki/download/attachments/{containerId}/{file}   "download" (401 to API clients, as on Cloud)
                /media/file/{token}/binary "media" (no auth; the token is the credential)
                /ex/confluence/{cloudId}/wiki/...   the same routes as the api.atlassian.com gateway serves them:
                                                   there a scoped API token is accepted too (`credentials`); with
                                                   `gateway_host`, only under that host name (and the site's routes
                                                   only under the others)
                /_edge/tenant_info         "edge.tenant_info" (no auth): {"cloudId": ...}
                POST /oauth/token          "oauth.token": OAuth 2.0 client credentials (auth.atlassian.com's), whose
                                           access tokens only the gateway routes accept (see oauth.py)
    DataCenter  {ctx}/rest/api/...         endpoint names v1.*   (see api_v1.V1Api.register)
                {ctx}/download/attachments/{containerId}/{file}   "download" (the bytes)
                POST {ctx}/rest/oauth2/latest/token   "oauth.token": OAuth 2.0 client credentials
    Both        /__admin/...               "admin" (see admin.py)

Per request the server authenticates the caller (401 on bad credentials), asks the FaultInjector and the
RateLimiter, renders the answer under the site lock (so a response never mixes two states of the data) and
records statistics. Faults happen on the wire: a dropped connection closes the socket without an answer, a
truncated body announces the full Content-Length and sends only part of it before closing.

Known differences from real Confluence (deliberate simplifications; see also the SimulatorConfig knobs):
  * Only storage format is stored: `view`/`export_view`/`styled_view`/`editor` bodies are the storage XHTML
    (macros unrendered) and `atlas_doc_format` is a reduced ADF (headings, paragraphs, code blocks of the text).
  * CQL results without `order by` come in ascending id order (Confluence ranks by relevance).
  * Rate limiting is a per-user token bucket costing 1 per request; Cloud's points (1 + objects returned) are not
    simulated. The gateway is served on the simulator's own host (`gateway_host` gives it a name of its own, e.g.
    `localhost` beside `127.0.0.1`, so that the two are told apart); it takes Basic e-mail + token and the access
    tokens of OAuth client credentials (no 3LO apps), and its answers are the site's (`_links.base` names the site,
    as Atlassian's do). v1 removal is all-or-nothing.
  * v1 `ancestors` of a reply comment are its parent comments (root first); attachments have none.
  * DC user objects carry `timeZone`; DC space permissions are readable by anyone who can view the space.
  * OAuth access tokens are not checked against scopes (Cloud's granular scopes, Data Center's READ/WRITE/...):
    a token reads what its user may read.
"""

from __future__ import annotations

import itertools
import socket
import ssl
import sys
import threading
import time
import traceback
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable
from urllib.parse import urlsplit

from confluence_simulator.admin import AdminApi
from confluence_simulator.api_v1 import V1Api
from confluence_simulator.api_v2 import CloudV2Api
from confluence_simulator.auth import Authenticator
from confluence_simulator.config import SimulatorConfig
from confluence_simulator.downloads import Downloads
from confluence_simulator.faults import Fault, FaultInjector, FaultKind, RateLimiter, Stats
from confluence_simulator.generator import DEFAULT_CLOUD_ID, DatasetSpec, generate_site
from confluence_simulator.model import Site
from confluence_simulator.mutations import Mutations
from confluence_simulator.oauth import TokenIssuer
from confluence_simulator.render_common import dumps
from confluence_simulator.routes import ApiError, Request, Response, Router, parse_query
from confluence_simulator.state import ServerState

__all__ = ["Simulator", "SimulatorConfig"]

# Cloud: where the token endpoint of Atlassian's identity service (auth.atlassian.com) is served on this host.
OAUTH_TOKEN_PATH = "/oauth/token"
# Where Atlassian's API gateway serves a Cloud site (api.atlassian.com/ex/confluence/{cloudId}/wiki/...).
GATEWAY_PREFIX = "/ex/confluence/"

_REASONS = {400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found", 405: "Method Not Allowed",
            410: "Gone", 429: "Too Many Requests", 500: "Internal Server Error", 502: "Bad Gateway",
            503: "Service Unavailable", 504: "Gateway Timeout"}
_V2_CODES = {400: "INVALID_REQUEST_PARAMETER", 401: "UNAUTHORIZED", 403: "FORBIDDEN", 404: "NOT_FOUND",
             429: "TOO_MANY_REQUESTS", 500: "INTERNAL_SERVER_ERROR", 503: "SERVICE_UNAVAILABLE"}


class TrackedMutations:
    """`Mutations` whose every call runs under the site lock and then expires caches keyed on the old data."""

    def __init__(self, target: Mutations, on_change: Callable[[], None]) -> None:
        self.target = target
        self._on_change = on_change

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self.target, name)
        if name.startswith("_") or not callable(attribute):
            return attribute

        def call(*args: Any, **kwargs: Any) -> Any:
            with self.target.site.lock:
                try:
                    return attribute(*args, **kwargs)
                finally:
                    self._on_change()

        return call


@dataclass
class _Route:
    """Where a request goes: the API family, the handler and the endpoint name (for faults and stats)."""

    family: str  # "v2" | "v1" | "download" | "media" | "admin" | "none"
    endpoint: str
    handler: Callable[[Request], Response] | None
    path: str
    params: dict[str, str]
    needs_auth: bool = True
    via_gateway: bool = False  # reached through the api.atlassian.com gateway prefix (`/ex/confluence/{cloudId}`)
    site_path: str | None = None  # the path on the site a gateway path stands for (links in answers are built on it)


class _Dispatcher:
    """Maps raw paths to routes for one flavour."""

    def __init__(self, state: ServerState, admin: AdminApi, tokens: TokenIssuer) -> None:
        self.state = state
        self.admin = admin
        self.tokens = tokens
        self.v1 = Router()
        V1Api(state).register(self.v1)
        self.v2 = Router()
        if state.cloud:
            CloudV2Api(state).register(self.v2)
        self.downloads = Downloads(state)
        if state.cloud:
            self.v1_prefix = "/wiki/rest/api"
            self.download_prefix = "/wiki/download/attachments/"
            self.token_path = OAUTH_TOKEN_PATH
        else:
            context = state.config.context_path
            self.v1_prefix = f"{context}/rest/api"
            self.download_prefix = f"{context}/download/attachments/"
            self.token_path = f"{context}/rest/oauth2/latest/token"

    def endpoint_names(self) -> list[str]:
        extra = (["download", "media", "edge.tenant_info", "oauth.token", "admin"] if self.state.cloud
                 else ["download", "oauth.token", "admin"])
        return [*self.v2.endpoints(), *self.v1.endpoints(), *extra]

    def resolve(self, method: str, path: str) -> _Route:
        if path.startswith("/__admin/") or path == "/__admin":
            return _Route("admin", "admin", self.admin.handle, path[len("/__admin"):] or "/", {}, needs_auth=False)
        if method == "POST" and path == self.token_path:
            return _Route("oauth", "oauth.token", self.tokens.handle, path, {}, needs_auth=False)
        if self.state.cloud and path.startswith(GATEWAY_PREFIX):
            return self._through_gateway(method, path)
        if self.state.cloud and method == "GET" and path == "/_edge/tenant_info":
            return _Route("v1", "edge.tenant_info", _tenant_info, path, {}, needs_auth=False)
        if self.state.cloud and path.startswith("/wiki/api/v2/"):
            return self._routed("v2", self.v2, method, path[len("/wiki/api/v2"):])
        if path.startswith(self.v1_prefix + "/"):
            sub = path[len(self.v1_prefix):]
            if sub.startswith("/latest/"):
                sub = sub[len("/latest"):]
            return self._routed("v1", self.v1, method, sub)
        if method == "GET" and path.startswith(self.download_prefix):
            rest = path[len(self.download_prefix):]
            container, _, filename = rest.partition("/")
            if container and filename and "/" not in filename:
                return _Route("download", "download", self.downloads.attachment, path,
                              {"container": container, "filename": filename})
        if self.state.cloud and method == "GET" and path.startswith("/media/file/"):
            token = path[len("/media/file/"):].split("/", 1)[0]
            return _Route("media", "media", self.downloads.media, path, {"token": token}, needs_auth=False)
        family = "v2" if path.startswith("/wiki/api/") else "v1"
        return _Route(family, "unknown", None, path, {})

    def _through_gateway(self, method: str, path: str) -> _Route:
        """`/ex/confluence/{cloudId}/wiki/...` (the `/wiki` may be left out, as the gateway allows): the site's own
        routes, reached with the gateway's credentials rules; another cloud id is not this site."""
        cloud_id, _, rest = path[len(GATEWAY_PREFIX):].partition("/")
        sub = "/" + rest
        if not (sub == "/wiki" or sub.startswith("/wiki/")):
            sub = "/wiki" + sub
        route = self.resolve(method, sub) if cloud_id == DEFAULT_CLOUD_ID else None
        if route is None or route.family in ("admin", "oauth") or route.endpoint == "edge.tenant_info":
            return _Route("v2" if "/api/v2/" in path else "v1", "unknown", None, path, {}, via_gateway=True)
        route.via_gateway, route.site_path = True, sub
        return route

    @staticmethod
    def _routed(family: str, router: Router, method: str, sub: str) -> _Route:
        found = router.match(method, sub)
        if found is None:
            return _Route(family, f"{family}.unknown", None, sub, {})
        route, params = found
        return _Route(family, route.endpoint, route.handler, sub, params)


def _tenant_info(request: Request) -> Response:
    """`GET /_edge/tenant_info` (no authentication): the site's cloud id, which the gateway's URLs name."""
    return Response.json_obj({"cloudId": DEFAULT_CLOUD_ID})


class _HttpServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 256

    def __init__(self, address: tuple[str, int], simulator: "Simulator") -> None:
        self.simulator = simulator
        self._connections: set[Any] = set()
        self._connections_lock = threading.Lock()
        super().__init__(address, _Handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._connections_lock:
            self._connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._connections_lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        """Hang up on every open keep-alive connection (a stopped simulator must stop answering)."""
        with self._connections_lock:
            connections = list(self._connections)
        for connection in connections:
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Clients that hang up or fail the TLS handshake are routine (tests do it on purpose): stay quiet."""
        error = sys.exc_info()[1]
        if isinstance(error, (ConnectionError, ssl.SSLError, TimeoutError)):
            return
        super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: clients reuse connections as they do with Atlassian's edge
    disable_nagle_algorithm = True  # headers and body go out at once; no 40 ms delayed-ACK stalls
    timeout = 120  # an idle keep-alive connection (or a silent client) frees its thread after two minutes
    server: _HttpServer

    def version_string(self) -> str:
        return "AtlassianEdge" if self.server.simulator.config.flavour == "cloud" else "Apache-Coyote/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - signature from the base class
        if self.server.simulator.config.request_log:
            sys.stderr.write(f"{self.address_string()} - {format % args}\n")

    def do_GET(self) -> None:  # noqa: N802 - http.server naming
        self._serve("GET")

    def do_POST(self) -> None:  # noqa: N802
        self._serve("POST")

    def _serve(self, method: str) -> None:
        simulator = self.server.simulator
        started = time.perf_counter()
        split = urlsplit(self.path)
        headers = {name.lower(): value for name, value in self.headers.items()}
        length = int(headers.get("content-length") or 0)
        body = self.rfile.read(length) if length > 0 else b""
        route = simulator.dispatcher.resolve(method, split.path)
        if simulator.config.gateway_host and route.family not in ("admin", "oauth") and route.endpoint != "media":
            # the gateway's name serves only the gateway's routes, and the site's name only the site's
            asked = (headers.get("host") or "").rpartition(":")[0].strip("[]").lower()
            if route.via_gateway != (asked == simulator.config.gateway_host):
                route = _Route(route.family, "unknown", None, split.path, {}, via_gateway=route.via_gateway)
        request = Request(method=method, path=route.path, full_path=route.site_path or split.path,
                          query=parse_query(split.query),
                          headers=headers, params=route.params, endpoint=route.endpoint, body=body)
        fault: Fault | None = None
        extra_headers: list[tuple[str, str]] = []
        try:
            if route.family != "admin":
                if route.needs_auth:
                    request.user = simulator.authenticator.authenticate(headers.get("authorization"),
                                                                        route.via_gateway)
                fault = simulator.faults.decide(route.endpoint, split.path)
                if fault is not None:
                    simulator.stats_recorder.record_fault(fault.kind)
                    if fault.kind == FaultKind.DROP_CONNECTION:
                        self._drop(route.endpoint, started)
                        return
                    if fault.kind == FaultKind.SLOW and fault.delay_seconds > 0:
                        time.sleep(fault.delay_seconds)
                    if fault.is_error_response:
                        raise ApiError(int(fault.status or 500), "Injected failure",
                                       headers=[(name, value) for name, value in fault.headers.items()])
                    request.fault = fault
                limiter = simulator.rate_limiter
                if limiter is not None and route.needs_auth:
                    identity = request.user.account_id if request.user is not None else "anonymous"
                    decision = limiter.check(identity or "anonymous")
                    extra_headers = list(decision.headers.items())
                    if not decision.allowed:
                        raise ApiError(429, "Rate limit exceeded", headers=extra_headers)
            if route.handler is None:
                raise ApiError(404, f"No resource at {split.path}")
            with simulator.state.site.lock:
                response = route.handler(request)
            oversize = (simulator.faults.oversize(route.endpoint, split.path, len(response.body))
                        if route.family != "admin" and response.status < 400 else None)
            if oversize is not None:
                simulator.stats_recorder.record_fault(oversize.kind)
                raise ApiError(oversize.oversize_status, "The response is too large to be built")
        except ApiError as error:
            response = simulator.error_response(route.family, error)
            extra_headers = [] if error.status == 429 else extra_headers
        except Exception:  # noqa: BLE001 - a simulator bug must still produce an answer, and be visible
            traceback.print_exc()
            response = simulator.error_response(route.family, ApiError(500, "Internal simulator error"))
        response.headers.extend(extra_headers)
        truncate = fault is not None and fault.kind == FaultKind.TRUNCATED_BODY
        self._send(route.endpoint, started, response, fault if truncate else None)

    def _send(self, endpoint: str, started: float, response: Response, truncating: Fault | None) -> None:
        """Answer, counting the answer in the stats before any of it reaches the client.

        Counted afterwards, a client that has read the whole answer could ask for the stats before they include it
        (a test, or the benchmark after the pipeline's last request). The bytes counted are the body's as written;
        a client that hangs up meanwhile does not take them back.
        """
        simulator = self.server.simulator
        self.send_response(response.status, _REASONS.get(response.status))
        self.send_header("Content-Type", response.content_type)
        self.send_header("Content-Length", str(len(response.body)))
        for name, value in response.headers:
            self.send_header(name, value)
        for name, value in simulator.identity_headers():
            self.send_header(name, value)
        body = response.body if truncating is None else truncating.truncate(response.body)
        simulator.stats_recorder.record(endpoint, response.status, len(body), time.perf_counter() - started)
        self.end_headers()
        try:
            self.wfile.write(body)
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
            return
        if truncating is not None:
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_WR)
            except OSError:
                pass

    def _drop(self, endpoint: str, started: float) -> None:
        """Hang up without answering (counted first, like an answer, so the stats never lag the client)."""
        self.server.simulator.stats_recorder.record(endpoint, 0, 0, time.perf_counter() - started)
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


class Simulator:
    """A running simulated Confluence site. Create with `Simulator.start(config)`; stop with `stop()`."""

    def __init__(self, config: SimulatorConfig, site: Site) -> None:
        self.config = config
        self.faults = FaultInjector(seed=config.seed)
        self.rate_limiter: RateLimiter | None = RateLimiter(config.rate_limit) if config.rate_limit else None
        self.stats_recorder = Stats()
        self._site = site
        self._server = _HttpServer((config.host, config.port), self)
        self.scheme = "https" if config.tls_cert else "http"
        if config.tls_cert and config.tls_key:
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            context.load_cert_chain(config.tls_cert, config.tls_key)
            self._server.socket = context.wrap_socket(self._server.socket, server_side=True,
                                                      do_handshake_on_connect=False)
        host, port = self._server.server_address[:2]
        self.host = str(host)
        self.port = int(port)
        self.origin = f"{self.scheme}://{self.host}:{self.port}"
        self._request_ids = itertools.count(1)
        self._build(site)
        self._thread: threading.Thread | None = None

    def _build(self, site: Site) -> None:
        self.state = ServerState.build(self.config, site, self.origin)
        self.tokens = TokenIssuer(site, self.config.flavour, self.config.oauth_token_seconds)
        self.authenticator = Authenticator(site, self.config.flavour, self.config.allow_anonymous, self.tokens)
        self.mutations = TrackedMutations(Mutations(site), self.state.changed)
        self.admin = AdminApi(self)
        self.dispatcher = _Dispatcher(self.state, self.admin, self.tokens)

    # ---- lifecycle -------------------------------------------------------------------------------------
    @classmethod
    def create(cls, config: SimulatorConfig | None = None) -> "Simulator":
        """Build the site (or take `config.site`) and bind the socket, without serving yet."""
        config = config or SimulatorConfig()
        return cls(config, build_site(config))

    @classmethod
    def start(cls, config: SimulatorConfig | None = None) -> "Simulator":
        """Build the site (or take `config.site`), bind, and serve on a background thread."""
        simulator = cls.create(config)
        simulator._thread = threading.Thread(target=simulator._server.serve_forever, kwargs={"poll_interval": 0.2},
                                             name=f"confluence-simulator-{simulator.port}", daemon=True)
        simulator._thread.start()
        if simulator.config.prewarm:
            simulator.warm_up_in_background()
        return simulator

    def warm_up(self) -> int:
        """Pre-render bodies and search entries now (blocking); returns the number of items visited."""
        return self.state.warm_up()

    def warm_up_in_background(self) -> threading.Thread:
        """Pre-render bodies and search entries on a daemon thread (first full syncs then run at full speed)."""
        thread = threading.Thread(target=self.state.warm_up, name=f"confluence-simulator-warmup-{self.port}",
                                  daemon=True)
        thread.start()
        return thread

    def serve_forever(self) -> None:
        """Serve on the calling thread until interrupted, then release the socket (standalone use)."""
        try:
            self._server.serve_forever(poll_interval=0.5)
        finally:
            self._server.server_close()

    def stop(self) -> None:
        """Stop a simulator started with `start()` and release its socket."""
        self._server.shutdown()
        self._server.server_close()
        self._server.close_connections()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> "Simulator":
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def reset(self) -> None:
        """Regenerate the data set in place (same `Site` object), clear faults, counters and caches."""
        fresh = build_site(self.config) if self.config.site is None else None
        site = self._site
        with site.lock:
            if fresh is not None:
                lock = site.lock
                site.__dict__.update(fresh.__dict__)
                site.lock = lock
            self.faults.clear()
            self.stats_recorder.reset()
            if self.rate_limiter is not None:
                self.rate_limiter.reset()
            self._build(site)

    # ---- public views ----------------------------------------------------------------------------------
    @property
    def site(self) -> Site:
        return self._site

    @property
    def base_url(self) -> str:
        """Cloud: the site URL (APIs live under /wiki); Data Center: the URL including the context path."""
        if self.config.flavour == "cloud":
            return self.origin
        return self.origin + self.config.context_path

    @property
    def file_endpoint(self) -> str:
        """The endpoint name of the request that fetches a file for an API client (for faults and stats): Cloud's
        v1 REST download endpoint (a redirect to the media service), Data Center's download servlet."""
        return "v1.attachment.download" if self.config.flavour == "cloud" else "download"

    @property
    def credentials(self) -> dict[str, str]:
        users = self._site.users
        user = users.get(self._site.default_user_id) or next(iter(users.values()))
        return {"email": user.email, "api_token": user.api_token, "username": user.username,
                "password": user.password, "pat": user.personal_access_token,
                "scoped_api_token": user.scoped_api_token, "oauth_client_id": user.oauth_client_id,
                "oauth_client_secret": user.oauth_client_secret}

    def gateway_origin(self, host: str = "localhost") -> str:
        """Where to reach this Cloud site's gateway routes under another host name than `origin`'s (so that a client
        can tell the site and the gateway apart): the value for a client's API gateway setting."""
        return f"{self.scheme}://{host}:{self.port}"

    def stats(self) -> dict[str, Any]:
        return self.stats_recorder.snapshot()

    def endpoint_names(self) -> list[str]:
        return self.dispatcher.endpoint_names()

    def notify_changed(self) -> None:
        """Call after changing `site` directly (not through `mutations`) so cached answers are dropped."""
        self.state.changed()

    # ---- response helpers (used by the handler) -------------------------------------------------------
    def identity_headers(self) -> list[tuple[str, str]]:
        number = next(self._request_ids)
        if self.config.flavour == "cloud":
            return [("atl-request-id", f"sim-{self.port}-{number:08d}"), ("X-Content-Type-Options", "nosniff")]
        return [("X-AREQUESTID", f"{number}x{self.port}"), ("X-Content-Type-Options", "nosniff")]

    def error_response(self, family: str, error: ApiError) -> Response:
        """The error body of the API the request was for (v2 `errors` list, v1 RestError)."""
        status = error.status
        reason = _REASONS.get(status, "Error")
        headers = list(error.headers)
        if status == 401 and not any(name.lower() == "www-authenticate" for name, _ in headers):
            if self.config.flavour == "cloud":
                headers.append(("WWW-Authenticate", 'Basic realm="Atlassian"'))
            else:
                headers.append(("WWW-Authenticate", 'Basic realm="Confluence"'))
                headers.append(("X-Seraph-LoginReason", "AUTHENTICATED_FAILED"))
        body: dict[str, Any]
        if family == "v2":
            body = {"errors": [{"status": status, "code": _V2_CODES.get(status, reason.upper().replace(" ", "_")),
                                "title": error.message if status == 400 else reason, "detail": None}]}
        else:
            body = {
                "statusCode": status,
                "data": {"authorized": status not in (401, 403), "valid": status != 400, "errors": [],
                         "successful": False},
                "message": error.message,
                "reason": reason,
            }
        return Response.json_text(dumps(body), status=status, headers=headers)


def build_site(config: SimulatorConfig) -> Site:
    """The site a config describes: `config.site` as given, else generated from `dataset` or preset + seed."""
    if config.site is not None:
        return config.site
    spec = config.dataset or DatasetSpec(seed=config.seed, preset=config.preset)  # type: ignore[arg-type]
    return generate_site(spec)
