"""The built-in demo: a real sync from the Confluence simulator into a local Elasticsearch node.

It shows what a user gets without configuring anything: a full sync, then a few edits in "Confluence" (an edited
page, a new comment, a trashed page) picked up by an incremental sync, then two searches over the index: one for the
edit, one for words that only appear inside an attached file.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import inspect
import os
import sys
from pathlib import Path
from typing import Any

from confluence_simulator.server import Simulator, SimulatorConfig
from confluence_source import confluence_settings
from es_local import ensure_running
from pipelines.report import print_sample_search, print_summary, write_summary_json
from pipelines.sync_run import SyncOptions, run_sync
from destinations.elastic import elasticsearch_client_from_config
from destinations.es_config import ElasticsearchDestinationConfiguration

DEMO_INDEX = "search-confluence-demo"
DEMO_PIPELINE = "confluence_to_es_demo"
DEMO_SEED = 7
SAMPLE_QUERY = "canary rollback drill"
#: The same words in other forms, found through the `language` sub-fields (es_language, English in the demo).
WORD_FORMS_QUERY = "canary rollbacks drills"


SOURCE_PREFIX = "SOURCES__CONFLUENCE__"
DESTINATION_PREFIX = "DESTINATION__ELASTICSEARCH__"


def _as_environment_value(value: Any) -> str:
    """A default as dlt reads it from the environment; no value is blank, which the settings take as unset."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def default_settings_environment() -> dict[str, str]:
    """Every `[sources.confluence]` and `[destination.elasticsearch]` setting at its default, as environment
    variables. The environment is the provider dlt asks first, so the demo reads nothing of the user's own settings
    (`.dlt/*.toml` here or in ~/.dlt, or the shell): a cloud id, API key or `advanced_rules` meant for their site
    must never steer the demo, which deletes and refills its indices. A setting without a value is given as a blank
    variable, which the source and destination settings read as unset; this runs after the command line has dropped
    the user's blank variables (`pipelines.setting_environment`), so these stay. Benchmark runs, which start the
    command line as a new process, are kept apart another way (`bench.pipeline_runner.tuning_only_project`)."""
    values = {f"{SOURCE_PREFIX}{name.upper()}": _as_environment_value(parameter.default)
              for name, parameter in inspect.signature(confluence_settings).parameters.items()}
    defaults = ElasticsearchDestinationConfiguration()
    values.update({f"{DESTINATION_PREFIX}{field.name.upper()}": _as_environment_value(getattr(defaults, field.name))
                   for field in dataclasses.fields(defaults) if field.name.startswith("es_")})
    return values


def configure_environment(sim: Simulator, flavour: str, es_url: str) -> None:
    """Point the source and the destination at the demo services through dlt's environment variables, every other
    setting at its default."""
    credentials = sim.credentials
    values = default_settings_environment()
    values |= {
        "SOURCES__CONFLUENCE__CONFLUENCE_URL": sim.base_url,
        "SOURCES__CONFLUENCE__SPACES": "*",
        "DESTINATION__ELASTICSEARCH__ES_HOSTS": es_url,
        "DESTINATION__ELASTICSEARCH__ES_INDEX": DEMO_INDEX,
    }
    if flavour == "cloud":
        values.update({
            "SOURCES__CONFLUENCE__DATA_SOURCE": "Confluence Cloud",
            "SOURCES__CONFLUENCE__ACCOUNT_EMAIL": credentials["email"],
            "SOURCES__CONFLUENCE__API_TOKEN": credentials["api_token"],
        })
    else:
        values.update({
            "SOURCES__CONFLUENCE__DATA_SOURCE": "Confluence Data Center",
            "SOURCES__CONFLUENCE__PERSONAL_ACCESS_TOKEN": credentials["pat"],
        })
    os.environ.update(values)


