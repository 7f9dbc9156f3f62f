"""Without -v, dlt's records of failed load-job attempts stay out of the output (see `pipelines.job_log`)."""

from __future__ import annotations

import logging

from pipelines.job_log import DLT_LOGGER_NAME, FailedJobAttemptsFilter, quiet_failed_job_attempts


def record(message: str, level: int = logging.ERROR) -> logging.LogRecord:
    return logging.LogRecord(DLT_LOGGER_NAME, level, "load.py", 1, message, None, None)


def test_failed_job_attempts_are_dropped_and_everything_else_kept() -> None:
    keep = FailedJobAttemptsFilter().filter
    assert not keep(record("Transient exception in job pages.1a2b.typed-jsonl in file /x/pages.1a2b.typed-jsonl"))
    assert not keep(record("Terminal exception in job pages.1a2b.typed-jsonl in file /x/pages.1a2b.typed-jsonl"))
    assert not keep(record("Job for pages.1a2b.typed-jsonl retried in load 1795 with message Traceback (most ..."))
    assert not keep(record("Job for pages.1a2b.typed-jsonl failed terminally in load 1795 with message Traceback"))
    assert not keep(record("Package 1795.28 was not fully loaded. Load job pool is successfully drained but 4 new "
                           "jobs are left in the package.", logging.WARNING))
    assert keep(record("Job for pages.1a2b.typed-jsonl completed in load 1795", logging.INFO))
    assert keep(record("Metrics could not be restored from state: boom", logging.WARNING))


def test_the_filter_goes_on_dlts_logger_once() -> None:
    target = logging.getLogger(DLT_LOGGER_NAME)
    before = [item for item in target.filters if isinstance(item, FailedJobAttemptsFilter)]
    try:
        quiet_failed_job_attempts()
        quiet_failed_job_attempts()
        assert len([item for item in target.filters if isinstance(item, FailedJobAttemptsFilter)]) == 1
    finally:
        for item in list(target.filters):
            if isinstance(item, FailedJobAttemptsFilter) and item not in before:
                target.removeFilter(item)
