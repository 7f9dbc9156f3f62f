"""The naive baseline: the Confluence-to-Elasticsearch loader people write by hand, run as its own process.

It does what most scripts and generic loaders do: list the spaces, list the pages and blog posts of each space,
fetch every item again on its own to get its body, strip the HTML with BeautifulSoup and bulk-index the result
with the official client. Everything is sequential; there is no incremental mode, no comments, no attachments.
The benchmark compares the pipeline's documents per second with this program's.

    python -m bench.naive_loader --flavour datacenter --base-url URL --es-url URL --index NAME --summary-json PATH
    (credentials in NAIVE_CONFLUENCE_USER / NAIVE_CONFLUENCE_SECRET: user + password on Data Center,
    account e-mail + API token on Cloud)
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any, Iterator
from urllib.parse import urljoin

import requests
from bs4 import BeautifulSoup
from elasticsearch import Elasticsearch, helpers

LIST_LIMIT = 100
BULK_BATCH = 500
CONTENT_TYPES = ("page", "blogpost")


class NaiveLoader:
    """One sequential pass over a site. Counts its own requests and bytes (the benchmark also asks the server)."""

    def __init__(self, flavour: str, base_url: str, user: str, secret: str) -> None:
        self.flavour = flavour
        self.base_url = base_url.rstrip("/")
        self.session = requests.Session()
        self.session.auth = (user, secret)
        self.session.headers["Accept"] = "application/json"
        self.requests = 0
        self.bytes = 0

    def get(self, url: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        response = self.session.get(url, params=params, timeout=60)
        self.requests += 1
        self.bytes += len(response.content)
        response.raise_for_status()
        result: dict[str, Any] = response.json()
        return result

    # ---- Data Center: v1 REST with start/limit ---------------------------------------------------------
    def _dc_pages(self, path: str, params: dict[str, Any]) -> Iterator[dict[str, Any]]:
        start = 0
        while True:
            data = self.get(f"{self.base_url}/rest/api{path}", {**params, "start": start, "limit": LIST_LIMIT})
            results = data.get("results", [])
            yield from results
            if not results or "next" not in data.get("_links", {}):
                return
            start += len(results)

    def _dc_documents(self) -> Iterator[dict[str, Any]]:
        for space in self._dc_pages("/space", {}):
            for content_type in CONTENT_TYPES:
                for listed in self._dc_pages(f"/space/{space['key']}/content/{content_type}", {}):
                    item = self.get(f"{self.base_url}/rest/api/content/{listed['id']}",
                                    {"expand": "body.storage,version,space"})
                    links = item.get("_links", {})
                    yield self._document(
                        content_type, str(item["id"]), item.get("title", ""), space["key"], space.get("name", ""),
                        item.get("body", {}).get("storage", {}).get("value", ""),
                        item.get("version", {}).get("number"), item.get("version", {}).get("when"),
                        item.get("status", "current"), (links.get("base") or self.base_url) + links.get("webui", ""),
                    )

    # ---- Cloud: v2 REST with cursors -------------------------------------------------------------------
    def _cloud_pages(self, url: str, params: dict[str, Any] | None = None) -> Iterator[dict[str, Any]]:
        next_url: str | None = url
        while next_url:
            data = self.get(next_url, params)
            params = None  # the next link carries every parameter
            yield from data.get("results", [])
            link = data.get("_links", {}).get("next")
            next_url = urljoin(self.base_url + "/", link) if link else None

    def _cloud_documents(self) -> Iterator[dict[str, Any]]:
        api = f"{self.base_url}/wiki/api/v2"
        for space in self._cloud_pages(f"{api}/spaces", {"limit": LIST_LIMIT}):
            for content_type, plural in (("page", "pages"), ("blogpost", "blogposts")):
                for listed in self._cloud_pages(f"{api}/spaces/{space['id']}/{plural}", {"limit": LIST_LIMIT}):
                    item = self.get(f"{api}/{plural}/{listed['id']}", {"body-format": "storage"})
                    links = item.get("_links", {})
                    yield self._document(
                        content_type, str(item["id"]), item.get("title", ""), space["key"], space.get("name", ""),
                        item.get("body", {}).get("storage", {}).get("value", ""),
                        item.get("version", {}).get("number"), item.get("version", {}).get("createdAt"),
                        item.get("status", "current"),
                        (links.get("base") or f"{self.base_url}/wiki") + links.get("webui", ""),
                    )

    def _document(self, content_type: str, confluence_id: str, title: str, space_key: str, space_name: str,
                  storage: str, version: int | None, updated_at: str | None, status: str,
                  url: str) -> dict[str, Any]:
        text = BeautifulSoup(storage, "html.parser").get_text(" ", strip=True)
        return {
            "id": f"{content_type}-{confluence_id}", "type": content_type, "confluence_id": confluence_id,
            "title": title, "space_key": space_key, "space_name": space_name, "body": text, "version": version,
            "updated_at": updated_at, "status": status, "url": url, "site_url": self.base_url,
        }

    def documents(self) -> Iterator[dict[str, Any]]:
        return self._cloud_documents() if self.flavour == "cloud" else self._dc_documents()


def load(loader: NaiveLoader, es: Elasticsearch, index: str) -> dict[str, int]:
    """Bulk-index every document in batches of BULK_BATCH; returns the count per content type."""
    counts: dict[str, int] = {}
    batch: list[dict[str, Any]] = []

    def flush() -> None:
        if batch:
            helpers.bulk(es, ({"_index": index, "_id": doc["id"], "_source": doc} for doc in batch))
            batch.clear()

    for document in loader.documents():
        counts[document["type"]] = counts.get(document["type"], 0) + 1
        batch.append(document)
        if len(batch) >= BULK_BATCH:
            flush()
    flush()
    es.indices.refresh(index=index)
    return counts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.naive_loader", description=__doc__.split("\n")[0])
    parser.add_argument("--flavour", choices=("datacenter", "cloud"), required=True)
    parser.add_argument("--base-url", required=True, help="DC: URL with context path; Cloud: site URL")
    parser.add_argument("--es-url", required=True)
    parser.add_argument("--index", required=True)
    parser.add_argument("--summary-json", type=Path, required=True)
    args = parser.parse_args(argv)
    user, secret = os.environ.get("NAIVE_CONFLUENCE_USER"), os.environ.get("NAIVE_CONFLUENCE_SECRET")
    if not user or not secret:
        print("error: set NAIVE_CONFLUENCE_USER and NAIVE_CONFLUENCE_SECRET", file=sys.stderr)
        return 2
    started = time.perf_counter()
    loader = NaiveLoader(args.flavour, args.base_url, user, secret)
    es = Elasticsearch(args.es_url, request_timeout=120)
    counts = load(loader, es, args.index)
    summary = {"documents": counts, "requests": loader.requests, "bytes": loader.bytes,
               "elapsed_seconds": time.perf_counter() - started}
    args.summary_json.write_text(json.dumps(summary, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
