"""Index mappings: the document contract of the Confluence index, and the dead-letter index.

The mapping is explicit rather than guessed by Elasticsearch from the first document, because a
guess is permanent: an id that happens to look numeric would become `long`, a date-looking title a
`date`, and every later document that disagrees would be rejected. `dynamic: false` keeps fields that
are not listed here in `_source` (returned with hits) without indexing them, so a new source field
can never cause a mapping conflict or a mapping explosion; add it here to make it searchable.

Free text is `text` (standard analyzer) with a `keyword` sub-field where people filter, sort or
aggregate on the exact value (`title.keyword`, `space_name.keyword`, ...). Every keyword has
`ignore_above`, so a value longer than Lucene's term limit (32766 bytes) is stored but not indexed
instead of failing the whole document.

Two choices serve search front ends:
* The standard analyzer keeps `logo.png` and `build_notes` whole, so a word of a file name is not found in
  `title` or `file_name`. Their `words` sub-field (`title.words`, `file_name.words`) uses the built-in `simple`
  analyzer, which splits at every character that is not a letter. It needs no analysis plugin.
* `body` keeps term offsets in the index, so highlighting a hit never re-reads the body. Without them,
  Elasticsearch refuses to highlight a field longer than `index.highlight.max_analyzed_offset` (1,000,000
  characters), and one long page then fails every highlighted search that matches it.
"""

from __future__ import annotations

import copy
from typing import Any, Final

#: Characters, not bytes: 8191 four-byte UTF-8 characters still fit in Lucene's 32766-byte term limit.
KEYWORD_IGNORE_ABOVE: Final = 8191
#: Exact-match sub-fields of free text; longer titles are not useful as aggregation buckets.
SUBFIELD_IGNORE_ABOVE: Final = 1024

KEYWORD: Final[dict[str, Any]] = {"type": "keyword", "ignore_above": KEYWORD_IGNORE_ABOVE}
TEXT: Final[dict[str, Any]] = {"type": "text"}
TEXT_WITH_KEYWORD: Final[dict[str, Any]] = {
    "type": "text",
    "fields": {"keyword": {"type": "keyword", "ignore_above": SUBFIELD_IGNORE_ABOVE}},
}
#: Names, where a word of a file name must be found too (see the module docstring).
NAME_TEXT: Final[dict[str, Any]] = {
    "type": "text",
    "fields": {
        "keyword": {"type": "keyword", "ignore_above": SUBFIELD_IGNORE_ABOVE},
        "words": {"type": "text", "analyzer": "simple"},
    },
}
#: Long free text that search front ends highlight.
BODY_TEXT: Final[dict[str, Any]] = {"type": "text", "index_options": "offsets"}
DATE: Final[dict[str, Any]] = {"type": "date"}
INTEGER: Final[dict[str, Any]] = {"type": "integer"}
LONG: Final[dict[str, Any]] = {"type": "long"}
#: Kept in _source (returned with every hit) but neither indexed nor searchable.
STORED_ONLY_TEXT: Final[dict[str, Any]] = {"type": "text", "index": False}

_COMMON_FIELDS: Final[dict[str, dict[str, Any]]] = {
    "id": KEYWORD,  # "<type>-<confluence id>", also the document _id
    "type": KEYWORD,  # space | page | blogpost | comment | attachment
    "confluence_id": KEYWORD,
    "title": NAME_TEXT,
    "url": KEYWORD,
    "space_key": KEYWORD,
    "space_name": TEXT_WITH_KEYWORD,
    "created_at": DATE,
    "updated_at": DATE,
    "version": INTEGER,
    "status": KEYWORD,
    "author_name": TEXT_WITH_KEYWORD,
    "author_id": KEYWORD,
    "labels": KEYWORD,
    "site_url": KEYWORD,
}

_CONTENT_FIELDS: Final[dict[str, dict[str, Any]]] = {  # pages, blog posts, comments
    "body": BODY_TEXT,
    "body_markdown": STORED_ONLY_TEXT,
    "truncated": KEYWORD,  # the text fields cut short to fit es_max_document_bytes (attachments' `body` too)
    "ancestor_ids": KEYWORD,
    "ancestor_titles": TEXT_WITH_KEYWORD,
    "breadcrumb": TEXT,
    "parent_id": KEYWORD,
}

_COMMENT_FIELDS: Final[dict[str, dict[str, Any]]] = {
    "comment_location": KEYWORD,  # footer | inline
    "parent_type": KEYWORD,
    "parent_title": TEXT_WITH_KEYWORD,
    "parent_url": KEYWORD,
    "parent_comment_id": KEYWORD,
    "resolution_status": KEYWORD,
    "inline_selection": TEXT,  # the page text an inline comment is anchored to
}

_ATTACHMENT_FIELDS: Final[dict[str, dict[str, Any]]] = {
    "file_name": NAME_TEXT,
    "media_type": KEYWORD,
    "file_size": LONG,
    "download_url": KEYWORD,
    "comment": TEXT,  # the upload comment
    "content_extraction": KEYWORD,  # what became of the file's text (extracted, too_large, unsupported_type, ...)
    "content_extractor": KEYWORD,  # what extracted it: the text is extracted again when that changes
}

_SPACE_FIELDS: Final[dict[str, dict[str, Any]]] = {
    "description": TEXT,
    "space_type": KEYWORD,  # global | personal
}


def content_index_mappings() -> dict[str, Any]:
    """Mappings of the Confluence index (`es_index`)."""
    properties: dict[str, Any] = {}
    for group in (_COMMON_FIELDS, _CONTENT_FIELDS, _COMMENT_FIELDS, _ATTACHMENT_FIELDS, _SPACE_FIELDS):
        properties.update({name: copy.deepcopy(spec) for name, spec in group.items()})
    return {"dynamic": False, "properties": properties}


def content_index_settings() -> dict[str, Any]:
    """One primary shard: a Confluence site is far below the tens of GB where a second shard pays off."""
    return {"number_of_shards": 1}


def dead_letter_index_mappings() -> dict[str, Any]:
    """Mappings of `<es_index>-errors`, one entry per rejected document and load."""
    return {
        "dynamic": False,
        "properties": {
            "id": KEYWORD,  # the rejected document's id (its _id in the content index)
            "index": KEYWORD,  # where it should have gone
            "table": KEYWORD,  # the dlt table (resource) it came from
            "operation": KEYWORD,  # index | delete
            "status": INTEGER,  # HTTP status of the item, 0 when the sink refused to send it
            "error_type": KEYWORD,  # e.g. document_parsing_exception
            "reason": {
                "type": "text",
                "fields": {"keyword": {"type": "keyword", "ignore_above": SUBFIELD_IGNORE_ABOVE}},
            },
            "load_id": KEYWORD,
            "failed_at": DATE,
            "document": STORED_ONLY_TEXT,  # the rejected JSON (truncated), for inspection
            "document_truncated": {"type": "boolean"},
        },
    }


def dead_letter_index_settings() -> dict[str, Any]:
    return {"number_of_shards": 1}
