"""Keeping the pipeline's working folder from growing with every run.

dlt moves each loaded package to `<pipelines_dir>/<pipeline>/load/loaded/<load_id>` and keeps it. With
`[load] delete_completed_jobs = true` (`.dlt/config.toml`) the package's load files, which are copies of the
documents, are deleted once they are in Elasticsearch; what remains of each package (its schema and state, about
60-90 KB) would still pile up on a host that syncs every few minutes. So every run keeps only the newest packages:
enough for `dlt pipeline confluence_to_es info` and `trace` to inspect recent runs, and a package whose jobs failed
keeps its files (dlt does not delete those, and `load-package` and `failed-jobs` show them) for as long as it is
among them.

An extract that was killed leaves its half-written package in a folder of its own under `normalize/` (dlt commits
a package to `normalize/extracted` only when its extract ends), tens of MB of document copies that nothing would
ever read or remove. Only the run lock (`run_lock.py`) makes it safe to remove them: no other extract of this
pipeline can be writing there.
"""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import dlt
from dlt.common.storages import NormalizeStorage

logger = logging.getLogger("confluence_to_es")

# Loaded packages kept for inspection (a run makes one per stage of its read, usually one, and one more when it
# deletes documents).
KEPT_LOADED_PACKAGES = 20


def prune_loaded_packages(pipeline: dlt.Pipeline) -> int:
    """Delete all but the `KEPT_LOADED_PACKAGES` newest loaded packages of `pipeline`; returns how many were deleted.

    Housekeeping only: a package that cannot be removed is left for the next run, never a reason to fail this one.
    """
    loaded = sorted(pipeline.list_completed_load_packages(), key=_load_time)
    removed = 0
    for load_id in loaded[: max(0, len(loaded) - KEPT_LOADED_PACKAGES)]:
        try:
            package_path = Path(pipeline.get_load_package_info(load_id).package_path)
            shutil.rmtree(package_path)
        except Exception as error:  # noqa: BLE001 - a locked or half-deleted folder: tried again next run
            logger.warning("Could not remove the old load package %s (%s)", load_id, type(error).__name__)
            continue
        removed += 1
    if removed:
        logger.info("Removed %d old load package(s) from %s", removed, pipeline.working_dir)
    return removed


def _load_time(load_id: str) -> float:
    """dlt's load ids are the package's creation time (seconds since the epoch); anything else sorts first."""
    try:
        return float(load_id)
    except ValueError:
        return float("-inf")


def remove_abandoned_extracts(pipeline: dlt.Pipeline) -> int:
    """Delete the half-written packages of extracts that never ended; returns how many folders were removed.

    Call only while holding the pipeline's run lock, before the run's own extract starts."""
    normalize_folder = Path(pipeline.working_dir) / "normalize"
    if not normalize_folder.is_dir():
        return 0
    removed = 0
    for folder in normalize_folder.iterdir():
        if not folder.is_dir() or folder.name == NormalizeStorage.EXTRACTED_FOLDER:
            continue
        try:
            shutil.rmtree(folder)
        except OSError as error:
            logger.warning("Could not remove the abandoned extract %s (%s)", folder, type(error).__name__)
            continue
        removed += 1
    if removed:
        logger.warning("Removed %d package(s) left half-written by an earlier run that failed or was stopped during "
                       "its extract", removed)
    return removed
