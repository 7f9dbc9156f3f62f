"""What becomes of the load packages an earlier run left between its extract and the end of its load.

A run that stopped or failed there saved no watermarks for that package's content, so the next run reads the same
changes again; but not all
of what the stopped run would have written: the page-tree check (`confluence_source/structure.py`) decides what to
re-read by comparing the index with Confluence, and a partly loaded package has already changed the index (a
renamed page written, its comments' new breadcrumbs not yet). So a package is loaded first where it is still the
newest word on its documents, and dropped where it is not:

* made for another cluster, index or site: the working folder is shared by every configuration that uses the same
  pipeline name, and the sink writes wherever it is configured now;
* older than a later run of this index and site (from another working folder: a fresh CI runner, another machine;
  told by the sync state having been saved since the package's run started, by a run that succeeded, loaded a
  stage of a long full read, or began one): it could put older versions back over newer ones for good, since
  nothing dates them as changed again;
* deletions: each run plans its own (the plan depends on the settings and the site of its moment, and costs the same
  whether or not a plan is pending), while an old plan would delete what its settings left out then and this run's
  settings sync again.

A dropped package's changes are read again by the next sync of its own index and site, whose watermarks did not move.
"""

from __future__ import annotations

import hashlib
import logging
from typing import Any

import dlt
from dlt.common.runtime import signals

from destinations.es_config import ElasticsearchSettings

logger = logging.getLogger("confluence_to_es")

# dlt local-state key: the cluster, index and site the pipeline's newest package was extracted for
PACKAGE_TARGET_KEY = "package_target"
# dlt local-state key: when the sync state the newest package's run started from was saved (by whichever machine
# saved it: compared for equality only, never with this machine's clock)
STATE_SAVED_AT_KEY = "package_state_saved_at"
# The table of the deletion rows (`sync_run.deletion_rows`)
DELETIONS_TABLE = "deletions"


def package_target(es_settings: ElasticsearchSettings, site_url: str) -> dict[str, str]:
    """Where this run's package goes: the cluster (hosts without credentials, or a digest of the cloud id), the index
    and the Confluence site it is read from."""
    connection = es_settings.connection
    cluster = (f"cloud id {hashlib.sha256(connection.cloud_id.encode()).hexdigest()[:12]}" if connection.cloud_id
               else connection.describe())
    return {"cluster": cluster, "es_index": es_settings.index, "site_url": site_url}


def settle_pending_packages(pipeline: dlt.Pipeline, target: dict[str, str], state_saved_at: str | None) -> None:
    """Load or drop (see the module docstring) what an earlier run left pending, first and on its own, so that this
    run's normalize counts, the summary, are this run's only; then note where this run's package is going and which
    sync state it starts from.

    `state_saved_at`: when the sync state of this index, site and pipeline was last saved (`SyncState.updated_at`):
    different from what the pending package's run started from, a later run has saved it since."""
    if pipeline.has_pending_data:
        pending_target = _local_value(pipeline, PACKAGE_TARGET_KEY, {})  # unknown where a version did not record it
        started_from = _local_value(pipeline, STATE_SAVED_AT_KEY, state_saved_at)
        if pending_target != target:
            logger.warning("Dropped a package left pending by an earlier run that synced %s into index %s at %s: "
                           "this run syncs %s into index %s at %s (the next run for that index and site reads the "
                           "same changes again)", pending_target.get("site_url", "an unknown site"),
                           pending_target.get("es_index", "?"), pending_target.get("cluster", "?"),
                           target["site_url"], target["es_index"], target["cluster"])
            pipeline.abort_packages()
        elif started_from != state_saved_at:
            logger.warning("Dropped a package left pending by an earlier run: a later run has saved the sync state "
                           "of this index since, and the package could put older versions back over newer ones (this "
                           "run reads the same changes again)")
            pipeline.abort_packages()
        else:
            try:
                # a package left extracted (a run stopped in its normalize) becomes loadable, and droppable by its id
                pipeline.normalize()
                deletions = [load_id for load_id in pipeline.list_normalized_load_packages()
                             if _holds_only_deletions(pipeline, load_id)]
            except Exception:
                if signals.was_signal_received():
                    raise
                # unreadable (a damaged folder): nothing of it can be trusted, and kept it would fail every run
                logger.warning("Dropped a package left pending by an earlier run that could not be read: this run "
                               "reads the same changes again", exc_info=logger.isEnabledFor(logging.DEBUG))
                pipeline.abort_packages()
                deletions = []
            if deletions:  # the newest packages: the deletions come last in a run
                logger.info("Dropped the deletions an earlier run had planned: this run plans its own")
                pipeline.abort_packages(load_id=deletions[0])
            if pipeline.has_pending_data:
                logger.warning("Loading a package left pending by an earlier run before syncing")
                pipeline.load()
    pipeline.set_local_state_val(PACKAGE_TARGET_KEY, target)
    pipeline.set_local_state_val(STATE_SAVED_AT_KEY, state_saved_at)


def note_state_saved(pipeline: dlt.Pipeline, state_saved_at: str) -> None:
    """Record that this run saved the sync state (before the first stage of a long full read, or its progress after
    a stage, `read_stages.py`): a package it leaves pending after that is still the newest word on its documents for
    the next run."""
    pipeline.set_local_state_val(STATE_SAVED_AT_KEY, state_saved_at)


def _local_value(pipeline: dlt.Pipeline, key: str, default: Any) -> Any:
    try:
        return pipeline.get_local_state_val(key)
    except KeyError:
        return default


def _holds_only_deletions(pipeline: dlt.Pipeline, load_id: str) -> bool:
    info = pipeline.get_load_package_info(load_id)
    tables = {job.job_file_info.table_name for jobs in info.jobs.values() for job in jobs}
    content = {table for table in tables if not table.startswith("_dlt")}
    return content == {DELETIONS_TABLE}
