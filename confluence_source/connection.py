"""Open a reader for a configured site: build the HTTP client, pick the reader for the flavour, run preflight."""

from __future__ import annotations

from .client import ConfluenceClient
from .cloud import CloudReader
from .config import ConfluenceSettings
from .datacenter import DataCenterReader
from .reader import ConfluenceReader


def open_reader(config: ConfluenceSettings, *, preflight: bool = True, answered_before: bool = False
                ) -> ConfluenceReader:
    """A reader for the site in `config`; with `preflight` (the default) credentials, time zone, spaces and
    advanced rules are checked first, so configuration problems surface before anything is extracted.
    `answered_before`: the last successful run read this site at this address, so a site that does not answer now
    fails the run as an outage (exit 1), not as a wrong address (exit 2)."""
    client = ConfluenceClient(config, answered_before=answered_before)
    reader: ConfluenceReader = CloudReader(client) if config.is_cloud else DataCenterReader(client)
    if preflight:
        reader.preflight()
    return reader
