"""Helpers for tests that talk to a running simulator over HTTP: authenticated sessions and paging walkers.

The walkers follow the links exactly as a careful client must (v2: `_links.next` relative to the site origin;
v1: `_links.next` relative to `_links.base`; DC scan: `nextCursor`) and return every page, so tests can assert
that paging visits each item once.
"""

from __future__ import annotations

from typing import Any, Iterator

import requests

from confluence_simulator.server import Simulator


def session_for(simulator: Simulator, scheme: str = "basic") -> requests.Session:
    """A session authenticated as the site's default user: Cloud e-mail + API token; DC password or PAT."""
    credentials = simulator.credentials
    session = requests.Session()
    if simulator.config.flavour == "cloud":
        session.auth = (credentials["email"], credentials["api_token"])
    elif scheme == "pat":
        session.headers["Authorization"] = f"Bearer {credentials['pat']}"
    else:
        session.auth = (credentials["username"], credentials["password"])
    return session


def v2_pages(session: requests.Session, simulator: Simulator, path: str, max_pages: int = 10_000
             ) -> Iterator[dict[str, Any]]:
    """Each response body of a v2 list, following `_links.next` (which already contains `/wiki`)."""
    url: str | None = simulator.origin + path
    for _ in range(max_pages):
        assert url is not None
        response = session.get(url)
        response.raise_for_status()
        body = response.json()
        yield body
        next_link = body.get("_links", {}).get("next")
        if not next_link:
            return
        url = simulator.origin + next_link
    raise AssertionError(f"paging did not end after {max_pages} pages: {path}")


def v1_pages(session: requests.Session, simulator: Simulator, path: str, max_pages: int = 10_000
             ) -> Iterator[dict[str, Any]]:
    """Each response body of a v1 list, following `_links.next` relative to `_links.base`."""
    url: str | None = simulator.base_url + path if simulator.config.flavour == "datacenter" else (
        simulator.origin + "/wiki" + path)
    for _ in range(max_pages):
        assert url is not None
        response = session.get(url)
        response.raise_for_status()
        body = response.json()
        yield body
        links = body.get("_links", {})
        next_link = links.get("next")
        if not next_link:
            return
        url = links["base"] + next_link
    raise AssertionError(f"paging did not end after {max_pages} pages: {path}")


def collect(pages: Iterator[dict[str, Any]]) -> list[dict[str, Any]]:
    """All `results` of all pages, in order."""
    return [item for page in pages for item in page["results"]]
