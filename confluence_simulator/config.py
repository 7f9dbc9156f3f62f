"""Settings of one simulator instance (flavour, data set, network, fidelity knobs).

Every behaviour the reference notes mark as uncertain or tenant-dependent is a knob here rather than a constant,
so tests can pin the variant they exercise (e.g. v2 `limit` above 250 rejected vs clamped, DC search caps).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:  # pragma: no cover - typing only
    from confluence_simulator.faults import RateLimitPolicy
    from confluence_simulator.generator import DatasetSpec
    from confluence_simulator.model import Site

Flavour = Literal["cloud", "datacenter"]


@dataclass
class SimulatorConfig:
    """How to build and serve the simulated site.

    flavour            "cloud" (v2 + remaining v1 under /wiki) or "datacenter" (v1 under `context_path`).
    preset, seed       data set (`generator.generate_site`); ignored when `site` or `dataset` is given.
    host, port         bind address; port 0 picks a free port. Loopback by default.
    context_path       Data Center context path ("/confluence" default; "" allowed).
    tz                 profile time zone of every user (CQL date literals are read in it); None keeps the data
                       set's per-user zones.
    server_tz          Data Center server time zone: DC timestamps carry its offset.
    index_lag_seconds  CQL search does not see items changed less than this many seconds ago.
    unknown_space_cql_fails  Data Center: a CQL query naming a space key that no space has answers HTTP 400
                       "parameters should not be empty", as Confluence 9.3 does (CONFSERVER-101465; 9.2 answers 500);
                       otherwise it matches nothing, as Cloud and fixed releases do.
    tls_cert, tls_key  PEM files: serve HTTPS instead of HTTP.
    allow_anonymous    requests without credentials run as the anonymous user instead of getting 401.
    v2_max_limit       largest v2 `limit`; above it the answer is 400, or the limit is clamped when
                       `v2_clamp_limit` is set.
    search_caps        silent v1 search `limit` caps: (any body expansion, other expansions, no expansion).
    list_caps          the same for other v1 lists (content, children, space content, scan).
    cloud_v1_removed   Cloud: the v1 endpoints Atlassian removed answer 410 Gone (True) or still work with
                       deprecation headers (False).
    rate_limit         a token-bucket policy applied per user (None = no rate limiting).
    admin_token        when set, /__admin/ requests need `Authorization: Bearer <admin_token>`.
    search_cache_seconds  how long an evaluated CQL result list may be reused for later pages of the same query.
    request_log        print one line per request to stderr (standalone use).
    prewarm            pre-render bodies and search entries on a background thread after start.
    media_host         Cloud: the host name that download redirects lead to. Atlassian's media service is another
                       host than the site; another name for this server (e.g. "localhost" when bound to 127.0.0.1)
                       makes clients meet that second host. None = the site's own host.
    gateway_host       Cloud: the host name under which the API gateway's routes (`/ex/confluence/{cloudId}/...`)
                       answer, and the site's do not (e.g. "localhost" when bound to 127.0.0.1), so that a client
                       that sends a request to the wrong one of the two is caught. None = both under every name.
    oauth_token_seconds  lifetime of the OAuth 2.0 access tokens the token endpoint issues (`expires_in`).
    """

    flavour: Flavour = "cloud"
    preset: str = "small"
    seed: int = 1
    host: str = "127.0.0.1"
    port: int = 0
    media_host: str | None = None
    gateway_host: str | None = None
    oauth_token_seconds: int = 3600
    context_path: str = "/confluence"
    tz: str | None = None
    server_tz: str = "Europe/Berlin"
    index_lag_seconds: float = 0.0
    unknown_space_cql_fails: bool = False
    tls_cert: str | None = None
    tls_key: str | None = None
    site: "Site | None" = None
    dataset: "DatasetSpec | None" = None
    allow_anonymous: bool = False
    v2_max_limit: int = 250
    v2_clamp_limit: bool = False
    search_caps: tuple[int, int, int] = (50, 200, 1000)
    list_caps: tuple[int, int, int] = (50, 200, 500)
    cloud_v1_removed: bool = True
    rate_limit: "RateLimitPolicy | None" = None
    admin_token: str | None = None
    search_cache_seconds: float = 30.0
    request_log: bool = False
    prewarm: bool = True

    def __post_init__(self) -> None:
        if self.flavour not in ("cloud", "datacenter"):
            raise ValueError(f"flavour must be 'cloud' or 'datacenter', got {self.flavour!r}")
        path = self.context_path.strip()
        if path in ("", "/"):
            path = ""
        elif not path.startswith("/"):
            path = "/" + path
        self.context_path = path.rstrip("/")
        if (self.tls_cert is None) != (self.tls_key is None):
            raise ValueError("tls_cert and tls_key must be given together")
