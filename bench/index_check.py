"""Does an index hold what it should? Compares two indices (or an index and a snapshot) by _id and version.

After an incremental run the index must equal what a full sync of the same site state produces: the same
documents (nothing missed, nothing stale left behind) at the same versions. A full sync into a fresh index is the
expectation, so the check needs no knowledge of Confluence's visibility rules.
"""

from __future__ import annotations

from typing import Any

from bench.records import IndexCheck

MAX_EXAMPLES = 5


def compare(expected: dict[str, Any], actual: dict[str, Any], expected_from: str) -> IndexCheck:
    missing = sorted(set(expected) - set(actual))
    unexpected = sorted(set(actual) - set(expected))
    differing = sorted(doc_id for doc_id in set(expected) & set(actual) if expected[doc_id] != actual[doc_id])
    examples = ([f"missing {doc_id}" for doc_id in missing[:MAX_EXAMPLES]]
                + [f"unexpected {doc_id}" for doc_id in unexpected[:MAX_EXAMPLES]]
                + [f"{doc_id}: version {actual[doc_id]} instead of {expected[doc_id]}"
                   for doc_id in differing[:MAX_EXAMPLES]])
    return IndexCheck(
        expected_from=expected_from,
        matches=not (missing or unexpected or differing),
        expected_documents=len(expected),
        actual_documents=len(actual),
        missing=len(missing),
        unexpected=len(unexpected),
        version_mismatches=len(differing),
        examples=examples,
    )