def change_some_content(sim: Simulator) -> list[str]:
    """Edit a page, comment on it and trash another one, as people do between two scheduled runs."""
    site = sim.site
    reader = site.default_user
    pages = sorted(
        (item for item in site.iter_content("page") if item.status == "current" and site.can_read(reader, item)),
        key=lambda item: item.id,
    )
    edited, trashed = pages[0], pages[-1]
    sim.mutations.edit(
        content_id=edited.id,
        body=edited.body + "<p>Updated for the demo: add the canary rollback drill to the release checklist.</p>",
    )
    sim.mutations.add_comment(container_id=edited.id, body="<p>Looks good, ship it.</p>")
    sim.mutations.trash(content_id=trashed.id)
    return [f"edited page {edited.title!r} and added a comment", f"trashed page {trashed.title!r}"]


def attached_file_phrase(sim: Simulator) -> str | None:
    """Words written inside one of the demo site's attached PDF files (found only through their extracted text)."""
    site = sim.site
    reader = site.default_user
    for item in sorted(site.iter_content("attachment"), key=lambda item: item.id):
        container = site.content.get(item.parent_id) if item.parent_id is not None else None
        if (item.status == "current" and item.media_type == "application/pdf" and item.extractable_phrase
                and container is not None and container.status == "current" and site.can_read(reader, container)):
            return item.extractable_phrase
    return None


# The simulator writes real office and PDF files with these (module -> package): the `simulator` extra.
SIMULATOR_PACKAGES = {"fpdf": "fpdf2", "docx": "python-docx", "openpyxl": "openpyxl", "pptx": "python-pptx",
                      "odf": "odfpy"}


def missing_simulator_packages() -> list[str]:
    """The simulator's packages this environment lacks (an install of the connector alone has none of them)."""
    return [package for module, package in SIMULATOR_PACKAGES.items() if importlib.util.find_spec(module) is None]


def run_demo(options: SyncOptions, flavour: str, preset: str, summary_json: Path | None) -> int:
    missing = missing_simulator_packages()
    if missing:
        print(f"error: --demo runs the Confluence simulator, which needs {', '.join(missing)}: install the connector "
              "with `pip install '.[simulator]'` (`make demo` does)", file=sys.stderr)
        return 2
    es_url = ensure_running().url
    sim = Simulator.start(SimulatorConfig(flavour=flavour, preset=preset, seed=DEMO_SEED, port=0))
    try:
        print(f"Confluence simulator ({flavour}, {preset} preset) at {sim.base_url}; Elasticsearch at {es_url}")
        configure_environment(sim, flavour, es_url)
        with elasticsearch_client_from_config() as client:
            # the simulator listens on a new port each time: start the demo index afresh
            for index in (DEMO_INDEX, f"{DEMO_INDEX}-sync-state", f"{DEMO_INDEX}-errors"):
                client.options(ignore_status=404).indices.delete(index=index)
        demo_options = SyncOptions(
            pipeline_name=DEMO_PIPELINE,
            full_refresh=True,
            allow_mass_delete=options.allow_mass_delete,
            max_delete_fraction=options.max_delete_fraction,
            pipelines_dir=options.pipelines_dir,
            stage_documents=options.stage_documents,
        )
        first = run_sync(demo_options)
        print_summary(first, title="Full sync finished")
        for change in change_some_content(sim):
            print(f"In Confluence: {change}")
        demo_options.full_refresh = False
        second = run_sync(demo_options)
        print_summary(second, title="Incremental sync finished")
        with elasticsearch_client_from_config() as client:
            client.indices.refresh(index=DEMO_INDEX)
            print_sample_search(client, DEMO_INDEX, SAMPLE_QUERY)
            print_sample_search(client, DEMO_INDEX, WORD_FORMS_QUERY)
            phrase = attached_file_phrase(sim)
            if phrase:
                print_sample_search(client, DEMO_INDEX, phrase)
        written = write_summary_json(summary_json, {"full": first.as_dict(), "incremental": second.as_dict()}
                                     ) if summary_json else True
        if first.refused_deletions or second.refused_deletions:
            return 3
        return 0 if written else 2
    finally:
        sim.stop()
