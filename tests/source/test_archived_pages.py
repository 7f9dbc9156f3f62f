"""The comparison that decides whether a space's archived pages changed since the index was written."""

from types import SimpleNamespace
from typing import Any

from confluence_source.archived_pages import without_spaces_with_archive_changes

TOP, MIDDLE = ("page-1", "Home"), ("page-2", "Guides")
WATERMARKS = {"ENG": "2026-01-01T00:00:00+00:00", "OPS": "2026-01-01T00:00:00+00:00"}


def read_in_full(now: dict[str, Any], before: dict[str, Any], index_archived: bool = True) -> set[str]:
    """The spaces (of ENG and OPS, both read for changes) that the comparison sends to a full read."""
    reader: Any = SimpleNamespace(
        config=SimpleNamespace(index_archived=index_archived),
        state=SimpleNamespace(selected=[SimpleNamespace(key="ENG"), SimpleNamespace(key="OPS")]),
        archived_pages=lambda keys: {key: now.get(key, {}) for key in keys})
    indexed = SimpleNamespace(archived_pages=lambda keys: {key: before.get(key, {}) for key in keys})
    return set(WATERMARKS) - set(without_spaces_with_archive_changes(WATERMARKS, reader, indexed))


def test_the_same_pages_in_the_same_places_do_not_differ():
    assert read_in_full({"ENG": {"page-3": (TOP, MIDDLE)}}, {"ENG": {"page-3": (TOP, MIDDLE)}}) == set()
    assert read_in_full({}, {}) == set()


def test_a_page_archived_or_unarchived_differs():
    assert read_in_full({"ENG": {"page-3": (TOP,)}}, {}) == {"ENG"}
    assert read_in_full({}, {"OPS": {"page-3": (TOP,)}}) == {"OPS"}


def test_a_moved_or_renamed_ancestor_differs():
    assert read_in_full({"ENG": {"page-3": (MIDDLE,)}}, {"ENG": {"page-3": (TOP, MIDDLE)}}) == {"ENG"}
    assert read_in_full({"ENG": {"page-3": (("page-1", "Start"), MIDDLE)}},
                        {"ENG": {"page-3": (TOP, MIDDLE)}}) == {"ENG"}


def test_nothing_is_listed_or_compared_without_index_archived():
    reader: Any = SimpleNamespace(config=SimpleNamespace(index_archived=False), state=None, archived_pages=None)
    assert without_spaces_with_archive_changes(WATERMARKS, reader, SimpleNamespace()) == WATERMARKS
