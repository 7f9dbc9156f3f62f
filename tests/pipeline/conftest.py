"""Fixtures for end-to-end runs of the sync job: a simulator per test, the job configured through dlt's environment
variables, a unique index and an isolated dlt folder per test, and helpers that read back what Elasticsearch holds."""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from elasticsearch import Elasticsearch

from confluence_simulator.generator import DatasetSpec
from confluence_simulator.model import Content, Site
from confluence_simulator.server import Simulator, SimulatorConfig
from pipelines.sync_run import SyncOptions, SyncSummary, run_sync

# Small enough for a run in a second or two, large enough for every special case the generator adds.
SMALL_DATASET = DatasetSpec(seed=3, users=4, global_spaces=4, personal_spaces=1, pages=60, blogposts=10,
                            comments=40, attachments=15, huge_pages=0)
CONTENT_TYPES = ("page", "blogpost", "comment", "attachment")


def environment_for(sim: Simulator, es_url: str, index: str, spaces: str = "*") -> dict[str, str]:
    credentials = sim.credentials
    values = {
        "SOURCES__CONFLUENCE__CONFLUENCE_URL": sim.base_url,
        "SOURCES__CONFLUENCE__SPACES": spaces,
        "DESTINATION__ELASTICSEARCH__ES_HOSTS": es_url,
        "DESTINATION__ELASTICSEARCH__ES_INDEX": index,
    }
    if sim.config.flavour == "cloud":
        values |= {"SOURCES__CONFLUENCE__DATA_SOURCE": "Confluence Cloud",
                   "SOURCES__CONFLUENCE__ACCOUNT_EMAIL": credentials["email"],
                   "SOURCES__CONFLUENCE__API_TOKEN": credentials["api_token"]}
    else:
        values |= {"SOURCES__CONFLUENCE__DATA_SOURCE": "Confluence Data Center",
                   "SOURCES__CONFLUENCE__PERSONAL_ACCESS_TOKEN": credentials["pat"]}
    return values


@dataclass
class SyncHarness:
    """One simulator, one index, one dlt folder: everything a test needs to run the job and read the result."""

    sim: Simulator
    es: Elasticsearch
    index: str
    pipeline_name: str
    pipelines_dir: Path
    monkeypatch: pytest.MonkeyPatch
    es_url: str

    @property
    def site(self) -> Site:
        return self.sim.site

    def configure(self, spaces: str = "*", **overrides: str) -> None:
        for name, value in (environment_for(self.sim, self.es_url, self.index, spaces) | overrides).items():
            self.monkeypatch.setenv(name, value)

    def run(self, **options: Any) -> SyncSummary:
        options.setdefault("pipelines_dir", str(self.pipelines_dir))
        options.setdefault("pipeline_name", self.pipeline_name)
        summary = run_sync(SyncOptions(**options))
        self.es.indices.refresh(index=self.index)
        return summary

    def docs(self) -> dict[str, dict[str, Any]]:
        """Every document of the content index by `_id`."""
        self.es.indices.refresh(index=self.index)
        response = self.es.search(index=self.index, query={"match_all": {}}, size=10_000)
        return {hit["_id"]: hit["_source"] for hit in response["hits"]["hits"]}

    def counts_by_type(self) -> Counter[str]:
        return Counter(source["type"] for source in self.docs().values())

    def visible(self, include_spaces: set[str] | None = None) -> dict[str, set[str]]:
        """Document ids the default user should find in the index, by type, computed from the simulator's data."""
        return expected_visible(self.site, include_spaces)


def _space_synced(site: Site, space_id: int, include_spaces: set[str] | None) -> bool:
    space = site.spaces.get(space_id)
    if space is None or space.status != "current" or not site.can_read_space(site.default_user, space):
        return False
    return include_spaces is None or space.key in include_spaces


def _readable_current(site: Site, item: Content | None, include_spaces: set[str] | None) -> bool:
    return (item is not None and item.status == "current" and _space_synced(site, item.space_id, include_spaces)
            and site.can_read(site.default_user, item))


def expected_visible(site: Site, include_spaces: set[str] | None = None) -> dict[str, set[str]]:
    """What the source's rules index: current spaces the user can read (archived spaces are off by default), current
    pages and blog posts the user can read, and current comments and attachments whose container is indexed."""
    user = site.default_user
    expected: dict[str, set[str]] = {"space": set(), **{doc_type: set() for doc_type in CONTENT_TYPES}}
    for space in site.spaces.values():
        if _space_synced(site, space.id, include_spaces):
            expected["space"].add(f"space-{space.id}")
    for item in site.iter_content():
        if item.type == "folder" or not _readable_current(site, item, include_spaces):
            continue  # a folder is part of breadcrumbs, not a document
        if item.type in ("comment", "attachment"):
            container = site.content.get(item.parent_id) if item.parent_id is not None else None
            if not _readable_current(site, container, include_spaces):
                continue
        confluence_id = f"att{item.id}" if item.type == "attachment" and site_is_cloud(site) else str(item.id)
        expected[item.type].add(f"{item.type}-{confluence_id}")
    assert user is site.default_user
    return expected


_CLOUD_SITES: set[int] = set()


def site_is_cloud(site: Site) -> bool:
    return id(site) in _CLOUD_SITES


def unique_name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


@pytest.fixture
def make_harness(es: Elasticsearch, es_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                 ) -> Iterator[Any]:
    """Factory: `make_harness("cloud")` starts a simulator and configures the job for a fresh index."""
    started: list[SyncHarness] = []
    simulators: list[Simulator] = []

    def make(flavour: str, dataset: DatasetSpec = SMALL_DATASET, spaces: str = "*",
             reading: SyncHarness | None = None) -> SyncHarness:
        """`reading`: a harness whose simulator this one reads too (into its own index and dlt folder)."""
        if reading is not None:
            sim = reading.sim
        else:
            sim = Simulator.start(SimulatorConfig(flavour=flavour, dataset=dataset, port=0, prewarm=False))
            simulators.append(sim)
        if flavour == "cloud":
            _CLOUD_SITES.add(id(sim.site))
        name = unique_name("e2e")
        harness = SyncHarness(sim=sim, es=es, index=name, pipeline_name=name.replace("-", "_"),
                              pipelines_dir=tmp_path / f"dlt-{len(started)}", monkeypatch=monkeypatch, es_url=es_url)
        harness.configure(spaces)
        started.append(harness)
        return harness

    yield make
    for sim in simulators:
        sim.stop()
        _CLOUD_SITES.discard(id(sim.site))
    for harness in started:
        for index in (harness.index, f"{harness.index}-sync-state", f"{harness.index}-errors"):
            es.options(ignore_status=404).indices.delete(index=index)
