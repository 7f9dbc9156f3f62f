"""Human-readable output of a sync: the summary table and a sample search."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from destinations.es_mapping import LANGUAGE_FIELDS, LANGUAGE_SUBFIELD
from pipelines.run_costs import describe_steps
from pipelines.sync_run import SyncSummary

TYPE_LABELS = (("spaces", "spaces"), ("pages", "pages"), ("blogposts", "blog posts"), ("comments", "comments"),
               ("attachments", "attachments"))


def print_summary(summary: SyncSummary, title: str = "Sync finished") -> None:
    """Documents per type, deleted, failed, requests and elapsed time, in a few aligned lines."""
    total = sum(summary.documents.values())
    rate = total / summary.elapsed_seconds if summary.elapsed_seconds > 0 else 0.0
    print(f"{title} ({summary.mode}) in {summary.elapsed_seconds:.1f} s -> index {summary.index!r}")
    for table, label in TYPE_LABELS:
        # read and sent to Elasticsearch; those it refused are counted again under "failed"
        print(f"  {label:<12} {summary.documents.get(table, 0):>8} read")
    deleted_detail = ", ".join(f"{n} {t}" for t, n in sorted(summary.deleted_by_type.items()))
    print(f"  {'deleted':<12} {summary.deleted:>8}" + (f" ({deleted_detail})" if deleted_detail else ""))
    if summary.short_listings:
        kept = sum(short["kept"] for short in summary.short_listings)
        where = ", ".join(f"{short['doc_type']}s of {short['space_key']}" for short in summary.short_listings)
        print(f"  {'kept':<12} {kept:>8} ({where}: listed fewer than Confluence counts; checked again next run, "
              "--allow-mass-delete deletes them)")
    if summary.missing_from_index:
        print(f"  {'missing':<12} {summary.missing_from_index:>8} (listed by Confluence, not in the index: restored "
              "from the trash or created during the run; the next run reads them)")
    if summary.unreadable:
        print(f"  {'unreadable':<12} {summary.unreadable:>8} (listed by Confluence, still not in the index after a run "
              "read them: tried again a day later)")
    if summary.unmatched:
        print(f"  {'unmatched':<12} {summary.unmatched:>8} (no advanced rule matches them now: they go once a search "
              "an hour after they were first found so still matches none of them)")
    if summary.left_to_other_pipelines:
        spaces = sum(len(keys) for keys in summary.left_to_other_pipelines.values())
        owners = ", ".join(sorted(summary.left_to_other_pipelines))
        print(f"  {'left alone':<12} {spaces:>8} space(s) other pipelines sync into this index ({owners})")
    if summary.stages > 1:
        print(f"  {'stages':<12} {summary.stages:>8} (a long full read, each stage loaded and its progress saved "
              "before the next)")
    print(f"  {'failed':<12} {summary.failed:>8}"
          + (" (refused by Elasticsearch: see the dead-letter index)" if summary.failed else ""))
    print(f"  {'requests':<12} {summary.requests:>8} ({summary.bytes / 1e6:.1f} MB read)")
    if summary.token_requests:
        print(f"  {'OAuth tokens':<12} {summary.token_requests:>8} requested")
    if summary.attachment_text:
        files = summary.attachment_text
        detail = ", ".join(f"{count} {status.replace('_', ' ')}"
                           for status, count in files.items() if status != "extracted")
        print(f"  {'file texts':<12} {files.get('extracted', 0):>8} extracted" + (f" ({detail})" if detail else ""))
        print(f"  {'downloads':<12} {summary.file_requests:>8} ({summary.file_bytes / 1e6:.1f} MB)")
    if summary.step_seconds:
        print(f"  {'time':<12} {describe_steps(summary.step_seconds)}")
    if summary.mode == "full":  # an incremental run's rate says more about the site's quietness than the sync
        print(f"  {'throughput':<12} {rate:>8.0f} documents/s")


def write_summary_json(path: Path, summary: object) -> bool:
    """Write a run's summary for --summary-json; a failure is reported on stderr and does not hide what the run
    itself did."""
    try:
        path.write_text(json.dumps(summary, indent=2))
    except OSError as error:
        print(f"error: could not write the summary to {path} (--summary-json): {error.strerror or error}",
              file=sys.stderr)
        return False
    return True


#: The fields a search UI should query (see the README's index mapping): names boosted, their `words` to find a file
#: or title by a part of it (`report`, `2024`, `checklist`), labels by word in any case, upload comments and spaces'
#: descriptions.
SEARCH_FIELDS = ("title^3", "title.words", "body", "file_name^2", "file_name.words", "labels.text", "comment",
                 "description")


#: The same fields analysed for the site's language (the `language` sub-fields, see es_language), with the same
#: boosts: `reports` finds "report" there. Names and labels have none (they are not inflected words).
LANGUAGE_SEARCH_FIELDS = tuple(field.replace(name, f"{name}.{LANGUAGE_SUBFIELD}", 1)
                               for field in SEARCH_FIELDS for name in LANGUAGE_FIELDS
                               if field.partition("^")[0] == name)


#: Words of one query asked at most: each costs a clause per field, and Elasticsearch refuses a query of more than
#: `indices.query.bool.max_clause_count` clauses (1,024 at least); a pasted paragraph is searched by its first words.
MAX_QUERY_WORDS = 32


def sample_search_query(text: str) -> dict[str, Any]:
    """Every word must be found, but not all in one field: `cross_fields` treats the fields as one, so a word of the
    title and a label find the page together. (`best_fields` needed all of them in a single field.)

    Each word is found as typed or in another form (`reports`, "report"), independently of the others: a word asked
    in the fields of two analyzers at once is looked for in each analyzer's fields apart, so `upgrades kubernetes`
    would need both words in another form (where labels are not) or both as typed. A word found as typed scores in
    both clauses, above the same text in another form. A stop word (`not`) has no other form: it must be found as
    typed. A "word" without a letter or digit (`&`, `-`) is no word: asked, it would find nothing. An index without
    `language` sub-fields (es_language `none`) finds every word as typed only."""
    words = list(dict.fromkeys(word for word in text.split() if any(char.isalnum() for char in word)))
    return {"bool": {"must": [
        {"bool": {"should": [_word_in(word, SEARCH_FIELDS), _word_in(word, LANGUAGE_SEARCH_FIELDS)],
                  "minimum_should_match": 1}}
        for word in words[:MAX_QUERY_WORDS] or [text]
    ]}}


def _word_in(word: str, fields: tuple[str, ...]) -> dict[str, Any]:
    return {"multi_match": {"query": word, "type": "cross_fields", "operator": "and", "fields": list(fields)}}


def print_sample_search(client: Any, index: str, text: str, size: int = 3) -> None:
    """Run one full-text query the way a search UI would and show the best hits."""
    response = client.search(
        index=index,
        size=size,
        query=sample_search_query(text),
        source=["type", "title", "url", "space_key"],
    )
    hits = response["hits"]["hits"]
    total = response["hits"]["total"]["value"]
    print(f"Sample search for {text!r}: {total} matching documents")
    for hit in hits:
        source = hit["_source"]
        print(f"  [{source.get('type')}] {source.get('title')} ({source.get('space_key')})  {source.get('url')}")
