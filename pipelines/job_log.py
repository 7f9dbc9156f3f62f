"""Keeps dlt's reports of failed load-job attempts, and the Elasticsearch client's node warnings, out of a normal
run's output.

dlt logs every load job that raises twice, each time with the whole traceback (as it runs the job, and again as it
schedules the retry or fails the job). When Elasticsearch goes away during a load, every pending job fails several
times before the run gives up: thousands of lines, in which the command line's own one-line message at the end is
easy to miss. Without `-v` these records are dropped; the run still ends with that one line (and the exit code),
and `-v` shows every attempt with its traceback.

The Elasticsearch client's transport warns each time it puts a node that failed on a timeout: the same news as the
run's own retry warnings (or its final one-line message), worded for the client's internals.
"""

from __future__ import annotations

import logging

#: The logger dlt writes to (its run context's name).
DLT_LOGGER_NAME = "dlt"
#: The Elasticsearch client's transport layer.
TRANSPORT_LOGGER_NAME = "elastic_transport"
_JOB_ATTEMPT_MESSAGES = ("Terminal exception in job ", "Transient exception in job ")
_JOB_OUTCOME_MARKERS = (" failed terminally in load ", " retried in load ")


class FailedJobAttemptsFilter(logging.Filter):
    """Drops dlt's records of load-job attempts that raised (see the module docstring)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if message.startswith(_JOB_ATTEMPT_MESSAGES):
            return False
        if message.startswith("Package ") and " was not fully loaded." in message:
            return False  # the run's own last line says the load failed, and the next run loads the package
        return not (message.startswith("Job for ") and any(marker in message for marker in _JOB_OUTCOME_MARKERS))


def quiet_failed_job_attempts() -> None:
    """Put the filter on dlt's logger (once; dlt keeps the logger object when it sets its level and handler)."""
    target = logging.getLogger(DLT_LOGGER_NAME)
    if not any(isinstance(item, FailedJobAttemptsFilter) for item in target.filters):
        target.addFilter(FailedJobAttemptsFilter())


def quiet_transport_warnings() -> None:
    """Only errors of the Elasticsearch client's transport, and of urllib3 under both clients (a certificate for
    another host name is logged there with the whole certificate), reach a normal run's output."""
    for name in (TRANSPORT_LOGGER_NAME, "urllib3"):
        logging.getLogger(name).setLevel(logging.ERROR)
