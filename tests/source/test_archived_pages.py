"""The comparison that decides whether a space's archived pages changed since the index was written."""

from confluence_source.archived_pages import archives_differ
from confluence_source.documents import ArchivedPage

TOP, MIDDLE = ("page-1", "Home"), ("page-2", "Guides")


def test_the_same_pages_in_the_same_places_do_not_differ():
    assert not archives_differ({"page-3": ArchivedPage((TOP, MIDDLE))}, {"page-3": (TOP, MIDDLE)})
    assert not archives_differ({}, {})


def test_a_page_archived_or_unarchived_differs():
    assert archives_differ({"page-3": ArchivedPage((TOP,))}, {})
    assert archives_differ({}, {"page-3": (TOP,)})


def test_a_moved_or_renamed_ancestor_differs():
    assert archives_differ({"page-3": ArchivedPage((MIDDLE,))}, {"page-3": (TOP, MIDDLE)})
    assert archives_differ({"page-3": ArchivedPage((("page-1", "Start"), MIDDLE))}, {"page-3": (TOP, MIDDLE)})


def test_where_the_chain_above_could_not_be_read_only_what_is_known_is_compared():
    assert not archives_differ({"page-3": ArchivedPage((MIDDLE,), complete=False)}, {"page-3": (TOP, MIDDLE)})
    assert archives_differ({"page-3": ArchivedPage((("page-9", "Other"),), complete=False)},
                           {"page-3": (TOP, MIDDLE)})
    assert archives_differ({"page-3": ArchivedPage((TOP, MIDDLE), complete=False)}, {"page-3": (MIDDLE,)})
    assert not archives_differ({"page-3": ArchivedPage((), complete=False)}, {"page-3": (TOP,)})
