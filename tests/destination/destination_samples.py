"""Documents shaped like the source's output, and dlt table schemas, for the destination tests.

Sizes follow a typical Confluence page: a title of a few words, a body of a few kilobytes of text
and its Markdown twin, ancestors, labels. Deterministic (seeded) so runs compare.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

WORDS = (
    "release deployment onboarding architecture incident runbook api gateway database migration"
    " service latency retro sprint planning roadmap security review checklist kubernetes cluster"
    " backup restore customer billing invoice search index schema pipeline monitoring alert"
    " dashboard metrics owner team decision record meeting notes quarterly goals budget vendor"
).split()

PAGES_TABLE: dict[str, Any] = {
    "name": "pages",
    "write_disposition": "merge",
    "columns": {
        "id": {"name": "id", "data_type": "text", "primary_key": True, "nullable": False},
        "deleted": {"name": "deleted", "data_type": "bool", "hard_delete": True},
    },
}


def _sentence(rng: random.Random, words: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(words)).capitalize() + "."


def page_document(number: int, rng: random.Random | None = None, body_kb: float = 4.0) -> dict[str, Any]:
    """A page document as the source yields it (timestamps already parsed, as dlt passes them)."""
    rng = rng or random.Random(number)
    body_parts: list[str] = []
    while sum(len(part) + 1 for part in body_parts) < body_kb * 1024:
        body_parts.append(_sentence(rng, rng.randint(8, 20)))
    body = " ".join(body_parts)
    created = datetime(2023, 1, 1, tzinfo=UTC) + timedelta(minutes=number * 7)
    space_key = f"SP{number % 7}"
    return {
        "id": f"page-{number}",
        "type": "page",
        "confluence_id": str(65536 + number),
        "title": _sentence(rng, rng.randint(3, 8)).rstrip("."),
        "url": f"https://wiki.example.com/spaces/{space_key}/pages/{65536 + number}",
        "space_key": space_key,
        "space_name": f"Space {space_key}",
        "created_at": created,
        "updated_at": created + timedelta(days=3),
        "version": 1 + number % 5,
        "status": "current",
        "author_name": f"Author {number % 13}",
        "author_id": f"user-{number % 13}",
        "labels": sorted({rng.choice(WORDS) for _ in range(3)}),
        "site_url": "https://wiki.example.com",
        "body": body,
        "body_markdown": "# Heading\n\n" + body.replace(". ", ".\n\n"),
        "ancestor_ids": [f"page-{a}" for a in range(number % 3)],
        "ancestor_titles": [f"Parent {a}" for a in range(number % 3)],
        "breadcrumb": f"Space {space_key} › Parent",
        "parent_id": f"page-{number - 1}" if number else None,
        "deleted": False,
    }


def page_documents(count: int, start: int = 0, body_kb: float = 4.0) -> list[dict[str, Any]]:
    rng = random.Random(start * 7919 + count)
    docs = [page_document(number, rng, body_kb) for number in range(start, start + count)]
    for doc in docs:  # dlt drops None values before the sink sees a row
        for key in [key for key, value in doc.items() if value is None]:
            del doc[key]
    return docs


def tombstone(doc_id: str) -> dict[str, Any]:
    """The row the source yields for a deleted document."""
    return {"id": doc_id, "deleted": True}
