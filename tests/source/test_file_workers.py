"""The limits under attachment downloads: the byte budget and the extraction threads."""

from __future__ import annotations

import threading
import time

import pytest

from confluence_source.file_workers import ByteBudget, ExtractionThreads


def test_the_byte_budget_holds_downloads_back_until_memory_is_handed_back():
    budget = ByteBudget(100)
    order: list[str] = []

    def hold_and_note() -> None:
        with budget.hold(50):
            order.append("second held")

    with budget.hold(70):
        waiter = threading.Thread(target=hold_and_note)
        waiter.start()
        time.sleep(0.1)
        order.append("first released")
    waiter.join(timeout=5)
    assert order == ["first released", "second held"]
    with budget.hold(1_000):  # larger than the whole budget: still read, alone
        pass


def test_the_time_limit_counts_the_call_not_the_wait_for_a_free_thread():
    threads = ExtractionThreads(1, "test-text")
    busy = threads.submit(time.sleep, 0.5)
    assert threads.run(0.3, lambda: "quick") == "quick"  # waited ~0.5 s in the queue, ran for no time
    assert busy.done()
    threads.shutdown()


def test_a_stuck_call_is_given_up_and_a_fresh_thread_carries_on():
    threads = ExtractionThreads(1, "test-text")
    release = threading.Event()
    with pytest.raises(TimeoutError):
        threads.run(0.2, release.wait, 10)
    assert threads.run(1.0, lambda: "next") == "next"  # served by the replacement thread
    release.set()
    threads.shutdown()


def test_shutdown_cancels_calls_still_queued():
    threads = ExtractionThreads(1, "test-text")
    release = threading.Event()
    running = threads.submit(release.wait, 10)
    queued = threads.submit(lambda: "never")
    time.sleep(0.1)
    threads.shutdown()
    assert queued.cancelled()
    release.set()
    assert running.result(timeout=5) is True
