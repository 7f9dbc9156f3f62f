"""JSON serialization of documents for Elasticsearch.

dlt hands the sink native Python values: ISO timestamps arrive as timezone-aware `datetime`,
numeric columns may be `Decimal`, and `date`/`time`/`bytes` columns are possible. The client's own
serializer turns every `Decimal` into a float and rejects `time` and `bytes`; this one keeps whole
decimals exact, writes times in ISO-8601 and bytes as base64 (what an Elasticsearch `binary` field
expects). orjson is used when present (dlt itself depends on it) because it is several times faster
on large bodies.
"""

from __future__ import annotations

import base64
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any, ClassVar

from elasticsearch.serializer import JsonSerializer

try:  # orjson ships with dlt, but the client works without it too
    import orjson
except ModuleNotFoundError:  # pragma: no cover - exercised only without orjson installed
    orjson = None  # type: ignore[assignment]


def to_json_compatible(value: Any) -> Any:
    """Converts one value the JSON encoder does not know natively; raises TypeError otherwise."""
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise TypeError(f"Cannot store the non-finite number {value} in Elasticsearch")
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, (datetime, date, time)):
        return value.isoformat()
    if isinstance(value, (bytes, bytearray, memoryview)):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, (set, frozenset)):
        return sorted(value, key=str)
    raise TypeError(f"Cannot serialize a value of type {type(value).__name__} to JSON")


class DocumentSerializer(JsonSerializer):
    """Serializer for the `application/json` mimetype of the Elasticsearch client."""

    mimetype: ClassVar[str] = "application/json"

    def default(self, data: Any) -> Any:
        return to_json_compatible(data)

    def json_dumps(self, data: Any) -> bytes:
        if orjson is not None:
            return orjson.dumps(data, default=self.default, option=orjson.OPT_NON_STR_KEYS)
        return super().json_dumps(data)

    def json_loads(self, data: bytes) -> Any:
        if orjson is not None:
            return orjson.loads(data)
        return super().json_loads(data)
