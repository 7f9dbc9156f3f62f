"""Parse Confluence storage-format XHTML into an lxml tree, whatever shape the body is in.

Storage format is an XHTML *fragment*: several top-level elements, `ac:`/`ri:` prefixes whose
namespaces are never declared, HTML named entities (`&nbsp;`, `&rarr;`) that XML does not know,
and CDATA sections holding code. Confluence validates what it stores, so almost every body is
well-formed once it is wrapped in a root that declares the prefixes and its named entities are
turned into characters. That strict XML parse is the fast path.

Entities are replaced with a regular expression rather than an inline DTD because libxml2 would
parse a 2,000-entry DTD again for every document, which costs more than the body itself.

Bodies written through the REST API by other tools are sometimes not well-formed (a bare `&`,
an unclosed tag, an HTML-style `<br>`). Those go through libxml2's HTML parser, which never
gives up and keeps all the text; its element and attribute names are then rewritten into the
same namespaced form the strict parse produces, so one renderer serves both.
"""

from __future__ import annotations

import html
import re
import threading
from html.entities import html5 as _HTML5_ENTITIES

from lxml import etree
from lxml import html as lxml_html

AC_NS = "http://atlassian.com/content"
RI_NS = "http://atlassian.com/resource/identifier"
AT_NS = "http://atlassian.com/template"
XHTML_NS = "http://www.w3.org/1999/xhtml"
PREFIX_TO_NS = {"ac": AC_NS, "ri": RI_NS, "at": AT_NS}

ROOT_TAG = "storage-root"
_OPEN = f'<{ROOT_TAG} xmlns:ac="{AC_NS}" xmlns:ri="{RI_NS}" xmlns:at="{AT_NS}">'
_CLOSE = f"</{ROOT_TAG}>"

# `&name;`, a numeric reference, or a bare ampersand. Names are capped so that a long run of
# letters after a stray `&` is not scanned as one candidate entity.
_AMPERSAND = re.compile(r"&(?:([A-Za-z][A-Za-z0-9]{0,31});|(#[0-9]{1,7};|#[xX][0-9a-fA-F]{1,6};))?")
_XML_PREDEFINED = frozenset({"amp", "lt", "gt", "quot", "apos"})
# Characters an entity may stand for that would change the markup if inserted literally.
_MARKUP_CHARACTERS = {"<": "&lt;", ">": "&gt;", "&": "&amp;", '"': "&quot;", "'": "&apos;"}

_CDATA = re.compile(r"<!\[CDATA\[(.*?)(?:\]\]>|\Z)", re.DOTALL)
_CDATA_SECTION = re.compile(r"(<!\[CDATA\[.*?\]\]>)", re.DOTALL)
# Characters XML 1.0 forbids; the HTML parser would keep them, and the renderer uses one of
# them (U+001E) as its private line-break marker.
_FORBIDDEN_CONTROLS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
_XML_DECLARATION = re.compile(r"^\s*<\?xml[^>]*\?>")

_thread_local = threading.local()


def _strict_parser() -> etree.XMLParser:
    """One parser per thread: lxml parser objects must not be shared between threads."""
    parser: etree.XMLParser | None = getattr(_thread_local, "strict", None)
    if parser is None:
        parser = etree.XMLParser(
            resolve_entities=False,
            no_network=True,
            huge_tree=True,  # lifts the 256-level depth limit; bodies are bounded by the API anyway
            remove_comments=True,
            remove_pis=True,
            strip_cdata=True,
            collect_ids=False,
        )
        _thread_local.strict = parser
    return parser


def _lenient_parser() -> lxml_html.HTMLParser:
    parser: lxml_html.HTMLParser | None = getattr(_thread_local, "lenient", None)
    if parser is None:
        parser = lxml_html.HTMLParser(
            remove_comments=True, remove_pis=True, no_network=True, huge_tree=True, default_doctype=False
        )
        _thread_local.lenient = parser
    return parser


def _replace_ampersand(match: re.Match[str]) -> str:
    name = match.group(1)
    if name is not None:
        if name in _XML_PREDEFINED:
            return match.group(0)
        character = _HTML5_ENTITIES.get(name + ";")
        if character is None:
            return "&amp;" + name + ";"  # unknown entity: keep it visible as literal text
        return _MARKUP_CHARACTERS.get(character, character)
    if match.group(2) is not None:
        return match.group(0)
    return "&amp;"


