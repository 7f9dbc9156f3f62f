"""What becomes of the load packages an earlier run left between its extract and the end of its load.

A run that stopped or failed there saved no watermarks, so the next run reads the same changes again; but not all
of what the stopped run would have written: the page-tree check (`confluence_source/structure.py`) decides what to
re-read by comparing the index with Confluence, and a partly loaded package has already changed the index (a
renamed page written, its comments' new breadcrumbs not yet). So a package is loaded first where it is still the
newest word on its documents, and dropped where it is not:

* made for another cluster, index or site: the working folder is shared by every configuration that uses the same
  pipeline name, and the sink writes wherever it is configured now;
* older than a successful run of this index and site (from another working folder: a fresh CI runner, another
  machine): it would put older versions back over newer ones for good, since nothing dates them as changed again;
* deletions: each run plans its own (the plan depends on the settings and the site of its moment, and costs the same
  whether or not a plan is pending), while an old plan would delete what its settings left out then and this run's
  settings sync again.

A dropped package's changes are read again by the next sync of its own index and site, whose watermarks did not move.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable

import dlt

from destinations.es_config import ElasticsearchSettings

logger = logging.getLogger("confluence_to_es")

# dlt local-state key: the cluster, index and site the pipeline's newest package was extracted for
PACKAGE_TARGET_KEY = "package_target"
# The table of the deletion rows (`sync_run.deletion_rows`)
DELETIONS_TABLE = "deletions"


def package_target(es_settings: ElasticsearchSettings, site_url: str) -> dict[str, str]:
    """Where this run's package goes: the cluster (hosts without credentials, or a digest of the cloud id), the index
    and the Confluence site it is read from."""
    connection = es_settings.connection
    cluster = (f"cloud id {hashlib.sha256(connection.cloud_id.encode()).hexdigest()[:12]}" if connection.cloud_id
               else connection.describe())
    return {"cluster": cluster, "es_index": es_settings.index, "site_url": site_url}


def settle_pending_packages(pipeline: dlt.Pipeline, target: dict[str, str],
                            synced_since: Callable[[float], bool]) -> None:
    """Load or drop (see the module docstring) what an earlier run left pending, first and on its own, so that this
    run's normalize counts, the summary, are this run's only; then note where this run's package is going.

    `synced_since(time)`: whether a run that synced this index and site succeeded after `time` (seconds since the
    epoch)."""
    if pipeline.has_pending_data:
        try:
            pending_target = pipeline.get_local_state_val(PACKAGE_TARGET_KEY)
        except KeyError:  # left by a version that did not record it: where it was going is unknown
            pending_target = {}
        load_ids = sorted({*pipeline.list_extracted_load_packages(), *pipeline.list_normalized_load_packages()})
        if pending_target != target:
            logger.warning("Dropped a package left pending by an earlier run that synced %s into index %s at %s: "
                           "this run syncs %s into index %s at %s (the next run for that index and site reads the "
                           "same changes again)", pending_target.get("site_url", "an unknown site"),
                           pending_target.get("es_index", "?"), pending_target.get("cluster", "?"),
                           target["site_url"], target["es_index"], target["cluster"])
            pipeline.abort_packages()
        elif load_ids and synced_since(float(load_ids[0])):
            logger.warning("Dropped a package left pending by an earlier run: a later run has synced this index "
                           "since, and the package would put older versions back over newer ones (this run reads "
                           "the same changes again)")
            pipeline.abort_packages()
        else:
            deletions = [load_id for load_id in load_ids if _holds_only_deletions(pipeline, load_id)]
            if deletions:  # the newest packages: the deletions come last in a run
                logger.info("Dropped the deletions an earlier run had planned: this run plans its own")
                pipeline.abort_packages(load_id=deletions[0])
            if pipeline.has_pending_data:
                logger.warning("Loading a package left pending by an earlier run before syncing")
                pipeline.normalize()
                pipeline.load()
    pipeline.set_local_state_val(PACKAGE_TARGET_KEY, target)


def _holds_only_deletions(pipeline: dlt.Pipeline, load_id: str) -> bool:
    info = pipeline.get_load_package_info(load_id)
    tables = {job.job_file_info.table_name for jobs in info.jobs.values() for job in jobs}
    content = {table for table in tables if not table.startswith("_dlt")}
    return content == {DELETIONS_TABLE}
