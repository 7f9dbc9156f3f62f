"""The memory limit under attachment downloads."""

from __future__ import annotations

import threading
import time

from confluence_source.byte_budget import ByteBudget


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
