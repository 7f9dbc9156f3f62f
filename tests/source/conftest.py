"""Fixtures of the Confluence source tests: simulated sites in both flavours, settings for them, the documents a
site should yield (computed from the simulator's own data model, independently of the reader), and a dlt pipeline
that captures what the source yields.
"""

from __future__ import annotations

import collections
import uuid
from typing import Any, Iterator

import dlt
import pytest

from confluence_simulator.generator import DatasetSpec
from confluence_simulator.model import Content, Site
from confluence_simulator.server import Simulator, SimulatorConfig
from confluence_source import ConfluenceSettings, build_settings, confluence, open_reader
from confluence_source.reader import ConfluenceReader

FLAVOURS = ("cloud", "datacenter")
# A site small enough for per-test simulators, big enough to page (v2 lists 250 per page, DC search caps at 50).
COMPACT = DatasetSpec(seed=7, preset="small", users=8, global_spaces=4, personal_spaces=1, pages=160,
                      blogposts=24, comments=90, attachments=50, huge_pages=1)


def start_simulator(flavour: str, **config: Any) -> Simulator:
    config.setdefault("prewarm", False)
    return Simulator.start(SimulatorConfig(flavour=flavour, port=0, **config))  # type: ignore[arg-type]


@pytest.fixture(scope="module", params=FLAVOURS)
def small_sim(request: pytest.FixtureRequest) -> Iterator[Simulator]:
    """The `small` preset in each flavour, shared by read-only tests of a module."""
    sim = start_simulator(request.param, preset="small", seed=1)
    yield sim
    sim.stop()


@pytest.fixture(params=FLAVOURS)
def fresh_sim(request: pytest.FixtureRequest) -> Iterator[Simulator]:
    """A compact site per test, for tests that change data or inject faults."""
    sim = start_simulator(request.param, dataset=COMPACT)
    yield sim
    sim.stop()


def settings_for(sim: Simulator, **overrides: Any) -> ConfluenceSettings:
    """Settings that reach `sim` with its default user's credentials; retries fast so fault tests stay quick."""
    credentials = sim.credentials
    values: dict[str, Any] = {"confluence_url": sim.base_url, "backoff_seconds": 0.01, "max_retry_delay": 2.0}
    if sim.config.flavour == "cloud":
        values.update(data_source="Confluence Cloud", account_email=credentials["email"],
                      api_token=credentials["api_token"])
    else:
        values.update(data_source="Confluence Data Center", username=credentials["username"],
                      password=credentials["password"])
    values.update(overrides)
    return build_settings(**values)


def document_id(sim: Simulator, item: Content) -> str:
    confluence_id = f"att{item.id}" if sim.config.flavour == "cloud" and item.type == "attachment" else str(item.id)
    return f"{item.type}-{confluence_id}"


def expected_ids(
    sim: Simulator, space_keys: set[str] | None = None, index_archived: bool = False
) -> dict[str, set[str]]:
    """Document ids per type that a full sync must yield, from the simulator's data model.

    Indexed: items the default user may read, in current (or, with index_archived, archived) spaces, whose status is
    current (or archived); comments and attachments only while their container is indexed too.
    """
    site: Site = sim.site
    user = site.users[site.default_user_id]
    statuses = {"current", "archived"} if index_archived else {"current"}
    found: dict[str, set[str]] = collections.defaultdict(set)
    for item in site.iter_content():
        if item.type == "folder":
            continue  # a folder is part of breadcrumbs, not a document
        space = site.spaces.get(item.space_id)
        if space is None or (space.status == "archived" and not index_archived):
            continue
        if space_keys is not None and space.key not in space_keys:
            continue
        if item.status not in statuses or not site.can_read(user, item):
            continue
        if item.type in ("comment", "attachment"):
            container = site.content.get(item.parent_id) if item.parent_id is not None else None
            if container is None or container.status not in statuses:
                continue
        found[item.type].add(document_id(sim, item))
    for space in site.spaces.values():
        if space_keys is not None and space.key not in space_keys:
            continue
        if (space.status != "archived" or index_archived) and site.can_read_space(user, space):
            found["space"].add(f"space-{space.id}")
    return dict(found)


class RecordingLedger:
    """What the deletion step gets: ids seen per (scope, type), and scopes read in full."""

    def __init__(self) -> None:
        self.seen: dict[tuple[str, str], set[str]] = collections.defaultdict(set)
        self.fully_read: set[tuple[str, str]] = set()

    def saw(self, space_key: str, doc_type: str, doc_id: str) -> None:
        self.seen[(space_key, doc_type)].add(doc_id)

    def mark_fully_read(self, space_key: str, doc_type: str) -> None:
        self.fully_read.add((space_key, doc_type))


class CapturedRun:
    """Rows per table from one pipeline run, plus the reader (stats, plan) that produced them."""

    def __init__(self, reader: ConfluenceReader, rows: dict[str, list[dict[str, Any]]]) -> None:
        self.reader = reader
        self.rows = rows

    def ids(self, table: str) -> set[str]:
        return {row["id"] for row in self.rows.get(table, [])}

    def by_id(self) -> dict[str, dict[str, Any]]:
        return {row["id"]: row for rows in self.rows.values() for row in rows}

    @property
    def requests(self) -> int:
        return int(self.reader.stats["requests"])


def run_pipeline(
    settings: ConfluenceSettings,
    pipelines_dir: Any,
    watermarks: dict[str, str] | None = None,
    full_refresh: bool = False,
    ledger: RecordingLedger | None = None,
    body_workers: int = 0,
) -> CapturedRun:
    """Open a reader (preflight), run the source through dlt into a capturing destination."""
    rows: dict[str, list[dict[str, Any]]] = collections.defaultdict(list)

    @dlt.destination(batch_size=500, name="capture", loader_file_format="typed-jsonl")
    def capture(items: Any, table: Any) -> None:
        rows[table["name"]].extend(dict(item) for item in items)

    reader = open_reader(settings)
    source = confluence(reader=reader, watermarks=watermarks, full_refresh=full_refresh, ledger=ledger,
                        body_workers=body_workers)
    pipeline = dlt.pipeline(
        pipeline_name=f"source_test_{uuid.uuid4().hex[:10]}",
        destination=capture,
        pipelines_dir=str(pipelines_dir),
    )
    try:
        pipeline.extract(source)
    finally:
        reader.stop_workers()
    pipeline.normalize()
    pipeline.load()
    return CapturedRun(reader, dict(rows))


def counts_per_scope_and_type(reader: Any, scope_keys: Any) -> dict[tuple[str, str], int]:
    """Items per (scope key, type) as Confluence's search counts them (one small request per pair)."""
    return {
        (key, doc_type): reader.count_total([key], [doc_type])
        for key in dict.fromkeys(scope_keys)
        for doc_type in ("page", "blogpost", "comment", "attachment")
    }
