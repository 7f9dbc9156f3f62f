"""A small storage-format (XHTML) to Atlassian Document Format converter for `body-format=atlas_doc_format`.

The simulator stores bodies in storage format only. Cloud clients that ask for ADF get a faithful *structure*
(a `doc` with headings and paragraphs carrying the visible text, encoded as a JSON string as Cloud does) but not
every node type Atlassian would produce (tables, panels and macros become paragraphs of their text). The ETL
reads storage format, so this fidelity is enough for clients that merely request and parse ADF.
"""

from __future__ import annotations

import html
import json
import re

_BLOCK = re.compile(r"<(h[1-6]|p|li|td|th|pre|blockquote)\b[^>]*>(.*?)</\1>", re.S | re.I)
_PARAMETER = re.compile(r"<ac:parameter\b[^>]*>.*?</ac:parameter>", re.S)
_CDATA = re.compile(r"<!\[CDATA\[(.*?)\]\]>", re.S)
_TAG = re.compile(r"<[^>]+>")
_SPACES = re.compile(r"\s+")


def _text(fragment: str) -> str:
    fragment = _CDATA.sub(lambda found: html.escape(found.group(1)), fragment)
    fragment = _PARAMETER.sub(" ", fragment)
    return _SPACES.sub(" ", html.unescape(_TAG.sub("", fragment))).strip()


def storage_to_adf(storage: str) -> str:
    """ADF document (as a JSON string) with one heading/paragraph node per block element of the body."""
    nodes: list[dict[str, object]] = []
    for found in _BLOCK.finditer(storage):
        tag = found.group(1).lower()
        text = _text(found.group(2))
        if not text:
            continue
        content = [{"type": "text", "text": text}]
        if tag.startswith("h"):
            nodes.append({"type": "heading", "attrs": {"level": int(tag[1])}, "content": content})
        elif tag == "pre":
            nodes.append({"type": "codeBlock", "content": content})
        else:
            nodes.append({"type": "paragraph", "content": content})
    if not nodes:
        text = _text(storage)
        nodes.append({"type": "paragraph", "content": [{"type": "text", "text": text}] if text else []})
    return json.dumps({"type": "doc", "version": 1, "content": nodes}, separators=(",", ":"), ensure_ascii=False)
