"""Archived pages: what changes about them without an incremental run seeing it.

With `index_archived`, archived pages are indexed with `status: archived`. But CQL search, which incremental runs
read their changes from and whose listings the label and page-tree check compares, leaves archived pages out,
and archiving or unarchiving a page creates no version. So a page archived, unarchived, or moved while archived
(with the page it sits under, or to another space) would keep its old status, place or space in the index until
a full refresh, and the deletion check would even take an archived page that moved to another synced space out
of its old space without any read bringing it into the new one.

Before an incremental run, the archived pages of the spaces read for changes are listed (body-less: on Data Center
one scan of the site's archived pages, per 1,000 of them; on Cloud one request per 250 archived pages and 100
spaces) and compared with the archived pages the index holds there: which pages, and their ancestors' ids and titles
(a page renamed above an archived one changes its breadcrumb; on Cloud, where the listing shows the parent only, the
ancestors of the parents are read too: one search per 100 current parents, and each folder on the way). A space
where they differ is read in full, as a renamed space is: archiving a page also takes what hangs on it out of
search, so reading the changed pages alone would not do. Labels are not compared: a label changed on an archived
page waits for a full refresh.
"""

from __future__ import annotations

import logging
from typing import Collection, Mapping, Protocol

from .documents import Ancestry
from .reader import ConfluenceReader

logger = logging.getLogger(__name__)


class IndexedArchivedPages(Protocol):
    """What the comparison asks the index (implemented by `sync_state.IndexedDocuments`)."""

    def archived_pages(self, space_keys: Collection[str]) -> dict[str, dict[str, Ancestry]]:
        """Space key -> document id -> ancestors of the archived pages indexed there."""
        ...


def without_spaces_with_archive_changes(watermarks: Mapping[str, str], reader: ConfluenceReader,
                                        indexed: IndexedArchivedPages) -> dict[str, str]:
    """The watermarks less those of spaces whose archived pages changed since the index was written (see the
    module doc), so that those spaces are read in full; all of them unless `index_archived` is on."""
    kept = dict(watermarks)
    if not reader.config.index_archived:
        return kept
    space_keys = sorted(space.key for space in reader.state.selected if space.key in kept)
    if not space_keys:
        return kept
    now = reader.archived_pages(space_keys)
    before = indexed.archived_pages(space_keys)
    for key in space_keys:
        # which pages, and their ancestors' ids and titles: both sides as a full read writes them
        if now.get(key, {}) != before.get(key, {}):
            logger.info("Pages of space %s were archived, unarchived or moved while archived since the last run: "
                        "reading it in full", key)
            del kept[key]
    return kept
