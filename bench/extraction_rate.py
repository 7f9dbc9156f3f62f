"""Attachment text extraction throughput, in MB of file per second, per file format.

Runs only when the project has an attachment text extraction module; otherwise the report says that it was
skipped and why. The input files are the simulator's generated office, PDF and text files (the same ones the
sync downloads), each extracted repeatedly for at least MIN_SECONDS so small files still give a stable rate.
"""

from __future__ import annotations

import importlib
import inspect
import time
from dataclasses import asdict, dataclass, field
from typing import Any, Callable

# Where an extraction function may live, and what it may be called (first match wins).
CANDIDATE_MODULES = ("confluence_source.extraction", "confluence_source.attachment_text",
                     "confluence_source.text_extraction", "confluence_source.extract", "confluence_source.attachments")
CANDIDATE_FUNCTIONS = ("extract_text", "extract_attachment_text", "extract")
FORMATS = ("pdf", "docx", "xlsx", "pptx", "odt", "txt", "csv", "html")
MIN_SECONDS = 0.5
MIN_ROUNDS = 3
_BYTES_NAMES = ("data", "content", "payload", "blob", "raw", "body")
_MEDIA_NAMES = ("media_type", "mime_type", "content_type", "mediatype", "mimetype")
_FILE_NAMES = ("file_name", "filename", "name", "title")

Extractor = Callable[[bytes, str, str], Any]


@dataclass
class ExtractionReport:
    available: bool
    reason: str
    extractor: str | None = None
    formats: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _adapt(function: Callable[..., Any]) -> Extractor | None:
    """Call `function` with (bytes, media type, file name), whatever its parameters are called; None if it can't."""
    try:
        parameters = list(inspect.signature(function).parameters.values())
    except (TypeError, ValueError):
        return None
    if not parameters:
        return None
    roles: dict[str, str] = {}
    for parameter in parameters:
        name = parameter.name.lower()
        role = ("data" if name in _BYTES_NAMES else "media" if name in _MEDIA_NAMES
                else "file" if name in _FILE_NAMES else None)
        if role is not None:
            roles[parameter.name] = role
        elif parameter.default is inspect.Parameter.empty and parameter.kind not in (
                inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD):
            return None  # a required argument we cannot supply
    if "data" not in roles.values():
        return None

    def call(data: bytes, media_type: str, file_name: str) -> Any:
        values = {"data": data, "media": media_type, "file": file_name}
        return function(**{name: values[role] for name, role in roles.items()})

    return call


def find_extractor() -> tuple[Extractor | None, str]:
    for module_name in CANDIDATE_MODULES:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as error:
            if error.name and module_name.startswith(error.name):
                continue  # the module itself does not exist
            raise
        for function_name in CANDIDATE_FUNCTIONS:
            function = getattr(module, function_name, None)
            if callable(function):
                adapted = _adapt(function)
                if adapted is not None:
                    return adapted, f"{module_name}.{function_name}"
    functions = "|".join(CANDIDATE_FUNCTIONS)
    looked_for = ", ".join(f"{module}.({functions})" for module in CANDIDATE_MODULES)
    return None, f"no attachment text extraction module in the project (looked for {looked_for})"


def measure_extraction() -> ExtractionReport:
    extractor, name = find_extractor()
    if extractor is None:
        return ExtractionReport(available=False, reason=name)
    from confluence_simulator import files

    report = ExtractionReport(available=True, reason="", extractor=name)
    for kind in FORMATS:
        data = files.file_bytes(kind, 0)
        media_type, file_name = files.MEDIA_TYPES[kind], f"sample.{files.EXTENSIONS[kind]}"
        rounds, characters, error = 0, 0, None
        started = time.perf_counter()
        try:
            while rounds < MIN_ROUNDS or time.perf_counter() - started < MIN_SECONDS:
                text = extractor(data, media_type, file_name)
                characters = len(text) if isinstance(text, str) else len(str(text or ""))
                rounds += 1
        except Exception as exc:  # a format the extractor rejects is a result, not a benchmark crash
            error = f"{type(exc).__name__}: {exc}"
        elapsed = time.perf_counter() - started
        report.formats.append({
            "format": kind, "file_bytes": len(data), "rounds": rounds, "seconds": elapsed,
            "mb_per_second": (len(data) * rounds / 2**20) / elapsed if rounds and elapsed > 0 else None,
            "characters_extracted": characters, "error": error,
        })
    return report
