"""Index mappings: the document contract of the Confluence index, and the dead-letter index.

The mapping is explicit rather than guessed by Elasticsearch from the first document, because a
guess is permanent: an id that happens to look numeric would become `long`, a date-looking title a
`date`, and every later document that disagrees would be rejected. `dynamic: false` keeps fields that
are not listed here in `_source` (returned with hits) without indexing them, so a new source field
can never cause a mapping conflict or a mapping explosion; add it here to make it searchable.

Free text is `text` with a `keyword` sub-field where people filter, sort or aggregate on the exact value
(`title.keyword`, `space_name.keyword`, ...). Every keyword has `ignore_above`, so a value longer than Lucene's term
limit (32766 bytes) is stored but not indexed instead of failing the whole document.

Analysis, set in the index settings of a new index (`content_index_settings`), and the built-in analyzer of
`es_language`:
* Text fields name no analyzer: they use the index's `default` analyzer, the standard tokenizer with lowercase and
  ASCII folding (keeping the accented original too), so `Uberblick` finds "Überblick" and an exact `Überblick` still
  scores higher. An index created by an earlier version has no such `default`, and there the same mapping means the
  standard analyzer; so the as-typed fields of old and new indices map alike, `labels.text` can be added to an old
  one, and a query across them sees one analyzer per index (a `cross_fields` query treats fields of one analyzer as
  one; the sample search asks the `language` sub-fields, another analyzer, in a clause of their own).
* The standard analyzer keeps `logo.png`, `build_notes` and `DeploymentChecklist.txt` whole, so a word of a file name
  is not found in `title` or `file_name`. Their `words` sub-field (`title.words`, `file_name.words`) is split by
  `word_delimiter_graph` at case changes and every character that is not a letter or digit, keeping numbers and the
  whole token, but not between letters and digits (`v3` and `Q3` stay whole, as people type them). Queries are not
  split (`search_analyzer` is `default`): `Q3 OKRs` asks for `q3`, which "Q2 OKRs" does not hold, while `checklist`,
  `v3` or `2024` find the parts of `DeploymentChecklist.txt`, `final.v3.pdf` and `quarterly_report_2024.txt`.
* `labels` stays a keyword (exact filters and aggregations); `labels.text` makes them searchable by word.
* Stemming and stop words are language-specific, so they live in a sub-field beside the field people read:
  `title.language`, `body.language`, `comment.language` and `description.language` use Elasticsearch's built-in
  analyzer of `es_language` (`english` by default), so `reports` finds "report" there, while a query of the fields
  themselves too scores a word as typed above another form of it. A built-in analyzer needs no index settings, so an
  index created by an earlier version gets these sub-fields too; one created with another `es_language` keeps its own
  (a field's analyzer never changes) and the run says so. `thai` splits Thai into words, `cjk` Chinese, Japanese and
  Korean into overlapping pairs of characters, instead of stemming. Only `body` keeps offsets: highlight `body`.
These filters and analyzers come with the `analysis-common` module of every Elasticsearch distribution, not with a
plugin (the local node of `es_local` builds them on the same Lucene classes).

`body` keeps term offsets in the index, so highlighting a hit never re-reads the body. Without them, Elasticsearch
refuses to highlight a field longer than `index.highlight.max_analyzed_offset` (1,000,000 characters), and one long
page then fails every highlighted search that matches it.
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
#: The analyzer of the `words` sub-fields, defined in `content_index_settings`.
NAME_PARTS_ANALYZER: Final = "name_parts"
#: Names, where a word of a file name must be found too (see the module docstring).
NAME_TEXT: Final[dict[str, Any]] = {
    "type": "text",
    "fields": {
        "keyword": {"type": "keyword", "ignore_above": SUBFIELD_IGNORE_ABOVE},
        "words": {"type": "text", "analyzer": NAME_PARTS_ANALYZER, "search_analyzer": "default"},
    },
}
#: Labels: exact values to filter and aggregate on, and `labels.text` to find them by word in any case.
LABELS: Final[dict[str, Any]] = {
    "type": "keyword",
    "ignore_above": KEYWORD_IGNORE_ABOVE,
    "fields": {"text": {"type": "text"}},
}
#: Long free text that search front ends highlight.
BODY_TEXT: Final[dict[str, Any]] = {"type": "text", "index_options": "offsets"}

#: `es_language` that leaves the `language` sub-fields out.
NO_LANGUAGE: Final = "none"
DEFAULT_LANGUAGE: Final = "english"
#: The values of `es_language` besides `none`: Elasticsearch's built-in language analyzers (stemming and stop words;
#: `thai` splits Thai into words, `cjk` makes pairs of characters), which every distribution has without settings or
#: plugins.
LANGUAGE_ANALYZERS: Final = ("english", "german", "french", "spanish", "italian", "portuguese", "dutch", "swedish",
                             "norwegian", "danish", "finnish", "russian", "cjk", "thai")
#: The text fields people search that get a `language` sub-field (names and labels are not inflected words).
LANGUAGE_FIELDS: Final = ("title", "body", "comment", "description")
LANGUAGE_SUBFIELD: Final = "language"

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
    "labels": LABELS,
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


def content_index_mappings(language: str = DEFAULT_LANGUAGE) -> dict[str, Any]:
    """Mappings of the Confluence index (`es_index`), with the `language` sub-fields analysed for `language` (an
    `es_language` value) unless it is `none`."""
    properties: dict[str, Any] = {}
    for group in (_COMMON_FIELDS, _CONTENT_FIELDS, _COMMENT_FIELDS, _ATTACHMENT_FIELDS, _SPACE_FIELDS):
        properties.update({name: copy.deepcopy(spec) for name, spec in group.items()})
    if language != NO_LANGUAGE:
        for name in LANGUAGE_FIELDS:
            properties[name].setdefault("fields", {})[LANGUAGE_SUBFIELD] = {"type": "text", "analyzer": language}
    return {"dynamic": False, "properties": properties}


#: Needs the `analysis-common` module (bundled with every Elasticsearch distribution; no plugin).
_ANALYSIS: Final[dict[str, Any]] = {
    "filter": {
        # Emits the folded token and the original at one position: `resume` finds "résumé", `résumé` ranks it first.
        "folding": {"type": "asciifolding", "preserve_original": True},
        "name_part_split": {
            "type": "word_delimiter_graph",
            "split_on_case_change": True,  # DeploymentChecklist: deployment, checklist
            # v3, q3, ipv6 and 2fa stay whole, as people type them: split, `v3` would be found nowhere in
            # "final.v3.pdf" (only `v` and `3`); underscores and dots still part `quarterly_report_2024`
            "split_on_numerics": False,
            "generate_word_parts": True,
            "generate_number_parts": True,  # keeps the digits that the `simple` analyzer dropped
            "preserve_original": True,  # `deploymentchecklist.txt` stays searchable as a whole
            "stem_english_possessive": False,  # names are not stemmed (their words are not inflected)
        },
    },
    "analyzer": {
        "default": {"type": "custom", "tokenizer": "standard", "filter": ["lowercase", "folding"]},
        # word_delimiter_graph emits a graph (the whole token beside its parts); flatten_graph makes it indexable.
        # Lowercasing comes after the split, which needs the case changes. The standard tokenizer (not whitespace)
        # first, as for the other fields: "(draft)," then keeps `draft` as its whole token, not "(draft),".
        NAME_PARTS_ANALYZER: {
            "type": "custom",
            "tokenizer": "standard",
            "filter": ["name_part_split", "flatten_graph", "lowercase", "folding"],
        },
    },
}

def content_index_settings() -> dict[str, Any]:
    """One primary shard: a Confluence site is far below the tens of GB where a second shard pays off. The analysis
    is the module docstring's; Elasticsearch only reads it when it creates an index."""
    return {"number_of_shards": 1, "analysis": copy.deepcopy(_ANALYSIS)}


def custom_analyzers(settings: dict[str, Any]) -> set[str]:
    """The analyzers and normalizers that `settings` define and a mapping may name, besides `default` (which every
    index resolves, to the standard analyzer when it defines none)."""
    analysis = settings.get("analysis") or {}
    return (set(analysis.get("analyzer") or {}) | set(analysis.get("normalizer") or {})) - {"default"}


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
