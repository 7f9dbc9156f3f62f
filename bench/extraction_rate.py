"""Attachment text extraction throughput, in MB of file per second, per file format.

Measures the project's own extractor (`confluence_source.extraction.extract_text`, what the sync runs on every
downloaded file) on the simulator's generated office, PDF and text files (the same ones the sync downloads), each
extracted repeatedly for at least MIN_SECONDS so small files still give a stable rate. When the extractor cannot be
imported (a broken installation), the report says so instead of failing the whole benchmark.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from typing import Any

EXTRACTOR = "confluence_source.extraction.extract_text"
FORMATS = ("pdf", "docx", "xlsx", "pptx", "odt", "txt", "csv", "html")
MIN_SECONDS = 0.5
MIN_ROUNDS = 3


@dataclass
class ExtractionReport:
    available: bool
    reason: str
    extractor: str | None = None
    formats: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def measure_extraction() -> ExtractionReport:
    try:
        from confluence_source.extraction import extract_text as extractor
    except ImportError as error:
        return ExtractionReport(available=False, reason=f"{EXTRACTOR} cannot be imported ({error})")
    from confluence_simulator import files

    report = ExtractionReport(available=True, reason="", extractor=EXTRACTOR)
    for kind in FORMATS:
        data = files.file_bytes(kind, 0)
        media_type, file_name = files.MEDIA_TYPES[kind], f"sample.{files.EXTENSIONS[kind]}"
        rounds, characters, error = 0, 0, None
        started = time.perf_counter()
        try:
            while rounds < MIN_ROUNDS or time.perf_counter() - started < MIN_SECONDS:
                characters = len(extractor(data, media_type, file_name))
                rounds += 1
        except Exception as exc:  # a file the extractor cannot read is a result, not a benchmark crash
            error = f"{type(exc).__name__}: {exc}"
        elapsed = time.perf_counter() - started
        report.formats.append({
            "format": kind, "file_bytes": len(data), "rounds": rounds, "seconds": elapsed,
            "mb_per_second": (len(data) * rounds / 2**20) / elapsed if rounds and elapsed > 0 else None,
            "characters_extracted": characters, "error": error,
        })
    return report