def xml_safe_entities(storage: str) -> str:
    """Rewrite HTML named entities as characters and escape bare ampersands, so XML accepts the text.

    CDATA sections are left alone: there `&nbsp;` and `&&` are literal code, not markup.
    """
    if "&" not in storage:
        return storage
    if "<![CDATA[" not in storage:
        return _AMPERSAND.sub(_replace_ampersand, storage)
    parts = _CDATA_SECTION.split(storage)  # even indexes: markup; odd indexes: whole CDATA sections
    for index in range(0, len(parts), 2):
        if "&" in parts[index]:
            parts[index] = _AMPERSAND.sub(_replace_ampersand, parts[index])
    return "".join(parts)


def parse_storage(storage: str) -> etree._Element:
    """Return a root element whose children are the top-level nodes of the body.

    Never raises: malformed input goes through the lenient HTML parser, and input even that
    cannot read becomes a root holding the text with tags removed.
    """
    if storage.lstrip().startswith("<?xml"):
        storage = _XML_DECLARATION.sub("", storage, count=1)
    try:
        root = etree.fromstring(_OPEN + xml_safe_entities(storage) + _CLOSE, _strict_parser())
    except (etree.XMLSyntaxError, ValueError):
        return parse_leniently(storage)
    if XHTML_NS in storage:
        _drop_xhtml_namespace(root)
    return root


def parse_leniently(storage: str) -> etree._Element:
    """Parse with libxml2's HTML parser and rename `ac:x`/`ri:x` into their namespaced form.

    The HTML parser silently drops what lies beyond its nesting limit; when it has kept clearly
    less text than the markup holds, the body is reduced to its text, one block per line.
    """
    text = _FORBIDDEN_CONTROLS.sub("", storage)
    # The HTML parser does not know CDATA; turn each section into escaped text first.
    text = _CDATA.sub(lambda m: html.escape(m.group(1), quote=False), text)
    try:
        root = lxml_html.fragment_fromstring(text, create_parent=ROOT_TAG, parser=_lenient_parser())
    except (etree.ParserError, etree.XMLSyntaxError, ValueError):
        return _text_only_root(text)
    markup_text = _markup_text(text)
    kept = sum(len(fragment.split()) for fragment in root.itertext())
    if kept < 0.7 * len(markup_text.split()):
        return _text_only_root(text)
    _namespace_prefixed_names(root)
    return root


_TAG = re.compile(r"<[^>]*>")
_BLOCK_TAG = re.compile(
    r"</?(?:p|div|br|li|tr|td|th|h[1-6]|pre|blockquote|table|ul|ol|ac:task|ac:layout-cell)\b[^>]*>", re.IGNORECASE
)
_PARAMETER = re.compile(r"<ac:parameter\b[^>]*/>|<ac:parameter\b[^>]*>.*?</ac:parameter>", re.DOTALL)


def _markup_text(markup: str) -> str:
    """The words of a body by regular expressions alone: the last resort for markup no parser reads."""
    text = _PARAMETER.sub(" ", markup)
    text = _BLOCK_TAG.sub("\n", text)
    return html.unescape(_TAG.sub("", text))


def _text_only_root(markup: str) -> etree._Element:
    root = etree.Element(ROOT_TAG)
    for line in _markup_text(markup).split("\n"):
        if line.strip():
            etree.SubElement(root, "p").text = _FORBIDDEN_CONTROLS.sub("", line)
    return root


def _drop_xhtml_namespace(root: etree._Element) -> None:
    """A body that declares the XHTML namespace gets the same plain tag names as one that does not."""
    prefix = f"{{{XHTML_NS}}}"
    for element in root.iter():
        if isinstance(element.tag, str) and element.tag.startswith(prefix):
            element.tag = element.tag[len(prefix) :]


def _namespace_prefixed_names(root: etree._Element) -> None:
    for element in root.iter():
        tag = element.tag
        if not isinstance(tag, str):
            continue
        prefix, colon, local = tag.partition(":")
        if colon and prefix in PREFIX_TO_NS:
            element.tag = f"{{{PREFIX_TO_NS[prefix]}}}{local}"
        if element.attrib:
            for name in [n for n in element.attrib if ":" in n]:
                prefix, _, local = name.partition(":")
                namespace = PREFIX_TO_NS.get(prefix)
                if namespace is not None:
                    element.set(f"{{{namespace}}}{local}", element.attrib.pop(name))
