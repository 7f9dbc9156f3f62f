"""Everything the request handlers share: the site, its renderers, caches and the media-token signer.

Built once per simulator; handlers receive it instead of reaching for globals, so two simulators (say a Cloud
and a DC one in the same test) never share state.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass

from confluence_simulator.config import SimulatorConfig
from confluence_simulator.model import Site
from confluence_simulator.queries import ChangeTracker, SiteQueries
from confluence_simulator.render_common import FragmentCache, Formatter, SiteUrls
from confluence_simulator.render_v1 import V1Renderer
from confluence_simulator.render_v2 import V2Renderer


@dataclass
class ServerState:
    config: SimulatorConfig
    site: Site
    tracker: ChangeTracker
    queries: SiteQueries
    urls: SiteUrls
    fmt: Formatter
    bodies: FragmentCache
    fragments: FragmentCache
    v1: V1Renderer
    v2: V2Renderer
    media_secret: bytes

    @classmethod
    def build(cls, config: SimulatorConfig, site: Site, origin: str) -> "ServerState":
        tracker = ChangeTracker()
        queries = SiteQueries(site, tracker, config.index_lag_seconds, config.search_cache_seconds)
        context = "/wiki" if config.flavour == "cloud" else config.context_path
        media_origin = ""
        if config.media_host:
            scheme, _, host_port = origin.partition("://")
            media_origin = f"{scheme}://{config.media_host}:{host_port.rsplit(':', 1)[1]}"
        urls = SiteUrls(origin=origin, context=context, media_origin=media_origin)
        fmt = Formatter(site, config.flavour, urls, config.server_tz)
        bodies = FragmentCache(max_chars=1_200_000_000)
        fragments = FragmentCache(max_chars=400_000_000)
        secret = hashlib.sha256(f"media-{config.seed}-{config.flavour}".encode()).digest()
        return cls(
            config=config,
            site=site,
            tracker=tracker,
            queries=queries,
            urls=urls,
            fmt=fmt,
            bodies=bodies,
            fragments=fragments,
            v1=V1Renderer(fmt, queries, tracker, bodies, fragments),
            v2=V2Renderer(fmt, tracker, bodies, fragments),
            media_secret=secret,
        )

    @property
    def cloud(self) -> bool:
        return self.config.flavour == "cloud"

    def changed(self) -> None:
        """Call after any change to the site: cached JSON and search results keyed on the old state expire."""
        self.tracker.bump()
        self.fragments.clear()
        self.fmt.clear()

    def warm_up(self, chunk: int = 200) -> int:
        """Pre-render what every sync reads: storage bodies as JSON (v2 on Cloud, v1 on DC) and search entries.

        Runs on a background thread after start; it takes the site lock per chunk so requests are served
        between chunks. Returns the number of items visited.
        """
        ids = list(self.site.content)
        for offset in range(0, len(ids), chunk):
            with self.site.lock:
                for content_id in ids[offset : offset + chunk]:
                    item = self.site.content.get(content_id)
                    if item is None:
                        continue
                    if item.body:
                        if self.cloud:
                            self.v2.body_json(item, "storage")
                        else:
                            self.v1.cached_storage_value(item)
                    self.queries.cql_item(item, with_text=False)
        return len(ids)

    # ---- media tokens (Cloud downloads redirect to a signed, auth-free media URL) ------------------------
    def media_token(self, attachment_id: int, version: int) -> str:
        payload = f"{attachment_id}.{version}"
        signature = hmac.new(self.media_secret, payload.encode(), hashlib.sha256).digest()[:12]
        return payload + "." + base64.urlsafe_b64encode(signature).decode().rstrip("=")

    def read_media_token(self, token: str) -> tuple[int, int] | None:
        parts = token.split(".")
        if len(parts) != 3:
            return None
        try:
            attachment_id, version = int(parts[0]), int(parts[1])
        except ValueError:
            return None
        if not hmac.compare_digest(self.media_token(attachment_id, version), token):
            return None
        return attachment_id, version
