"""`prefetched` and `opened_ahead`: the background read-ahead of listing pages keeps order, surfaces errors where they
happened, and stops its producers when the consumer stops."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest

from confluence_source.prefetch import opened_ahead, prefetched


class Source:
    """A listing that records how far it was pulled and whether it was closed."""

    def __init__(self, count: int, fail_at: int | None = None, delay: float = 0.0) -> None:
        self.count = count
        self.fail_at = fail_at
        self.delay = delay
        self.pulled = 0
        self.finished = threading.Event()
        self.threads: set[str] = set()

    def items(self) -> Iterator[int]:
        try:
            for number in range(self.count):
                if number == self.fail_at:
                    raise ValueError(f"page {number} failed")
                if self.delay:
                    time.sleep(self.delay)
                self.pulled += 1
                self.threads.add(threading.current_thread().name)
                yield number
        finally:
            self.finished.set()


def wait_until(condition, timeout: float = 2.0) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.01)
    return condition()


def test_order_is_preserved_and_work_runs_in_another_thread() -> None:
    source = Source(500)

    assert list(prefetched(source.items(), depth=3)) == list(range(500))
    assert source.finished.is_set()
    assert source.threads and threading.current_thread().name not in source.threads


def test_slow_source_still_in_order() -> None:
    source = Source(20, delay=0.002)
    assert list(prefetched(source.items(), depth=1)) == list(range(20))


def test_empty_source() -> None:
    source = Source(0)
    assert list(prefetched(source.items())) == []
    assert source.finished.is_set()


def test_error_is_raised_at_its_position_after_earlier_items() -> None:
    source = Source(10, fail_at=4)
    received: list[int] = []

    with pytest.raises(ValueError, match="page 4 failed"):
        for item in prefetched(source.items(), depth=2):
            received.append(item)

    assert received == [0, 1, 2, 3]


def test_error_in_the_first_item() -> None:
    source = Source(10, fail_at=0)
    with pytest.raises(ValueError, match="page 0 failed"):
        next(prefetched(source.items()))


@pytest.mark.parametrize("depth", [1, 2, 4])
def test_early_stop_bounds_read_ahead_and_stops_the_producer(depth: int) -> None:
    source = Source(1_000)
    consumer = prefetched(source.items(), depth=depth)
    consumed = [next(consumer) for _ in range(3)]

    # the producer fills the buffer and then holds one more item while it waits for room
    limit = len(consumed) + depth + 1
    assert wait_until(lambda: source.pulled >= limit)
    time.sleep(0.2)
    assert source.pulled == limit

    started = time.monotonic()
    consumer.close()
    assert time.monotonic() - started < 2.0, "closing must not wait for a join timeout"
    assert source.finished.wait(2.0), "the source generator's finally must run once the consumer stops"
    time.sleep(0.2)
    assert source.pulled == limit
    assert consumed == [0, 1, 2]


def test_breaking_out_of_a_loop_stops_the_producer() -> None:
    source = Source(1_000)
    threads_before = threading.active_count()

    for item in prefetched(source.items(), depth=2):
        if item == 5:
            break

    assert source.finished.wait(2.0)
    assert wait_until(lambda: threading.active_count() <= threads_before)
    assert source.pulled <= 6 + 2 + 1


# ---- opened_ahead: the next listings fetch while the current one is consumed ------------------------------------


def started(sources: list[Source]) -> list[bool]:
    return [source.pulled > 0 for source in sources]


def test_listings_come_in_order_and_the_next_ones_are_already_fetching() -> None:
    sources = [Source(30) for _ in range(5)]
    seen: list[tuple[str, list[int]]] = []
    for key, listing in opened_ahead(((f"s{n}", source.items) for n, source in enumerate(sources)), ahead=2):
        if key == "s0":
            # s1 and s2 are opened ahead and pull without anyone consuming them; s3 waits its turn
            assert wait_until(lambda: started(sources)[1:3] == [True, True])
            assert not started(sources)[3]
        seen.append((key, list(listing)))

    assert seen == [(f"s{n}", list(range(30))) for n in range(5)]
    assert all(source.finished.is_set() for source in sources)


def test_a_failing_listing_raises_when_its_turn_comes() -> None:
    sources = [Source(5), Source(5, fail_at=2), Source(5)]
    received: list[tuple[str, int]] = []
    with pytest.raises(ValueError, match="page 2 failed"):
        for key, listing in opened_ahead(((f"s{n}", source.items) for n, source in enumerate(sources)), ahead=2):
            for item in listing:
                received.append((key, item))

    assert received == [("s0", n) for n in range(5)] + [("s1", 0), ("s1", 1)]
    assert wait_until(lambda: sources[2].finished.is_set()), "the listing opened ahead is closed too"


def test_the_consumer_may_handle_a_listing_error_and_go_on() -> None:
    sources = [Source(3, fail_at=0), Source(3)]
    outcome: dict[str, object] = {}
    for key, listing in opened_ahead(((f"s{n}", source.items) for n, source in enumerate(sources)), ahead=1):
        try:
            outcome[key] = list(listing)
        except ValueError as error:
            outcome[key] = str(error)

    assert outcome == {"s0": "page 0 failed", "s1": [0, 1, 2]}


def test_stopping_early_closes_every_opened_listing() -> None:
    sources = [Source(1_000) for _ in range(4)]
    threads_before = threading.active_count()
    for key, listing in opened_ahead(((f"s{n}", source.items) for n, source in enumerate(sources)), ahead=2):
        next(listing)
        break

    assert all(source.finished.wait(2.0) for source in sources[:3])
    assert not started(sources)[3], "a listing beyond the read-ahead is never opened"
    assert wait_until(lambda: threading.active_count() <= threads_before)


def test_a_listing_left_unfinished_is_closed_when_the_next_one_is_asked_for() -> None:
    sources = [Source(1_000), Source(3)]
    results: list[list[int]] = []
    for _, listing in opened_ahead(((f"s{n}", source.items) for n, source in enumerate(sources)), ahead=1):
        results.append([next(listing)])

    assert results == [[0], [0]]
    assert sources[0].finished.wait(2.0)
