"""Exponential backoff with jitter for requests to Elasticsearch.

dlt re-runs a failed load job about once a second with no backoff at all, which is the worst
possible answer to a cluster that says 429 (too busy). So the sink waits and retries by itself,
bounded, and only then lets the failure reach dlt. Jitter keeps the parallel sink threads from
hammering the cluster in lockstep.
"""

from __future__ import annotations

import dataclasses
import logging
import random
import time
from collections.abc import Callable
from typing import Final, TypeVar

from dlt.common.runtime import signals

from destinations.es_errors import is_retryable

logger = logging.getLogger(__name__)

T = TypeVar("T")

INITIAL_DELAY_SECONDS: Final = 0.5
MAX_DELAY_SECONDS: Final = 30.0


@dataclasses.dataclass(frozen=True)
class RetryPolicy:
    """`max_retries` retries after the first attempt, waiting about initial*2**n seconds (capped)."""

    max_retries: int
    initial_delay: float = INITIAL_DELAY_SECONDS
    max_delay: float = MAX_DELAY_SECONDS
    # retries only logged with -v: where a failure ends in its own one-line message anyway (the preflight)
    quiet: bool = False

    def delay(self, retry_number: int) -> float:
        """Wait before retry `retry_number` (1-based): half fixed, half random ("equal jitter")."""
        ceiling = min(self.max_delay, self.initial_delay * float(2 ** (retry_number - 1)))
        return ceiling / 2 + random.uniform(0, ceiling / 2)

    def sleep_before(self, retry_number: int, reason: str) -> None:
        wait = self.delay(retry_number)
        logger.log(
            logging.INFO if self.quiet else logging.WARNING,
            "Elasticsearch: %s; retry %d of %d in %.1fs", reason, retry_number, self.max_retries, wait,
        )
        # a stop asked of the command line (SIGINT, SIGTERM; dlt's handler only takes note) ends the wait at once
        deadline = time.monotonic() + wait
        while (left := deadline - time.monotonic()) > 0:
            signals.raise_if_signalled()
            signals.sleep(min(left, 1.0))
        signals.raise_if_signalled()


def call_with_backoff(
    operation: Callable[[], T],
    policy: RetryPolicy,
    what: str,
    retryable: Callable[[BaseException], bool] = is_retryable,
) -> T:
    """Runs `operation`, retrying errors `retryable` accepts; the last error propagates unchanged."""
    retry_number = 0
    while True:
        try:
            return operation()
        except Exception as error:
            if not retryable(error) or retry_number >= policy.max_retries:
                raise
            retry_number += 1
            policy.sleep_before(retry_number, f"{what} failed ({type(error).__name__})")
