"""Turning the rows dlt hands the sink into bulk actions.

The table schema says which column is the primary key (it becomes the document `_id`, so a re-sent
batch overwrites instead of duplicating) and which column carries the `hard_delete` hint (a row with
it set becomes a bulk delete). Each document is serialized here, one at a time, so a value that
cannot be encoded or a document that is too large costs only that document, not its batch.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Mapping, Sequence
from typing import Any, Final, Literal

from destinations.es_errors import ElasticsearchConfigurationError
from destinations.es_serializer import DocumentSerializer

Operation = Literal["index", "delete"]

#: Used when a table has no primary key hint: the document contract names it `id`.
FALLBACK_KEY_COLUMN: Final = "id"
#: Separator of compound primary keys in the `_id`.
KEY_SEPARATOR: Final = "|"

#: Text fields cut, in this order, from a document too large to send: the Markdown copy of the body first, then
#: the body itself, so that the document is still found by its title, metadata and the start of its text.
SHORTENABLE_FIELDS: Final = ("body_markdown", "body")
#: Lists the fields that were cut short in a document that was.
TRUNCATED_FIELD: Final = "truncated"

_serializer = DocumentSerializer()
logger = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class BulkAction:
    """One bulk operation; `body` is the serialized document (None for deletes)."""

    operation: Operation
    doc_id: str
    body: bytes | None = None

    @property
    def size(self) -> int:
        return len(self.body or b"") + len(self.doc_id) + 64


@dataclasses.dataclass(frozen=True)
class RejectedDocument:
    """A document Elasticsearch (or the sink, before sending) refused for reasons of its own."""

    doc_id: str
    operation: Operation
    status: int  # HTTP status of the bulk item; 0 if never sent
    error_type: str
    reason: str
    body: bytes | None = None


@dataclasses.dataclass
class PlannedBatch:
    actions: list[BulkAction] = dataclasses.field(default_factory=list)
    rejected: list[RejectedDocument] = dataclasses.field(default_factory=list)


@dataclasses.dataclass(frozen=True)
class TableKeys:
    """Where a table keeps its document id and its delete flag."""

    key_columns: tuple[str, ...]
    hard_delete_column: str | None
    hard_delete_is_bool: bool

    @classmethod
    def from_table(cls, table: Mapping[str, Any]) -> TableKeys:
        columns: Mapping[str, Mapping[str, Any]] = table.get("columns") or {}
        keys = tuple(name for name, column in columns.items() if column.get("primary_key"))
        if not keys:
            if FALLBACK_KEY_COLUMN not in columns:
                raise ElasticsearchConfigurationError(
                    f"Table '{table.get('name')}' has no primary key: give its dlt resource"
                    f" primary_key='{FALLBACK_KEY_COLUMN}' so documents get stable ids",
                )
            keys = (FALLBACK_KEY_COLUMN,)
        hard_delete = next(
            (name for name, column in columns.items() if column.get("hard_delete")), None
        )
        is_bool = hard_delete is not None and columns[hard_delete].get("data_type") == "bool"
        return cls(keys, hard_delete, is_bool)

    def document_id(self, row: Mapping[str, Any]) -> str | None:
        values = [row.get(column) for column in self.key_columns]
        if any(value is None or value == "" for value in values):
            return None
        return KEY_SEPARATOR.join(str(value) for value in values)

    def is_delete(self, row: Mapping[str, Any]) -> bool:
        """dlt's own rule: a bool flag deletes when true, any other type when it is not null."""
        if self.hard_delete_column is None:
            return False
        flag = row.get(self.hard_delete_column)
        return flag is True if self.hard_delete_is_bool else flag is not None


def plan_batch(
    rows: Sequence[Mapping[str, Any]], keys: TableKeys, max_document_bytes: int
) -> PlannedBatch:
    """Builds the bulk actions of one batch; rows that cannot be sent land in `rejected`."""
    batch = PlannedBatch()
    for position, row in enumerate(rows):
        doc_id = keys.document_id(row)
        if doc_id is None:
            batch.rejected.append(
                RejectedDocument(
                    doc_id=f"<row {position} without {'/'.join(keys.key_columns)}>",
                    operation="index",
                    status=0,
                    error_type="missing_primary_key",
                    reason=f"the row has no value in {', '.join(keys.key_columns)}",
                )
            )
            continue
        if keys.is_delete(row):
            batch.actions.append(BulkAction("delete", doc_id))
            continue
        document = (
            {name: value for name, value in row.items() if name != keys.hard_delete_column}
            if keys.hard_delete_column in row
            else row
        )
        try:
            body = _serializer.dumps(document)
        except Exception as error:  # the serializer raises several types; the document is the problem
            batch.rejected.append(
                RejectedDocument(doc_id, "index", 0, "serialization_error", str(error)[:500])
            )
            continue
        if len(body) > max_document_bytes:
            shortened = _shortened(document, max_document_bytes)
            if shortened is not None:
                body, cut = shortened
                logger.warning("Document %s is more than es_max_document_bytes (%d) of JSON: indexed with %s cut short",
                               doc_id, max_document_bytes, " and ".join(cut))
                batch.actions.append(BulkAction("index", doc_id, body))
                continue
            batch.rejected.append(
                RejectedDocument(
                    doc_id,
                    "index",
                    0,
                    "document_too_large",
                    f"the document is {len(body)} bytes of JSON, more than es_max_document_bytes"
                    f" ({max_document_bytes})",
                    body,
                )
            )
            continue
        batch.actions.append(BulkAction("index", doc_id, body))
    return batch


def _shortened(document: Mapping[str, Any], max_document_bytes: int) -> tuple[bytes, list[str]] | None:
    """The document's JSON with `SHORTENABLE_FIELDS` cut until it fits, and the fields cut; None when the rest of
    the document alone is too large. Every character is at least one byte of JSON, so cutting as many characters as
    there are bytes too many always makes room."""
    shortened = {**document, TRUNCATED_FIELD: []}
    body = _serializer.dumps(shortened)
    for name in SHORTENABLE_FIELDS:
        value = shortened.get(name)
        excess = len(body) - max_document_bytes
        if excess <= 0:
            break
        if not isinstance(value, str) or not value:
            continue
        shortened[name] = value[: max(0, len(value) - excess - 64)]  # a little room for the field names listed
        shortened[TRUNCATED_FIELD] = [*shortened[TRUNCATED_FIELD], name]
        body = _serializer.dumps(shortened)
    if len(body) > max_document_bytes or not shortened[TRUNCATED_FIELD]:
        return None
    return body, list(shortened[TRUNCATED_FIELD])
