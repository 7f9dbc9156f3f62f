"""A minimal client for the simulated site's public API, used by the benchmark itself (never measured).

The benchmark needs to look at the site the way a Confluence user does: to pick which pages to edit or trash
between incremental runs (only content the API user can see) and to measure how fast the simulator serves pages.
Both flavours are covered: Data Center v1 under the context path, Cloud v1 search and v2 lists under `/wiki`.
"""

from __future__ import annotations

from typing import Any, Iterator
from urllib.parse import urljoin

import requests

from bench.simulator_process import SimulatorProcess


class SiteClient:
    def __init__(self, simulator: SimulatorProcess) -> None:
        self.simulator = simulator
        self.cloud = simulator.flavour == "cloud"
        credentials = simulator.credentials
        self.session = requests.Session()
        self.session.auth = ((credentials["email"], credentials["api_token"]) if self.cloud
                             else (credentials["username"], credentials["password"]))
        self.session.headers["Accept"] = "application/json"
        base = simulator.base_url
        self.v1 = f"{base}/wiki/rest/api" if self.cloud else f"{base}/rest/api"
        self.v2 = f"{base}/wiki/api/v2"

    def get(self, url: str, params: dict[str, Any] | None = None) -> Any:
        response = self.session.get(url, params=params, timeout=120)
        response.raise_for_status()
        return response.json()

    def search(self, cql: str, limit: int = 50) -> list[dict[str, Any]]:
        """One page of CQL results (enough to pick a few items to change)."""
        data = self.get(f"{self.v1}/content/search", {"cql": cql, "limit": limit, "expand": "version"})
        return list(data.get("results", []))

    def storage_body(self, content_id: str, content_type: str) -> str:
        if self.cloud:
            plural = "pages" if content_type == "page" else "blogposts"
            data = self.get(f"{self.v2}/{plural}/{content_id}", {"body-format": "storage"})
        else:
            data = self.get(f"{self.v1}/content/{content_id}", {"expand": "body.storage"})
        return str(data.get("body", {}).get("storage", {}).get("value", ""))

    def pages_with_bodies(self) -> Iterator[list[dict[str, Any]]]:
        """Every page with its storage body, one API response at a time, with the largest page size allowed."""
        if self.cloud:
            url: str | None = f"{self.v2}/pages"
            params: dict[str, Any] | None = {"body-format": "storage", "limit": 250}
            while url:
                data = self.get(url, params)
                params = None
                yield list(data.get("results", []))
                link = data.get("_links", {}).get("next")
                url = urljoin(self.simulator.base_url + "/", link) if link else None
            return
        start = 0
        while True:
            data = self.get(f"{self.v1}/content", {"type": "page", "expand": "body.storage,version",
                                                   "start": start, "limit": 200})
            results = list(data.get("results", []))
            yield results
            if not results or "next" not in data.get("_links", {}):
                return
            start += len(results)

    def close(self) -> None:
        self.session.close()
